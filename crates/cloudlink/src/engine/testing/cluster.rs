//! The Kubernetes side, in memory: an object store that takes the engine's writes as the API
//! server does (the same JSON patches and merge patches, `test` ops included), deletes an object
//! once its last finalizer goes, and records Events; and credentials backed by Secrets that exist
//! or not, with the Secret's guard.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::core::Status;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::journal::Journal;
use crate::api::common::CloudCredentialsRef;
use crate::engine::adapter::ManagedObject;
use crate::engine::credentials::{Credentials, CredentialsError, needs_secret};
use crate::engine::events::EventType;
use crate::engine::export;
use crate::engine::finalizers;
use crate::engine::finalizers::FINALIZER;
use crate::engine::writes::ObjectWrites;
use crate::engine::writes::StatusPatch;
use cloudlink_cloud::{CloudError, CloudSession};
use k8s_openapi::api::core::v1::ConfigMap;

/// An Event the engine published.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub object: String,
    pub warning: bool,
    pub reason: String,
    pub note: String,
}

type Key = (String, String);

#[derive(Default)]
pub struct FakeApiServer {
    objects: Mutex<BTreeMap<Key, Value>>,
    events: Mutex<Vec<Recorded>>,
    /// Writes that fail once each, by journal entry ("write status", "mark create", …): the API
    /// server unreachable.
    failing: Mutex<Vec<&'static str>>,
    created: Mutex<u32>,
    /// ConfigMaps, apart from the objects (another kind, another name space).
    config_maps: Mutex<BTreeMap<Key, ConfigMap>>,
    journal: Journal,
}

fn key(object: &impl Resource) -> Key {
    (object.namespace().unwrap_or_default(), object.name_any())
}

fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
    kube::Error::Api(Status::failure(message, reason).with_code(code).boxed())
}

impl FakeApiServer {
    pub fn new(journal: Journal) -> Self {
        FakeApiServer {
            journal,
            ..FakeApiServer::default()
        }
    }

    /// Stores a new object as a create would: with a UID and generation 1.
    pub fn create<K: Resource + Serialize>(&self, mut object: K) {
        let mut created = self.created.lock().unwrap();
        *created += 1;
        let meta = object.meta_mut();
        meta.uid = Some(format!("uid-{created}"));
        meta.generation = Some(1);
        meta.creation_timestamp = Some(Time(jiff::Timestamp::now()));
        let value = serde_json::to_value(&object).unwrap();
        let previous = self.lock().insert(key(&object), value);
        assert!(previous.is_none(), "{} exists already", object.name_any());
    }

    pub fn get<K: Resource + DeserializeOwned>(&self, namespace: &str, name: &str) -> Option<K> {
        let objects = self.lock();
        let value = objects.get(&(namespace.to_owned(), name.to_owned()))?;
        Some(serde_json::from_value(value.clone()).unwrap())
    }

