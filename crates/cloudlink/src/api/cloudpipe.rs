//! `Cloudpipe`: a per-project VPN server made by OpenStack Nova's `os-cloudpipe` API.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ManagementSpec, ResourceStatus, management_rules};

/// What the user asks for: how cloudlink manages the cloudpipe, and which cloudpipe it should be.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cloudlink.dev",
    version = "v1alpha1",
    kind = "Cloudpipe",
    plural = "cloudpipes",
    shortname = "cpipe",
    category = "cloudlink",
    namespaced,
    doc = "A Nova cloudpipe: the VPN server of an OpenStack project, created with `POST /os-cloudpipe`.",
    status = "CloudpipeStatus",
    printcolumn = r#"{"name":"ID","type":"string","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"SERVER","type":"string","description":"Nova status of the VPN server","jsonPath":".status.resource.serverStatus"}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = management_rules()[0].clone(), validation = management_rules()[1].clone(),
         validation = management_rules()[2].clone(), validation = management_rules()[3].clone())]
#[serde(rename_all = "camelCase")]
pub struct CloudpipeSpec {
    #[serde(flatten)]
    pub management: ManagementSpec,
    /// The cloudpipe cloudlink creates. Required when managed, forbidden when unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<CloudpipeResourceSpec>,
}

/// The desired cloudpipe.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.projectId) == has(oldSelf.projectId) && (!has(self.projectId) || self.projectId == oldSelf.projectId)")
    .message("spec.resource.projectId is immutable"))]
pub struct CloudpipeResourceSpec {
    /// The project the VPN server serves. Defaults to the credentials' project. Nova's rule:
    /// 1 to 255 letters, digits and dashes. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9-]*$"))]
    pub project_id: Option<String>,
    /// The public address of the project's VPN, set with Nova's configure-project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpn: Option<VpnEndpoint>,
}

/// Where clients reach the project's VPN.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpnEndpoint {
    /// Public IPv4 or IPv6 address of the VPN.
    #[schemars(length(max = 45))]
    #[x_kube(validation = Rule::new("isIP(self)").message("spec.resource.vpn.publicIp must be an IPv4 or IPv6 address"))]
    pub public_ip: String,
    /// Public UDP port of the VPN, 1 to 65535.
    #[schemars(range(min = 1, max = 65535))]
    pub public_port: i32,
}

/// The cloudpipe as Nova reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudpipeResourceStatus {
    /// The Nova server that is the VPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Nova's VPN state: running, down or invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Nova status of the VPN server: BUILD, ACTIVE, ERROR, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_status: Option<String>,
}

pub type CloudpipeStatus = ResourceStatus<CloudpipeResourceStatus>;
