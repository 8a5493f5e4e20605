//! `TenantConnectionRequest`: a request, in NTT Enterprise Cloud 2.0 provider-connectivity, to
//! connect this tenant's devices to another tenant's network. The network's owner approves it.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ManagementSpec, ResourceStatus, management_rules};

/// The tag key cloudlink writes into every request it creates, holding the object's UID, so that a
/// request created just before a crash is found and adopted instead of created twice.
pub const OWNER_TAG: &str = "cloudlink.dev/uid";

/// The tag key that names the owning object (`namespace/name`) beside [`OWNER_TAG`], so that a
/// second object naming the same request can say whose it is.
pub const OBJECT_TAG: &str = "cloudlink.dev/object";

/// The condition that says whether the network's owner has approved the request.
pub const APPROVED: &str = "Approved";

/// What the user asks for: how cloudlink manages the request, and which request it should be.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cloudlink.dev",
    version = "v1alpha1",
    kind = "TenantConnectionRequest",
    plural = "tenantconnectionrequests",
    shortname = "tcr",
    category = "cloudlink",
    namespaced,
    doc = "An ECL 2.0 tenant connection request: asks the owner of another tenant's network to let this tenant's devices connect to it.",
    status = "TenantConnectionRequestStatus",
    printcolumn = r#"{"name":"ID","type":"string","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"STATUS","type":"string","description":"The cloud's status of the request","jsonPath":".status.resource.status"}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"APPROVAL","type":"string","description":"Reason of the Approved condition","jsonPath":".status.conditions[?(@.type==\"Approved\")].reason"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = management_rules()[0].clone(), validation = management_rules()[1].clone(),
         validation = management_rules()[2].clone(), validation = management_rules()[3].clone())]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionRequestSpec {
    #[serde(flatten)]
    pub management: ManagementSpec,
    /// The request cloudlink creates. Required when managed, forbidden when unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<TenantConnectionRequestResourceSpec>,
}

/// The desired tenant connection request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionRequestResourceSpec {
    /// The tenant that owns the network: 32 hexadecimal characters (ECL's form) or a dashed UUID.
    /// Immutable.
    #[schemars(regex(
        pattern = r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    ))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.tenantIdOther is immutable"))]
    pub tenant_id_other: String,
    /// The network, owned by `tenantIdOther`, to connect to (a UUID). Immutable.
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.networkId is immutable"))]
    pub network_id: String,
    /// Name of the request, up to 255 characters. Updatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub name: Option<String>,
    /// Description of the request, up to 255 characters. Updatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
    /// Tags of the request (keys and values up to 255 characters). Updatable. The keys
    /// `cloudlink.dev/uid` and `cloudlink.dev/object` are reserved: cloudlink writes them to mark
    /// the requests it owns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    #[x_kube(validation = Rule::new("!('cloudlink.dev/uid' in self) && !('cloudlink.dev/object' in self)").message("spec.resource.tags must not use the reserved keys cloudlink.dev/uid and cloudlink.dev/object"))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 255 && size(self[k]) <= 255)").message("spec.resource.tags keys and values must be at most 255 characters"))]
    pub tags: BTreeMap<String, String>,
}

/// The request as the cloud reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionRequestResourceStatus {
    /// creating, registering, registered, approved, denied, cancelled or unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The SSS approval request the network's owner approves or denies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Name given by the network's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_other: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags_other: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
}

pub type TenantConnectionRequestStatus = ResourceStatus<TenantConnectionRequestResourceStatus>;
