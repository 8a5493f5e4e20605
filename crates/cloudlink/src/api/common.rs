//! Types shared by every cloudlink kind: the spec fields that say how cloudlink manages the cloud
//! resource (k-orc's shape) and the status it writes back (kstatus's shape).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Secret, in the object's own namespace, that holds the cloud credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudCredentialsRef {
    /// Name of a Secret in the same namespace with a `clouds.yaml` key (OpenStack format) and,
    /// optionally, a `cacert` key holding a PEM bundle that signs the cloud's endpoints.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub secret_name: String,
    /// The entry under `clouds:` in that clouds.yaml to use.
    #[schemars(length(min = 1, max = 255))]
    pub cloud_name: String,
}

/// Whether cloudlink owns the cloud resource or only watches it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManagementPolicy {
    /// cloudlink creates, updates and (per `onDelete`) deletes the cloud resource.
    #[default]
    Managed,
    /// cloudlink only reads the resource named by `spec.import.id` and reports it in status; it never
    /// writes to it and never deletes it.
    Unmanaged,
}

/// What happens in the cloud when the Kubernetes object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// Delete the cloud resource and wait until it is gone.
    #[default]
    Delete,
    /// Leave the cloud resource as it is.
    Detach,
}

/// An existing cloud resource to adopt (managed) or observe (unmanaged).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportRef {
    /// The cloud's id of the resource. It must exist; cloudlink reports `Stalled` if it does not.
    #[schemars(length(min = 1, max = 255))]
    pub id: String,
}

/// Where cloudlink publishes what the cloud gave, for workloads to read.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportSpec {
    /// A ConfigMap in the object's namespace that cloudlink creates, owns (it is deleted with the
    /// object) and keeps up to date with the kind's documented keys. cloudlink never writes to a
    /// ConfigMap it did not create for this object.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub config_map_name: String,
}

/// Condition types cloudlink writes, in the shape kstatus (Flux) and Argo CD understand.
pub mod condition {
    /// The cloud resource exists and matches the spec.
    pub const READY: &str = "Ready";
    /// cloudlink is still working towards the spec (abnormal-true, as kstatus expects).
    pub const RECONCILING: &str = "Reconciling";
    /// cloudlink cannot make progress without a change of spec, Secret or cloud (abnormal-true).
    pub const STALLED: &str = "Stalled";
    /// Present (True) only while the object carries [`super::annotation::PAUSED`].
    pub const PAUSED: &str = "Paused";
    /// Present only with `spec.export`: whether the ConfigMap holds the cloud's answer.
    pub const EXPORTED: &str = "Exported";
}

/// Annotations a user sets on any cloudlink object.
pub mod annotation {
    /// `"true"`: cloudlink makes no cloud call and no change for the object (but the `Paused`
    /// condition) until the annotation is removed or set to anything else.
    pub const PAUSED: &str = "cloudlink.dev/paused";
    /// Any new value makes cloudlink read the object's resource from the cloud at once; the value
    /// handled is then `status.lastHandledReconcileAt`.
    pub const RECONCILE_REQUESTED_AT: &str = "cloudlink.dev/reconcile-requested-at";
    /// Flux's annotation of the same meaning (`flux reconcile` sets it), read when cloudlink's own
    /// is absent.
    pub const FLUX_RECONCILE_REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
    /// On a `TenantConnectionRequest`: the other namespaces (comma-separated) whose
    /// `TenantConnectionApproval` may decide it through `spec.resource.requestRef`.
    pub const APPROVAL_NAMESPACES: &str = "cloudlink.dev/approval-namespaces";
}

/// What cloudlink observed: the cloud resource, and how far it is from the spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus<R> {
    /// The cloud's id of the resource. Written before anything else once the cloud has answered a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource as the cloud last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<R>,
    /// `Ready`, `Reconciling` and `Stalled` (and kind-specific ones), each with a reason that is a
    /// category of action: Success, Progressing, AwaitingApproval, TransientError,
    /// InvalidConfiguration, UnrecoverableError, APIRemoved, Conflict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status describes; -1 until cloudlink has looked at the object.
    #[serde(default = "unobserved")]
    #[schemars(default = "unobserved")]
    pub observed_generation: i64,
    /// When cloudlink last read the resource from the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// Written by cloudlink 0.1 before a create was sent; read (a cloudlink that finds it but no
    /// id looks for the resource that request may have created), no longer written: cloudlink's
    /// finalizer, put on just before the first create, is that mark now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested: Option<Time>,
    /// The last value of `cloudlink.dev/reconcile-requested-at` (or Flux's
    /// `reconcile.fluxcd.io/requestedAt`) that cloudlink acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

