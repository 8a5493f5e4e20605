//! The contract between the generic engine and a kind. The engine owns the lifecycle (finalizer,
//! credentials, get by id, import, adoption, create, update, poll, delete, status, events); a kind
//! supplies an [`Adapter`]: a few cloud calls and a pure assessment of what the cloud returned.
//!
//! To *observe* means one thing throughout: to read the cloud resource. [`Adapter::Observed`] is
//! the resource as read, a batched reading observes all of a credential's resources at once
//! (`engine::readings`), and an unmanaged object is one cloudlink only observes (never writes).
//! What the engine reports about reconciles is its metrics (`engine::metrics`).

use std::fmt::Debug;

use async_trait::async_trait;
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::conditions::Desired;
use super::objects::Objects;
use super::outcome::{Phase, Reason};
pub use super::ownership::Owner;
use super::readings::Previous;
use crate::api::common::{ManagementSpec, ResourceStatus};
use cloudlink_cloud::CloudError;

/// A custom resource the engine can manage: the shared spec and status shape of `crate::api::common`.
pub trait ManagedObject:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The kind's view of the cloud resource, stored in `status.resource`.
    type CloudView: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static;

    fn management(&self) -> &ManagementSpec;
    fn status(&self) -> Option<&ResourceStatus<Self::CloudView>>;

    /// Pure: what `spec.export` publishes, by the kind's documented keys; a key only once the
    /// cloud has given its value.
    fn exported(
        status: &ResourceStatus<Self::CloudView>,
    ) -> std::collections::BTreeMap<String, String>;
}

/// What the engine learns from an adapter about one observed cloud resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment<V> {
    /// Where the resource stands; drives `Ready` / `Reconciling` / `Stalled`.
    pub phase: Phase,
    /// What goes into `status.resource`.
    pub view: V,
    /// Kind-specific conditions (the request's `Approved`).
    pub conditions: Vec<Desired>,
}

/// Why an adapter's step failed: the spec asks for what the cloud cannot do, or the cloud failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AdapterError {
    /// Only a change of the spec helps: a terminal `InvalidConfiguration` whose message names the
    /// field (`spec.resource.vpn.publicIp: "x" is not an IP address`).
    #[error("{field}: {problem}")]
    Spec {
        field: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Nothing is wrong, but the step has to wait for something outside this object (a request
    /// still registering, an approval not given yet): the object shows `reason` and `message`
    /// (Ready=False, Reconciling=True), no Warning Event, and is looked at again after `poll`.
    #[error("{message}")]
    Waiting {
        reason: Reason,
        message: String,
        poll: std::time::Duration,
    },
}

impl AdapterError {
    pub fn waiting(reason: Reason, message: impl Into<String>, poll: std::time::Duration) -> Self {
        AdapterError::Waiting {
            reason,
            message: message.into(),
            poll,
        }
    }

    pub fn spec(field: &'static str, problem: impl Into<String>) -> Self {
        AdapterError::Spec {
            field,
            problem: problem.into(),
        }
    }

    /// The cloud says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, AdapterError::Cloud(e) if e.is_not_found())
    }

    /// Waiting may help (see [`CloudError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, AdapterError::Cloud(e) if e.is_transient())
    }
}

