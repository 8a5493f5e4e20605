//! What the emulated clouds hold: Nova's VPN servers and endpoints, ECL's tenant connection
//! requests and SSS's approval requests, in the shape their APIs show them. `state.rs` keeps
//! them and changes them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

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
