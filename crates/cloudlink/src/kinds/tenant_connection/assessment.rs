//! What a connection's and its request's cloud states mean. Pure.

use std::time::Duration;

use serde_json::{Value, json};

use crate::api::tenant_connection::{
    AttachmentOpts, TenantConnectionResourceSpec, TenantConnectionResourceStatus,
};
use crate::engine::adapter::AdapterError;
use crate::engine::outcome::{Phase, Reason};
use crate::kinds::labels;
use cloudlink_cloud::connections::{TenantConnectionRecord, UpdateTenantConnection};
use cloudlink_cloud::ecl::TenantConnectionRequestRecord;

/// A connection on its way is checked this often.
const POLL: Duration = crate::engine::schedule::IN_FLIGHT_POLL;

/// Whether a connection can be made on `request` now: only once it is approved. Waiting for the
/// owner is `AwaitingApproval`; a request that will never be approved is unrecoverable.
pub(super) fn request_allows_connection(
    request: &TenantConnectionRequestRecord,
    wait: Duration,
) -> Result<(), AdapterError> {
    let id = &request.id;
    match request.status.as_str() {
        "approved" => Ok(()),
        "creating" | "registering" | "registered" => Err(AdapterError::waiting(
            Reason::AwaitingApproval,
            format!(
                "tenant connection request {id} is {}: waiting for the network owner (tenant {}) to approve it",
                request.status, request.tenant_id_other
            ),
            wait,
        )),
        other => Err(AdapterError::spec(
            "spec.resource",
            format!(
                "tenant connection request {id} is {other} and will never be approved: name another request, or delete this object"
            ),
        )),
    }
}

pub(super) fn phase(observed: &TenantConnectionRecord) -> Phase {
    let id = &observed.id;
    match observed.status.as_str() {
        "active" => Phase::ready(format!(
            "tenant connection {id} is active on port {}",
            observed.port_id
        )),
        "creating" => Phase::progressing(
            Reason::Progressing,
            format!("tenant connection {id} is creating"),
            POLL,
        ),
        "deleting" => Phase::progressing(
            Reason::Progressing,
            format!("tenant connection {id} is deleting"),
            POLL,
        ),
        other => Phase::stalled(
            Reason::UnrecoverableError,
            format!(
                "tenant connection {id} is {other}: delete this object and create it again, or repair it in the cloud"
            ),
        ),
    }
}

pub(super) fn view(observed: &TenantConnectionRecord) -> TenantConnectionResourceStatus {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let tags = super::super::labels::without_marks(&observed.tags);
    TenantConnectionResourceStatus {
        status: some(&observed.status),
        port_id: some(&observed.port_id),
        tenant_connection_request_id: some(&observed.tenant_connection_request_id),
        network_id: some(&observed.network_id),
        tenant_id_other: some(&observed.tenant_id_other),
        device_type: some(&observed.device_type),
        device_id: some(&observed.device_id),
        device_interface_id: some(&observed.device_interface_id),
        name: some(&observed.name),
        description: some(&observed.description),
        tags,
        name_other: some(&observed.name_other),
    }
}

/// Pure: the update that makes the connection's labels match the spec, if any.
pub(super) fn changes(
    spec: &TenantConnectionResourceSpec,
    current: &TenantConnectionRecord,
) -> Option<UpdateTenantConnection> {
    let current = labels::Current {
        name: &current.name,
        description: &current.description,
        tags: &current.tags,
    };
    let changes = labels::changes(
        spec.name.as_deref(),
        spec.description.as_deref(),
        &spec.tags,
        current,
    )?;
    Some(UpdateTenantConnection {
        name: changes.name,
        description: changes.description,
        tags: changes.tags,
    })
}

/// The API's `attachment_opts` for the spec's.
pub(super) fn attachment_body(opts: &AttachmentOpts) -> Value {
    let mut body = serde_json::Map::new();
    if !opts.fixed_ips.is_empty() {
        let ips: Vec<Value> = opts
            .fixed_ips
            .iter()
            .map(|ip| {
                let mut one = json!({"ip_address": ip.ip_address});
                if let Some(subnet) = &ip.subnet_id {
                    one["subnet_id"] = json!(subnet);
                }
                one
            })
            .collect();
        body.insert("fixed_ips".into(), Value::Array(ips));
    }
    if !opts.allowed_address_pairs.is_empty() {
        let pairs: Vec<Value> = opts
            .allowed_address_pairs
            .iter()
            .map(|pair| {
                let mut one = json!({"ip_address": pair.ip_address});
                if let Some(mac) = &pair.mac_address {
                    one["mac_address"] = json!(mac);
                }
                one
            })
            .collect();
        body.insert("allowed_address_pairs".into(), Value::Array(pairs));
    }
    if let Some(kind) = opts.segmentation_type {
        let kind = match kind {
            crate::api::tenant_connection::SegmentationType::Flat => "flat",
            crate::api::tenant_connection::SegmentationType::Vlan => "vlan",
        };
        body.insert("segmentation_type".into(), json!(kind));
    }
    if let Some(id) = opts.segmentation_id {
        body.insert("segmentation_id".into(), json!(id));
    }
    Value::Object(body)
}
