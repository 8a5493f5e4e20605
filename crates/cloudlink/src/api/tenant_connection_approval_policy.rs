//! `TenantConnectionApprovalPolicy`: the network owner's standing rule for tenant connection
//! requests, in NTT Enterprise Cloud 2.0. Where a `TenantConnectionApproval` decides one request,
//! a policy decides every pending one that matches: the requesting tenants, the owner's networks,
//! optionally the request's name.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CloudCredentialsRef;
pub use super::tenant_connection_approval::Decision;

/// How many decisions `status.decisions` keeps, newest first.
pub const RECENT_DECISIONS: usize = 20;

/// A rule and the decision it makes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cloudlink.dev",
    version = "v1alpha1",
    kind = "TenantConnectionApprovalPolicy",
    plural = "tenantconnectionapprovalpolicies",
    shortname = "tcap",
    category = "cloudlink",
    namespaced,
    doc = "The network owner's standing rule: approve (or deny) every pending ECL 2.0 tenant connection request that matches spec.match, through its SSS approval request. Each request is decided once; deleting the policy decides nothing more and undoes nothing.",
    status = "TenantConnectionApprovalPolicyStatus",
    printcolumn = r#"{"name":"DECISION","type":"string","jsonPath":".spec.decision"}"#,
    printcolumn = r#"{"name":"DECIDED","type":"integer","description":"Approval requests decided by this policy","jsonPath":".status.decidedCount"}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionApprovalPolicySpec {
    /// The network owner tenant's credentials: only the approver of a request can decide it.
    pub cloud_credentials_ref: CloudCredentialsRef,
    /// `approved` or `denied`: what this policy decides for every matching request.
    pub decision: Decision,
    /// Which pending requests this policy decides.
    #[serde(rename = "match")]
    pub rule: MatchRule,
    /// How often cloudlink looks for new pending requests, as a duration such as `30s` or `5m`
    /// (default `1m`, at least `5s`). Each look costs one LIST of approval requests and one of
    /// tenant connection requests per credential, however many requests or policies there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = cloudlink_duration::PATTERN), length(max = 32))]
    pub interval: Option<String>,
}

/// A request matches when every field given here matches it. Requester tenants or networks must
/// be named: the request's name is chosen by the requester, so on its own it would let anybody in.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("size(self.requesterTenantIds) > 0 || size(self.networkIds) > 0").message("spec.match must name requesterTenantIds or networkIds: a name pattern alone is chosen by the requester"))]
pub struct MatchRule {
    /// The requesting tenants (their tenant ids); any tenant when empty.
    #[serde(default)]
    #[schemars(length(max = 100), inner(length(min = 1, max = 255)))]
    pub requester_tenant_ids: Vec<String>,
    /// The owner's networks requested (their network ids); any network when empty.
    #[serde(default)]
    #[schemars(length(max = 100), inner(length(min = 1, max = 255)))]
    pub network_ids: Vec<String>,
    /// A pattern the request's name (as the requester named it) must match: `*` stands for any
    /// run of characters, `?` for one; anything else matches itself. A request whose name the
    /// owner cannot see never matches a pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub name_pattern: Option<String>,
}

/// What the policy did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionApprovalPolicyStatus {
    /// `Ready` (the policy is being applied), `Reconciling`, `Stalled` (credentials or cloud
    /// refuse: the message says what to change), `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status describes; -1 until cloudlink has looked at it.
    #[serde(default = "unobserved")]
    #[schemars(default = "unobserved")]
    pub observed_generation: i64,
    /// The latest decisions, newest first (at most 20); each also has an Event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<PolicyDecision>,
    /// How many approval requests this policy has decided.
    #[serde(default)]
    pub decided_count: i64,
    /// The last value of `cloudlink.dev/reconcile-requested-at` (or Flux's
    /// `reconcile.fluxcd.io/requestedAt`) that cloudlink acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl Default for TenantConnectionApprovalPolicyStatus {
    fn default() -> Self {
        TenantConnectionApprovalPolicyStatus {
            conditions: Vec::new(),
            observed_generation: unobserved(),
            decisions: Vec::new(),
            decided_count: 0,
            last_handled_reconcile_at: None,
        }
    }
}

fn unobserved() -> i64 {
    -1
}

/// One approval request the policy decided.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDecision {
    pub approval_request_id: String,
    /// `approved` or `denied`.
    pub decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_connection_request_id: Option<String>,
    /// The request's name, as the requester named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// When cloudlink sent the decision.
    pub time: Time,
}
