//! `TenantConnection`: the last step of the ECL 2.0 workflow. Once the network's owner has
//! approved a tenant connection request, the requester attaches one of its devices to the owner's
//! network with a tenant connection (`POST {ep}/v2.0/tenant_connections`).

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ManagementSpec, ResourceStatus, management_rules};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "cloudlink.dev",
    version = "v1alpha1",
    kind = "TenantConnection",
    plural = "tenantconnections",
    shortname = "tc",
    category = "cloudlink",
    namespaced,
    doc = "An ECL 2.0 tenant connection: attaches one of this tenant's devices to another tenant's network, through an approved tenant connection request.",
    status = "TenantConnectionStatus",
    printcolumn = r#"{"name":"ID","type":"string","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"STATUS","type":"string","description":"The cloud's status of the connection","jsonPath":".status.resource.status"}"#,
    printcolumn = r#"{"name":"PORT","type":"string","jsonPath":".status.resource.portId"}"#,
    printcolumn = r#"{"name":"READY","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"REASON","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = management_rules()[0].clone(), validation = management_rules()[1].clone(),
         validation = management_rules()[2].clone(), validation = management_rules()[3].clone())]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionSpec {
    #[serde(flatten)]
    pub management: ManagementSpec,
    /// The connection cloudlink creates. Required when managed, forbidden when unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<TenantConnectionResourceSpec>,
}

/// The desired tenant connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.requestRef) != has(self.tenantConnectionRequestId)").message("spec.resource must name exactly one of requestRef and tenantConnectionRequestId"))]
pub struct TenantConnectionResourceSpec {
    /// The `TenantConnectionRequest` object in this namespace whose request (once approved) the
    /// connection uses. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.requestRef is immutable"))]
    pub request_ref: Option<LocalRequestRef>,
    /// Or the tenant connection request by its cloud id. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.tenantConnectionRequestId is immutable"))]
    pub tenant_connection_request_id: Option<String>,
    /// The device to attach. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.device is immutable: create another connection for another device"))]
    pub device: Device,
    /// How the device attaches (fixed IPs, allowed address pairs, a baremetal server's
    /// segmentation). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.resource.attachmentOpts is immutable"))]
    pub attachment_opts: Option<AttachmentOpts>,
    /// Name of the connection, up to 255 characters. Updatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub name: Option<String>,
    /// Description, up to 255 characters. Updatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
    /// Tags. Updatable. The keys `cloudlink.dev/uid` and `cloudlink.dev/object` are reserved:
    /// cloudlink writes them to mark the connections it owns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    #[x_kube(validation = Rule::new("!('cloudlink.dev/uid' in self) && !('cloudlink.dev/object' in self)").message("spec.resource.tags must not use the reserved keys cloudlink.dev/uid and cloudlink.dev/object"))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 255 && size(self[k]) <= 255)").message("spec.resource.tags keys and values must be at most 255 characters"))]
    pub tags: BTreeMap<String, String>,
}

/// A `TenantConnectionRequest` object in the connection's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalRequestRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// One of this tenant's devices.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'ECL::Compute::Server' ? !has(self.interfaceId) : has(self.interfaceId)").message("spec.resource.device.interfaceId is required for ECL::Baremetal::Server and ECL::VirtualNetworkAppliance::VSRX, and forbidden for ECL::Compute::Server"))]
pub struct Device {
    /// `ECL::Compute::Server`, `ECL::Baremetal::Server` or `ECL::VirtualNetworkAppliance::VSRX`.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// The server's or appliance's id.
    #[schemars(length(min = 1, max = 255))]
    pub id: String,
    /// The interface to attach: a baremetal server's NIC or a vSRX interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub interface_id: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DeviceType {
    #[serde(rename = "ECL::Compute::Server")]
    ComputeServer,
    #[serde(rename = "ECL::Baremetal::Server")]
    BaremetalServer,
    #[serde(rename = "ECL::VirtualNetworkAppliance::VSRX")]
    Vsrx,
}

impl DeviceType {
    /// The API's name of the type.
    pub fn as_api(self) -> &'static str {
        match self {
            DeviceType::ComputeServer => "ECL::Compute::Server",
            DeviceType::BaremetalServer => "ECL::Baremetal::Server",
            DeviceType::Vsrx => "ECL::VirtualNetworkAppliance::VSRX",
        }
    }
}

/// How the device attaches to the network.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentOpts {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_ips: Vec<FixedIp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_address_pairs: Vec<AddressPair>,
    /// A baremetal server's segmentation: `flat` or `vlan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation_type: Option<SegmentationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub segmentation_id: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SegmentationType {
    Flat,
    Vlan,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixedIp {
    #[schemars(length(min = 1, max = 64))]
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressPair {
    #[schemars(length(min = 1, max = 64))]
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// The connection as the cloud reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantConnectionResourceStatus {
    /// creating, active or deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The device's port on the owner's network, once active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_connection_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_interface_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The network owner's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_other: Option<String>,
}

pub type TenantConnectionStatus = ResourceStatus<TenantConnectionResourceStatus>;
