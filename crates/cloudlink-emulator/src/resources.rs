//! What the emulated clouds hold: Nova's VPN servers and endpoints, ECL's tenant connection
//! requests and tenant connections, and SSS's approval requests, in the shape their APIs show
//! them. `state.rs` keeps them and changes them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::ecl_fields::Labels;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    Building,
    Active,
}

/// A cloudpipe's VPN server (the only kind of server the emulator runs).
#[derive(Clone, Debug, Serialize)]
pub struct Server {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub vm_state: VmState,
    pub task_state: Option<&'static str>,
    pub internal_ip: String,
    /// Server metadata (`/servers/{id}/metadata`).
    pub metadata: BTreeMap<String, String>,
    /// Creation order: lists are sorted by it.
    #[serde(skip)]
    pub sequence: u64,
}

/// What `configure-project` stored for a project's networks.
#[derive(Clone, Debug, Serialize)]
pub struct VpnEndpoint {
    pub public_ip: String,
    /// Nova keeps the port in an integer column, so a digit string reads back as a number.
    pub public_port: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TcrStatus {
    Creating,
    Registering,
    Registered,
    Approved,
    Denied,
    Cancelled,
    Unavailable,
}

impl TcrStatus {
    pub const ALL: [TcrStatus; 7] = [
        TcrStatus::Creating,
        TcrStatus::Registering,
        TcrStatus::Registered,
        TcrStatus::Approved,
        TcrStatus::Denied,
        TcrStatus::Cancelled,
        TcrStatus::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TcrStatus::Creating => "creating",
            TcrStatus::Registering => "registering",
            TcrStatus::Registered => "registered",
            TcrStatus::Approved => "approved",
            TcrStatus::Denied => "denied",
            TcrStatus::Cancelled => "cancelled",
            TcrStatus::Unavailable => "unavailable",
        }
    }

    /// Still on its way, or approved: a second identical request would conflict with it.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            TcrStatus::Creating
                | TcrStatus::Registering
                | TcrStatus::Registered
                | TcrStatus::Approved
        )
    }
}

/// A tenant connection request. Field order is the wire order of eclcloud's fixtures; the
/// serialised form (minus the skipped fields) is exactly the API object.
#[derive(Clone, Debug, Serialize)]
pub struct Tcr {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub tenant_id: String,
    pub name_other: String,
    pub description_other: String,
    pub tags_other: BTreeMap<String, String>,
    pub tenant_id_other: String,
    pub network_id: String,
    pub status: TcrStatus,
    pub approval_request_id: String,
    #[serde(skip)]
    pub requester_user_id: String,
    /// Creation order: lists are sorted by it.
    #[serde(skip)]
    pub sequence: u64,
}

impl Tcr {
    pub fn labels(&mut self) -> Labels<'_> {
        Labels {
            name: &mut self.name,
            description: &mut self.description,
            tags: &mut self.tags,
            name_other: &mut self.name_other,
            description_other: &mut self.description_other,
            tags_other: &mut self.tags_other,
        }
    }
}

/// What a create request carries.
pub struct NewTcr {
    pub tenant_id: String,
    pub requester_user_id: String,
    pub tenant_id_other: String,
    pub network_id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    Registered,
    Approved,
    Denied,
    Cancelled,
    Expired,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Registered => "registered",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Cancelled => "cancelled",
            ApprovalStatus::Expired => "expired",
        }
    }
}

/// An SSS approval request for one TCR; the network owner (`approver_tenant`) decides it.
#[derive(Clone, Debug, Serialize)]
pub struct Approval {
    pub request_id: String,
    pub tcr_id: String,
    pub requester_tenant: String,
    pub approver_tenant: String,
    pub request_user_id: String,
    pub network_id: String,
    pub registered: Timestamp,
    pub updated: Option<Timestamp>,
    pub deadline: Timestamp,
    pub status: ApprovalStatus,
    /// Creation order: lists are sorted by it.
    #[serde(skip)]
    pub sequence: u64,
}

/// What a tenant connection attaches to the network (eclcloud's `CreateOpts.DeviceType`; TPE
/// validates these three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeviceType {
    #[serde(rename = "ECL::Compute::Server")]
    ComputeServer,
    #[serde(rename = "ECL::Baremetal::Server")]
    BaremetalServer,
    #[serde(rename = "ECL::VirtualNetworkAppliance::VSRX")]
    Vsrx,
}

impl DeviceType {
    pub const ALL: [DeviceType; 3] = [
        DeviceType::ComputeServer,
        DeviceType::BaremetalServer,
        DeviceType::Vsrx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::ComputeServer => "ECL::Compute::Server",
            DeviceType::BaremetalServer => "ECL::Baremetal::Server",
            DeviceType::Vsrx => "ECL::VirtualNetworkAppliance::VSRX",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceType> {
        DeviceType::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TcStatus {
    Creating,
    Active,
    Deleting,
}

impl TcStatus {
    pub const ALL: [TcStatus; 3] = [TcStatus::Creating, TcStatus::Active, TcStatus::Deleting];

    pub fn as_str(self) -> &'static str {
        match self {
            TcStatus::Creating => "creating",
            TcStatus::Active => "active",
            TcStatus::Deleting => "deleting",
        }
    }
}

/// A tenant connection: one device of the requester attached to the network of an approved TCR.
/// The serialised form is what the admin dump shows; the API object (`ecl_connections::view`)
/// leaves out `attachment_opts`, which neither eclcloud's nor TPE's recorded answers carry.
#[derive(Clone, Debug, Serialize)]
pub struct Tc {
    pub id: String,
    pub tenant_connection_request_id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub tenant_id: String,
    pub name_other: String,
    pub description_other: String,
    pub tags_other: BTreeMap<String, String>,
    pub tenant_id_other: String,
    pub network_id: String,
    pub device_type: DeviceType,
    pub device_id: String,
    /// `""` for a compute server (eclcloud's fixtures), as the client gave it otherwise.
    pub device_interface_id: String,
    /// `""` until the port exists (`active`); always `""` for a vSRX, which attaches an interface
    /// of its own rather than a port (eclcloud's and TPE's recorded answers).
    pub port_id: String,
    pub status: TcStatus,
    /// As the client sent it (after validation); `{}` when it sent none.
    pub attachment_opts: Value,
    /// Creation order: lists are sorted by it.
    #[serde(skip)]
    pub sequence: u64,
}

impl Tc {
    pub fn labels(&mut self) -> Labels<'_> {
        Labels {
            name: &mut self.name,
            description: &mut self.description,
            tags: &mut self.tags,
            name_other: &mut self.name_other,
            description_other: &mut self.description_other,
            tags_other: &mut self.tags_other,
        }
    }
}

/// What a create request carries, once validated against its TCR.
pub struct NewTc {
    pub tenant_connection_request_id: String,
    pub tenant_id: String,
    pub tenant_id_other: String,
    pub network_id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub device_type: DeviceType,
    pub device_id: String,
    pub device_interface_id: String,
    pub attachment_opts: Value,
}