fn unobserved() -> i64 {
    -1
}

impl<R> Default for ResourceStatus<R> {
    fn default() -> Self {
        Self {
            id: None,
            resource: None,
            conditions: Vec::new(),
            observed_generation: unobserved(),
            last_sync_time: None,
            create_requested: None,
            last_handled_reconcile_at: None,
        }
    }
}

/// The spec fields every cloudlink kind has, flattened into the kind's spec next to its `resource`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementSpec {
    /// The credentials cloudlink uses for this object.
    pub cloud_credentials_ref: CloudCredentialsRef,
    /// `managed` (default): cloudlink creates and owns the resource. `unmanaged`: cloudlink only
    /// observes the resource named by `spec.import`. Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.managementPolicy is immutable: delete and recreate the object to change it"))]
    pub management_policy: ManagementPolicy,
    /// What to do with the cloud resource when this object is deleted: `delete` (default) or
    /// `detach`. Unmanaged resources are never deleted. May be changed at any time, also while the
    /// object is being deleted: `detach` then releases an object whose deletion is blocked (by
    /// broken credentials, say) and leaves its cloud resource as it is.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// Adopt (managed) or observe (unmanaged) an existing cloud resource instead of creating one.
    /// Cannot be added, changed or removed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.import is immutable"))]
    pub import: Option<ImportRef>,
    /// How often cloudlink re-reads the resource from the cloud to detect drift, as a duration such
    /// as `10m` or `1h30m`. Defaults to the operator's `--resync` (10m), as does `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = cloudlink_duration::PATTERN), length(max = 32))]
    pub resync_period: Option<String>,
    /// Publish the cloud's answer (the kind's documented keys) in a ConfigMap, for workloads and
    /// GitOps-managed configuration to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportSpec>,
}

impl ManagementSpec {
    /// `spec.resyncPeriod`, if it sets one: `None` when absent or zero (the operator's `--resync`
    /// applies) or, were the API server's validation bypassed, unreadable.
    pub fn resync(&self) -> Option<std::time::Duration> {
        self.resync_period
            .as_deref()
            .and_then(|text| cloudlink_duration::parse(text).ok())
            .filter(|period| !period.is_zero())
    }
}

pub use kube::core::Rule;

/// CEL rules on the whole spec that tie `managementPolicy`, `resource` and `import` together.
/// Each kind puts them on its spec, which holds both the flattened [`ManagementSpec`] and `resource`.
pub fn management_rules() -> [Rule; 4] {
    [
        Rule::new("self.managementPolicy != 'unmanaged' || has(self.__import__)")
            .message("spec.import is required when spec.managementPolicy is unmanaged: name the cloud resource to observe"),
        Rule::new("self.managementPolicy != 'unmanaged' || !has(self.resource)")
            .message("spec.resource is forbidden when spec.managementPolicy is unmanaged: an observed resource is described by the cloud, not the spec"),
        Rule::new("self.managementPolicy != 'managed' || has(self.resource)")
            .message("spec.resource is required when spec.managementPolicy is managed"),
        Rule::new("has(self.__import__) == has(oldSelf.__import__)")
            .message("spec.import cannot be added or removed after creation"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_zero_or_unreadable_resync_period_leaves_the_default() {
        let spec = |period: Option<&str>| ManagementSpec {
            cloud_credentials_ref: CloudCredentialsRef {
                secret_name: "s".into(),
                cloud_name: "c".into(),
            },
            management_policy: Default::default(),
            on_delete: Default::default(),
            import: None,
            resync_period: period.map(str::to_owned),
            export: None,
        };
        assert_eq!(
            spec(Some("1h30m")).resync(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(spec(Some("0s")).resync(), None);
        assert_eq!(spec(Some("often")).resync(), None);
        assert_eq!(spec(None).resync(), None);
    }
}