/// One kind's cloud operations. Implementations talk to the cloud through the narrow clients of
/// `cloudlink_cloud` and decide nothing about Kubernetes.
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    type Object: ManagedObject;
    /// The cloud resource as read from the cloud.
    type Observed: Clone + Debug + Send + Sync;
    /// The clients this kind needs, built once per credential and shared by every object using it.
    type Cloud: Clone + Send + Sync + 'static;

    /// Builds the kind's clients from a credential's session.
    fn connect(&self, session: &cloudlink_cloud::CloudSession) -> Self::Cloud;

    /// The cloud's id of an observed resource (what goes into `status.id`).
    fn id(observed: &Self::Observed) -> String;

    /// Follows the spec's references to other cloudlink objects (a `requestRef`) and returns the
    /// object with what they say filled in, before any cloud call; `None`: nothing to follow.
    fn resolve(
        &self,
        _objects: &Objects,
        _object: &Self::Object,
    ) -> Result<Option<Self::Object>, AdapterError> {
        Ok(None)
    }

    /// Reads the resource by id; `Ok(None)` when the cloud says it does not exist.
    async fn get(
        &self,
        cloud: &Self::Cloud,
        object: &Self::Object,
        id: &str,
    ) -> Result<Option<Self::Observed>, AdapterError>;

    /// Reads every resource these credentials can see, with one LIST per service where the cloud
    /// allows: how a resync observes all of a credential's objects at once (see
    /// `engine::readings`). `previous` is the last such reading, for what it can teach (a filter
    /// that keeps the listing small). A resource missing from the answer is read with [`Adapter::get`].
    async fn list(
        &self,
        cloud: &Self::Cloud,
        previous: &Previous<Self::Observed>,
    ) -> Result<Vec<Self::Observed>, AdapterError>;

    /// Reads every resource these credentials can see with only what a deletion needs (see
    /// [`Adapter::probe`]): how in-flight deletions are polled in batches. By default the same
    /// as [`Adapter::list`].
    async fn probe_list(
        &self,
        cloud: &Self::Cloud,
        previous: &Previous<Self::Observed>,
    ) -> Result<Vec<Self::Observed>, AdapterError> {
        self.list(cloud, previous).await
    }

    /// Finds the resource an earlier attempt for this object created, if any: the answer to a crash
    /// after the create, a lost response or a failed status write. Must match as exactly as the
    /// cloud allows, so that nobody else's resource is adopted.
    async fn find_own(
        &self,
        cloud: &Self::Cloud,
        object: &Self::Object,
    ) -> Result<Option<Self::Observed>, AdapterError>;

    /// Whether the cloud would take the create now (a connection needs an approved request). The
    /// engine asks before it marks and sends a create, so an object that has to wait writes
    /// nothing; `AdapterError::Waiting` says what it waits for. Default: always.
    async fn ready_to_create(
        &self,
        _cloud: &Self::Cloud,
        _object: &Self::Object,
    ) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Creates the resource. Must do nothing that can fail after the cloud has created it: the
    /// engine records the id right after, and everything else happens in later steps that can be
    /// retried.
    async fn create(
        &self,
        cloud: &Self::Cloud,
        object: &Self::Object,
    ) -> Result<Created<Self::Observed>, AdapterError>;

    /// Brings the updatable fields in line with the spec. Returns the resource as the cloud
    /// reports it afterwards when something was changed, `None` when nothing needed changing.
    async fn update(
        &self,
        cloud: &Self::Cloud,
        object: &Self::Object,
        observed: &Self::Observed,
    ) -> Result<Option<Self::Observed>, AdapterError>;

    /// What deleting the object does in the cloud: by default the engine deletes the resource
    /// (as `spec.onDelete` says). A resource the cloud cannot delete or undo (a decision on an
    /// approval request) is always left as it is; the Event says so with this note.
    fn deletion(&self) -> CloudDeletion {
        CloudDeletion::Delete
    }

    /// Starts deleting the resource. The engine then polls [`Adapter::get`] until it is gone.
    async fn delete(
        &self,
        cloud: &Self::Cloud,
        observed: &Self::Observed,
    ) -> Result<(), AdapterError>;

    /// Whether a deletion is already under way, so that polling does not delete again.
    fn deleting(&self, _observed: &Self::Observed) -> bool {
        false
    }

    /// Reads the resource by id for its deletion, which needs only whether it exists, whether it
    /// is being deleted and who owns it; by default the same as [`Adapter::get`].
    async fn probe(
        &self,
        cloud: &Self::Cloud,
        object: &Self::Object,
        id: &str,
    ) -> Result<Option<Self::Observed>, AdapterError> {
        self.get(cloud, object, id).await
    }

    /// The object the resource's own mark names as its owner (`None`: the resource has no mark).
    /// See `engine::ownership`.
    fn owner(&self, observed: &Self::Observed) -> Option<Owner>;

    /// Writes `owner` into the resource's mark and returns the resource as the cloud shows it
    /// afterwards; `Ok(None)` when the cloud cannot take the mark yet (a server still building):
    /// the engine tries again at a later reconcile.
    async fn claim(
        &self,
        cloud: &Self::Cloud,
        observed: &Self::Observed,
        owner: &Owner,
    ) -> Result<Option<Self::Observed>, AdapterError>;

    /// Pure: what the observation means for the object's conditions and status.
    fn assess(
        &self,
        object: &Self::Object,
        observed: &Self::Observed,
    ) -> Assessment<<Self::Object as ManagedObject>::CloudView>;
}

/// What deleting an object can do to its cloud resource (see [`Adapter::deletion`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudDeletion {
    /// Delete it, unless `spec.onDelete` is `detach` or the object is unmanaged.
    Delete,
    /// The cloud offers no way to delete or undo it: it stays, and the Event says why.
    Impossible(&'static str),
}

/// What a create returned.
pub struct Created<O> {
    pub id: String,
    /// The new resource, when the cloud's answer describes it in full (then the engine does not
    /// read it again).
    pub resource: Option<O>,
}
