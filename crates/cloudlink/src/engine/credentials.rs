//! From `spec.cloudCredentialsRef` to a cloud session: the Secret in the object's namespace, its
//! `clouds.yaml` and optional `cacert`. Sessions (and so Keystone tokens) are shared by every object
//! that uses the same credentials, and rebuilt when the Secret's content changes.
//!
//! While objects use a Secret it carries the finalizer [`SECRET_FINALIZER`], so deleting the
//! Secret cannot strand objects whose cloud resources still have to be deleted.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::{Client, ResourceExt};

use super::finalizers::{self, FINALIZER};
use super::secrets::SecretCache;
use crate::api::common::CloudCredentialsRef;
use cloudlink_cloud::{CloudError, CloudSession as Session, SessionKey, SessionOptions};

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
    /// The Secret's finalizer could not be added.
    #[error("Kubernetes API: {0}")]
    Guard(#[source] kube::Error),
}

impl CredentialsError {
    /// Only a failure to reach the API server is worth retrying without a change.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CredentialsError::Kube { .. } | CredentialsError::Guard(_)
        )
    }
}

/// The credentials side of the lifecycle: from an object's `spec.cloudCredentialsRef` to a cloud
/// session, and the Secret's guard while objects use it. [`Sessions`] is the implementation that
/// reads Secrets from the API server; the engine's lifecycle tests use an in-memory one.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// The session for `reference` in `namespace`.
    async fn session(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<Session, CredentialsError>;

    /// The session for a live object, whose Secret is then guarded by [`SECRET_FINALIZER`] so
    /// that it outlives the object's cloud resource.
    async fn session_in_use(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<Session, CredentialsError>;

    /// Whether the session's credentials work, asked before a create is marked.
    async fn verify(&self, session: &Session) -> Result<(), CloudError>;

    /// The object `leaving_uid` no longer uses Secret `secret`: lifts the guard unless another
    /// live object uses it.
    async fn release_secret(
        &self,
        namespace: &str,
        secret: &str,
        leaving_uid: &str,
    ) -> Result<(), kube::Error>;

    /// The Secret changed (or may have): the next session is built from what it holds now.
    fn secret_changed(&self, namespace: &str, name: &str);

    /// Adds a kind's objects to those asked before a guard is lifted (each controller adds its
    /// own cache).
    fn count_users(&self, uses: Box<UsesSecret>);
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
    async fn read(
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
    async fn guard(&self, secret: &Secret) -> Result<(), kube::Error> {
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

    /// Whether any live object of any kind in `namespace`, other than `except_uid`, uses Secret
    /// `secret`, as the controllers' caches show them (no request to the API server).
    pub fn in_use(&self, namespace: &str, secret: &str, except_uid: &str) -> bool {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|uses| uses(namespace, secret, except_uid))
    }
}

#[async_trait]
impl Credentials for Sessions {
    async fn session(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<Session, CredentialsError> {
        Ok(self.read(namespace, reference).await?.0)
    }

    async fn session_in_use(
        &self,
        namespace: &str,
        reference: &CloudCredentialsRef,
    ) -> Result<Session, CredentialsError> {
        let (session, secret) = self.read(namespace, reference).await?;
        self.guard(&secret).await.map_err(CredentialsError::Guard)?;
        Ok(session)
    }

    /// The token is the create's own, so this costs no call.
    async fn verify(&self, session: &Session) -> Result<(), CloudError> {
        session.token_info().await.map(|_| ())
    }

    /// Asked after the object's cloud resource is gone; an object that starts using the Secret
    /// meanwhile re-adds the finalizer at its own reconcile.
    async fn release_secret(
        &self,
        namespace: &str,
        secret: &str,
        leaving_uid: &str,
    ) -> Result<(), kube::Error> {
        if self.in_use(namespace, secret, leaving_uid) {
            return Ok(());
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        match api.get_opt(secret).await? {
            Some(secret) => finalizers::remove(&api, &secret, SECRET_FINALIZER).await,
            None => Ok(()),
        }
    }

    /// See [`SecretCache::forget`].
    fn secret_changed(&self, namespace: &str, name: &str) {
        self.secrets.forget(namespace, name);
    }

    fn count_users(&self, uses: Box<UsesSecret>) {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(uses);
    }
}

/// Pure: whether the object with `meta` and credentials `reference` needs Secret `secret`: it
/// names the Secret and cloudlink has not let go of it: while it lives, and while it is being
/// deleted with cloudlink's finalizer still on (its cloud resource may still have to be deleted
/// with these credentials). Objects are deleted together when their namespace is: the first one
/// released must not lift the guard of a Secret the others need.
pub fn needs_secret(meta: &ObjectMeta, reference: &CloudCredentialsRef, secret: &str) -> bool {
    let released = meta.deletion_timestamp.is_some()
        && !meta.finalizers.iter().flatten().any(|f| f == FINALIZER);
    !released && reference.secret_name == secret
}
