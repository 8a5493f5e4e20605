//! From `spec.cloudCredentialsRef` to a cloud session: the Secret in the object's namespace, its
//! `clouds.yaml` and optional `cacert`. Sessions (and so Keystone tokens) are shared by every object
//! that uses the same credentials, and rebuilt when the Secret's content changes.
//!
//! While objects use a Secret it carries the finalizer [`SECRET_FINALIZER`], so deleting the
//! Secret cannot strand objects whose cloud resources still have to be deleted.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use super::finalizers;
use super::secrets::SecretCache;
use crate::api::common::CloudCredentialsRef;
use crate::cloud::{CloudSession as Session, SessionKey, SessionOptions};

pub const SECRET_FINALIZER: &str = "cloudlink.dev/credentials-in-use";

/// Why credentials could not be turned into a session: always the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "Secret {namespace}/{name} named by spec.cloudCredentialsRef.secretName does not exist: create it with a clouds.yaml key"
    )]
    SecretMissing { namespace: String, name: String },
    #[error(
        "Secret {namespace}/{name} has no clouds.yaml key: put the OpenStack clouds.yaml under that key"
    )]
    NoCloudsYaml { namespace: String, name: String },
    #[error("Secret {namespace}/{name}: {problem}")]
    Invalid {
        namespace: String,
        name: String,
        problem: String,
    },
    #[error("cannot read Secret {namespace}/{name}: {source}")]
    Kube {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl CredentialsError {
    /// Only a failure to reach the API server is worth retrying without a change.
    pub fn is_transient(&self) -> bool {
        matches!(self, CredentialsError::Kube { .. })
    }
}

/// Sessions by credential content. Bounded: a cluster rarely has more than a few credentials, and a
/// dropped session only costs one more Keystone token.
pub struct Sessions {
    client: Client,
    options: SessionOptions,
    secrets: SecretCache,
    by_content: Mutex<HashMap<u64, Session>>,
    users: std::sync::RwLock<Vec<Box<UsesSecret>>>,
}

/// Asks one kind's watched objects whether any live one in `namespace`, other than `except_uid`,
/// names Secret `secret`. Answers `true` until the kind's objects have been listed: an unknown
/// answer must keep the guard.
pub type UsesSecret = dyn Fn(&str, &str, &str) -> bool + Send + Sync;

const MAX_SESSIONS: usize = 256;

impl Sessions {
    pub fn new(client: Client, options: SessionOptions) -> Self {
        Sessions {
            secrets: SecretCache::new(client.clone()),
            client,
            options,
            by_content: Mutex::new(HashMap::new()),
            users: std::sync::RwLock::new(Vec::new()),
        }
    }

    /// The session for `reference` in `namespace`, and the Secret it came from (for its finalizer).
    pub async fn session(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<(Session, Arc<Secret>), CredentialsError> {
        let name = &reference.secret_name;
        let secret = self
            .secrets
            .get(namespace, name)
            .await
            .map_err(|source| CredentialsError::Kube {
                namespace: namespace.into(),
                name: name.clone(),
                source,
            })?
            .ok_or_else(|| CredentialsError::SecretMissing {
                namespace: namespace.into(),
                name: name.clone(),
            })?;
        let data = secret.data.clone().unwrap_or_default();
        let clouds_yaml =
            data.get("clouds.yaml")
                .ok_or_else(|| CredentialsError::NoCloudsYaml {
                    namespace: namespace.into(),
                    name: name.clone(),
                })?;
        let cacert = data.get("cacert").map(|b| b.0.as_slice());

        let mut hasher = DefaultHasher::new();
        (&reference.cloud_name, &clouds_yaml.0, cacert).hash(&mut hasher);
        let key = hasher.finish();
        if let Some(session) = self
            .by_content
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok((session.clone(), secret));
        }
        let invalid = |problem: String| CredentialsError::Invalid {
            namespace: namespace.into(),
            name: name.clone(),
            problem,
        };
        let text = std::str::from_utf8(&clouds_yaml.0)
            .map_err(|_| invalid("clouds.yaml is not UTF-8 text".into()))?;
        let session = SessionKey::from_clouds_yaml(text, &reference.cloud_name, cacert)
            .and_then(|key| Session::new(key, self.options.clone()))
            .map_err(|e| invalid(e.to_string()))?;
        let mut sessions = self.by_content.lock().unwrap_or_else(|e| e.into_inner());
        // Another reconcile may have built one meanwhile (the first reconciles of both kinds start
        // together): keep the first, so that the credential has one token.
        if let Some(first) = sessions.get(&key) {
            return Ok((first.clone(), secret));
        }
        if sessions.len() >= MAX_SESSIONS {
            sessions.clear();
        }
        sessions.insert(key, session.clone());
        Ok((session, secret))
    }

    /// Marks the Secret as in use.
    pub async fn guard(&self, secret: &Secret) -> Result<(), kube::Error> {
        if secret.finalizers().iter().any(|f| f == SECRET_FINALIZER) {
            return Ok(());
        }
        let namespace = secret.namespace().unwrap_or_default();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &namespace);
        let added = finalizers::add(&api, secret, SECRET_FINALIZER).await;
        // Whether the patch took or lost a race, the kept copy is out of date.
        self.secrets.forget(&namespace, &secret.name_any());
        added
    }

    /// The Secret changed: see [`SecretCache::forget`].
    pub fn secret_changed(&self, namespace: &str, name: &str) {
        self.secrets.forget(namespace, name);
    }

    /// Adds a kind's objects to those [`Sessions::in_use`] asks (each controller adds its own).
    pub fn count_users(&self, uses: Box<UsesSecret>) {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(uses);
    }

    /// Whether any live object of any kind in `namespace`, other than `except_uid`, uses Secret
    /// `secret`, as the controllers' caches show them (no request to the API server).
    pub fn in_use(&self, namespace: &str, secret: &str, except_uid: &str) -> bool {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|uses| uses(namespace, secret, except_uid))
    }

    /// Lifts the guard from a Secret no object uses any more. `still_used` is asked after the
    /// Secret is read, so an object created meanwhile keeps it guarded (its own reconcile re-adds
    /// the finalizer in any case).
    pub async fn release(
        &self,
        namespace: &str,
        name: &str,
        still_used: bool,
    ) -> Result<(), kube::Error> {
        if still_used {
            return Ok(());
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        match api.get_opt(name).await? {
            Some(secret) => finalizers::remove(&api, &secret, SECRET_FINALIZER).await,
            None => Ok(()),
        }
    }
}