    /// A user's change of the object; a change of its spec moves its generation.
    pub fn edit<K: Resource + Serialize + DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut K),
    ) {
        let mut object: K = self.get(namespace, name).expect("the object exists");
        let before = serde_json::to_value(&object).unwrap();
        change(&mut object);
        let mut after = serde_json::to_value(&object).unwrap();
        if before["spec"] != after["spec"] {
            after["metadata"]["generation"] = json!(object.meta().generation.unwrap_or(1) + 1);
        }
        self.lock().insert(key(&object), after);
    }

    /// A user's delete: the object goes at once without finalizers, and is marked otherwise
    /// (which, for a custom resource, moves its generation).
    pub fn delete(&self, namespace: &str, name: &str) {
        let mut objects = self.lock();
        let key = (namespace.to_owned(), name.to_owned());
        let object = objects.get_mut(&key).expect("the object exists");
        let metadata = &mut object["metadata"];
        if metadata["finalizers"].as_array().is_none_or(Vec::is_empty) {
            objects.remove(&key);
            return;
        }
        if metadata["deletionTimestamp"].is_null() {
            metadata["deletionTimestamp"] = json!(Time(jiff::Timestamp::now()));
            metadata["generation"] = json!(metadata["generation"].as_i64().unwrap_or(1) + 1);
        }
    }

    /// The next write journaled as `entry` fails.
    pub fn fail_next(&self, entry: &'static str) {
        self.failing.lock().unwrap().push(entry);
    }

    pub fn events(&self) -> Vec<Recorded> {
        self.events.lock().unwrap().clone()
    }

    /// Whether an object in `namespace`, other than `except_uid`, needs Secret `secret` (the
    /// operator's rule, over what a LIST would show).
    fn uses_secret(&self, namespace: &str, secret: &str, except_uid: &str) -> bool {
        self.lock().iter().any(|((ns, _), object)| {
            let meta: ObjectMeta = serde_json::from_value(object["metadata"].clone()).unwrap();
            let reference = serde_json::from_value(object["spec"]["cloudCredentialsRef"].clone());
            ns == namespace
                && meta.uid.as_deref() != Some(except_uid)
                && reference.is_ok_and(|r| needs_secret(&meta, &r, secret))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Value>> {
        self.objects.lock().unwrap()
    }

    /// Changes the stored object as `change` says, or fails as the API server would.
    fn update(
        &self,
        object: &impl Resource,
        entry: &str,
        change: impl FnOnce(&mut Value) -> Result<(), kube::Error>,
    ) -> Result<(), kube::Error> {
        self.journal
            .record(format!("{entry} {}", object.name_any()));
        let mut failing = self.failing.lock().unwrap();
        if let Some(at) = failing.iter().position(|f| *f == entry) {
            failing.remove(at);
            return Err(api_error(503, "ServiceUnavailable", "etcd is unavailable"));
        }
        drop(failing);
        let mut objects = self.lock();
        let key = key(object);
        let stored = objects
            .get_mut(&key)
            .ok_or_else(|| api_error(404, "NotFound", "the object does not exist"))?;
        change(stored)?;
        let metadata = &stored["metadata"];
        if !metadata["deletionTimestamp"].is_null()
            && metadata["finalizers"].as_array().is_none_or(Vec::is_empty)
        {
            objects.remove(&key);
        }
        Ok(())
    }

    fn patch_metadata(
        &self,
        object: &impl Resource,
        entry: &str,
        patch: Option<json_patch::Patch>,
    ) -> Result<(), kube::Error> {
        let Some(patch) = patch else {
            return Ok(());
        };
        self.update(object, entry, |stored| {
            // A failed `test` op: the engine's copy was stale.
            json_patch::patch(stored, &patch).map_err(|e| api_error(422, "Invalid", &e.to_string()))
        })
    }
}

#[async_trait]
impl<K: ManagedObject> ObjectWrites<K> for FakeApiServer {
    async fn add_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        let patch = finalizers::adding(object.meta(), FINALIZER);
        self.patch_metadata(object, "add finalizer", patch)
    }

    async fn remove_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        let patch = finalizers::removing(object.meta(), FINALIZER);
        self.patch_metadata(object, "remove finalizer", patch)
    }

    async fn patch_status(
        &self,
        object: &K,
        patch: &StatusPatch<'_, K::CloudView>,
    ) -> Result<(), kube::Error> {
        let entry = match patch {
            StatusPatch::Whole(_) => "write status",
            StatusPatch::ClearId => "clear id",
        };
        let body = patch.body();
        self.update(object, entry, |stored| {
            json_patch::merge(stored, &body);
            Ok(())
        })
    }

    fn publish(&self, object: &K, type_: EventType, reason: &str, _action: &str, note: &str) {
        self.journal
            .record(format!("event {reason} {}", object.name_any()));
        self.events.lock().unwrap().push(Recorded {
            object: object.name_any(),
            warning: type_ == EventType::Warning,
            reason: reason.into(),
            note: note.into(),
        });
    }

    async fn export(
        &self,
        object: &K,
        name: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<export::Outcome, kube::Error> {
        let key = (object.namespace().unwrap_or_default(), name.to_owned());
        let mut maps = self.config_maps.lock().unwrap();
        let uid = object.uid().unwrap_or_default();
        Ok(match export::plan(maps.get(&key), &uid, data) {
            export::Plan::Create => {
                self.journal.record(format!("create configmap {name}"));
                maps.insert(key, export::config_map(object, name, data));
                export::Outcome::Written
            }
            export::Plan::Update => {
                self.journal.record(format!("update configmap {name}"));
                maps.get_mut(&key).unwrap().data = Some(data.clone());
                export::Outcome::Written
            }
            export::Plan::Unchanged => export::Outcome::Unchanged,
            export::Plan::Foreign => export::Outcome::Foreign,
        })
    }
}

impl FakeApiServer {
    /// A ConfigMap of the default namespace.
    pub fn config_map(&self, name: &str) -> Option<ConfigMap> {
        let key = ("default".to_owned(), name.to_owned());
        self.config_maps.lock().unwrap().get(&key).cloned()
    }

    /// Someone else's ConfigMap in the default namespace.
    pub fn add_config_map(&self, name: &str) {
        let mut map = ConfigMap::default();
        map.metadata.name = Some(name.to_owned());
        let key = ("default".to_owned(), name.to_owned());
        self.config_maps.lock().unwrap().insert(key, map);
    }
}

/// Credentials from Secrets that exist or not; sessions that never reach a cloud.
pub struct FakeCredentials {
    api: Arc<FakeApiServer>,
    secrets: Mutex<BTreeSet<String>>,
    guarded: Mutex<BTreeSet<String>>,
    /// Secrets deleted while guarded: they go when their guard is lifted.
    deleted: Mutex<BTreeSet<String>>,
    /// Keystone refuses the credentials (a wrong password).
    rejected: Mutex<bool>,
    /// One session per Secret, as the operator keeps them.
    sessions: Mutex<BTreeMap<String, CloudSession>>,
    journal: Journal,
}

impl FakeCredentials {
    pub fn new(api: Arc<FakeApiServer>, journal: Journal) -> Self {
        FakeCredentials {
            api,
            secrets: Mutex::default(),
            guarded: Mutex::default(),
            deleted: Mutex::default(),
            rejected: Mutex::new(false),
            sessions: Mutex::default(),
            journal,
        }
    }

    pub fn add_secret(&self, name: &str) {
        self.secrets.lock().unwrap().insert(name.into());
    }

    /// The Secret is gone at once, guard or not (someone removed the finalizer by hand), or
    /// no longer works.
    pub fn remove_secret(&self, name: &str) {
        self.secrets.lock().unwrap().remove(name);
    }

    /// A user's (or the namespace's) delete: a guarded Secret stays until its guard is lifted.
    pub fn delete_secret(&self, name: &str) {
        if self.guarded(name) {
            self.deleted.lock().unwrap().insert(name.into());
        } else {
            self.remove_secret(name);
        }
    }

    pub fn reject(&self, rejected: bool) {
        *self.rejected.lock().unwrap() = rejected;
    }

    /// Whether Secret `name` carries the credentials-in-use finalizer.
    pub fn guarded(&self, name: &str) -> bool {
        self.guarded.lock().unwrap().contains(name)
    }
}

#[async_trait]
impl Credentials for FakeCredentials {
    async fn session(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<CloudSession, CredentialsError> {
        let name = &reference.secret_name;
        if !self.secrets.lock().unwrap().contains(name) {
            return Err(CredentialsError::SecretMissing {
                namespace: namespace.into(),
                name: name.clone(),
            });
        }
        if let Some(session) = self.sessions.lock().unwrap().get(name) {
            return Ok(session.clone());
        }
        let clouds_yaml = format!(
            "clouds:\n  {}:\n    auth:\n      auth_url: http://{name}.invalid/v3\n      username: u\n      user_domain_id: default\n      password: p\n      project_id: p\n",
            reference.cloud_name
        );
        let session = CloudSession::from_clouds_yaml(&clouds_yaml, &reference.cloud_name, None)
            .map_err(|e| CredentialsError::Invalid {
                namespace: namespace.into(),
                name: name.clone(),
                problem: e.to_string(),
            })?;
        let mut sessions = self.sessions.lock().unwrap();
        Ok(sessions.entry(name.clone()).or_insert(session).clone())
    }

    async fn session_in_use(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<CloudSession, CredentialsError> {
        let session = self.session(namespace, reference).await?;
        let name = &reference.secret_name;
        if self.guarded.lock().unwrap().insert(name.clone()) {
            self.journal.record(format!("guard secret {name}"));
        }
        Ok(session)
    }

    async fn verify(&self, _session: &CloudSession) -> Result<(), CloudError> {
        self.journal.record("verify credentials".into());
        if *self.rejected.lock().unwrap() {
            return Err(CloudError::Unauthorized {
                request: "POST http://keystone.invalid/v3/auth/tokens".into(),
                message: "The request you have made requires authentication.".into(),
            });
        }
        Ok(())
    }

    async fn release_secret(
        &self,
        namespace: &str,
        secret: &str,
        leaving_uid: &str,
    ) -> Result<(), kube::Error> {
        if !self.api.uses_secret(namespace, secret, leaving_uid)
            && self.guarded.lock().unwrap().remove(secret)
        {
            self.journal.record(format!("release secret {secret}"));
            if self.deleted.lock().unwrap().remove(secret) {
                self.remove_secret(secret);
            }
        }
        Ok(())
    }

    fn secret_changed(&self, _namespace: &str, _name: &str) {}

    /// The in-memory API server answers for every object itself (see `release_secret`).
    fn count_users(&self, _uses: Box<crate::engine::credentials::UsesSecret>) {}
}
