//! `TenantConnectionApproval`: the network owner's decision on one tenant connection request, in
//! NTT Enterprise Cloud 2.0. It lives with the owner's team and uses the owner tenant's
//! credentials; the SSS approval request it decides is made by the requester's
//! `TenantConnectionRequest`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ManagementSpec, ResourceStatus, management_rules};

/// What the owner asks for: which approval request, and the decision.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cloudlink.dev",
    version = "v1alpha1",
    kind = "TenantConnectionApproval",
    plural = "tenantconnectionapprovals",
    shortname = "tca",
    category = "cloudlink",
    namespaced,
    doc = "The network owner's decision (approve or deny) on an ECL 2.0 tenant connection request, through its SSS approval request. A decision cannot be undone: deleting this object leaves it in the cloud.",
    status = "TenantConnectionApprovalStatus",
    printcolumn = r#"{"name":"ID","type":"string","description":"The SSS approval request","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"DECISION","type":"string","jsonPath":".spec.resource.decision"}"#,
    printcolumn = r#"{"name":"STATUS","type":"string","description":"The approval request's status","jsonPath":".status.resource.status"}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = management_rules()[0].clone(), validation = management_rules()[1].clone(),
         validation = management_rules()[2].clone(), validation = management_rules()[3].clone())]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionApprovalSpec {
    #[serde(flatten)]
    pub management: ManagementSpec,
    /// The decision cloudlink makes. Required when managed, forbidden when unmanaged (an
    /// unmanaged approval only observes the approval request named by `spec.import.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<TenantConnectionApprovalResourceSpec>,
}

/// One request and what to decide about it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.approvalRequestId), has(self.tenantConnectionRequestId), has(self.requestRef)].filter(x, x).size() == 1").message("spec.resource must name exactly one of approvalRequestId, tenantConnectionRequestId and requestRef"))]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource is immutable: SSS cannot change or undo a decision; create another object for another request"))]
pub struct TenantConnectionApprovalResourceSpec {
    /// The SSS approval request to decide (as the requester's `TenantConnectionRequest` shows it
    /// in `status.resource.approvalRequestId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub approval_request_id: Option<String>,
    /// The tenant connection request to decide: cloudlink finds its approval request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub tenant_connection_request_id: Option<String>,
    /// The requester's `TenantConnectionRequest` object, when both teams use this cluster:
    /// cloudlink decides the request it shows in `status.id`. An object in another namespace must
    /// grant this one: its annotation `cloudlink.dev/approval-namespaces` lists the namespaces
    /// (comma-separated) that may decide it by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ref: Option<RequestRef>,
    /// `approved` or `denied`.
    pub decision: Decision,
}

/// A `TenantConnectionRequest` object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestRef {
    /// Its namespace; this object's namespace when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: Option<String>,
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The owner's answer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Denied,
}

impl Decision {
    /// The SSS status this decision sets.
    pub fn as_status(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Denied => "denied",
        }
    }
}

/// The approval request as SSS reports it to the owner, and its tenant connection request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionApprovalResourceStatus {
    /// registered, approved, denied, cancelled or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The tenant connection request it decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_connection_request_id: Option<String>,
    /// That request's status (registered, approved, denied, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_connection_request_status: Option<String>,
    /// The tenant that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_tenant_id: Option<String>,
    /// The owner's network the request asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// Until when the owner can decide (`YYYY-MM-DD hh:mm:ss`, as SSS writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_deadline: Option<String>,
}

pub type TenantConnectionApprovalStatus = ResourceStatus<TenantConnectionApprovalResourceStatus>;
