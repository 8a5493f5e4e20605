//! What an approval request's state means for the owner's object. Pure.

use std::time::Duration;

use super::ObservedApproval;
use crate::api::tenant_connection_approval::{Decision, TenantConnectionApprovalResourceStatus};
use crate::engine::outcome::{Phase, Reason};

/// A decision just sent shows within seconds.
const DECIDING_POLL: Duration = crate::engine::schedule::IN_FLIGHT_POLL;

/// Ready once SSS shows the decision the spec asks for; Stalled when SSS will never show it (the
/// request was decided otherwise, cancelled or expired). `wanted` is `None` for an unmanaged
/// object, which only observes.
pub(super) fn phase(wanted: Option<Decision>, observed: &ObservedApproval) -> Phase {
    let approval = &observed.approval;
    let id = &approval.request_id;
    let status = approval.status.as_str();
    let Some(wanted) = wanted else {
        return Phase::ready(format!("approval request {id} is {status}"));
    };
    match status {
        s if s == wanted.as_status() => Phase::ready(format!("approval request {id} is {s}")),
        "registered" => Phase::progressing(
            Reason::Progressing,
            format!("deciding approval request {id}: {}", wanted.as_status()),
            DECIDING_POLL,
        ),
        "approved" | "denied" => Phase::stalled(
            Reason::UnrecoverableError,
            format!(
                "approval request {id} is already {status}, not {}: SSS cannot change a decision. Delete this object; the requester may ask again with a new request",
                wanted.as_status()
            ),
        ),
        "cancelled" => Phase::stalled(
            Reason::UnrecoverableError,
            format!(
                "approval request {id} was cancelled by the requester: nothing is left to decide. Delete this object"
            ),
        ),
        "expired" | "approval_expired" => Phase::stalled(
            Reason::UnrecoverableError,
            format!(
                "approval request {id} expired{} before a decision: the requester must ask again with a new request. Delete this object",
                approval
                    .approval_deadline
                    .as_deref()
                    .map(|d| format!(" at {d}"))
                    .unwrap_or_default()
            ),
        ),
        other => Phase::stalled(
            Reason::UnrecoverableError,
            format!("approval request {id} is {other}, which cloudlink cannot decide"),
        ),
    }
}

pub(super) fn view(observed: &ObservedApproval) -> TenantConnectionApprovalResourceStatus {
    let approval = &observed.approval;
    let request = observed.request.as_ref();
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    TenantConnectionApprovalResourceStatus {
        status: some(&approval.status),
        tenant_connection_request_id: request
            .map(|r| r.id.clone())
            .or_else(|| approval.external_request_id.clone())
            .filter(|id| !id.is_empty()),
        tenant_connection_request_status: request.and_then(|r| some(&r.status)),
        requester_tenant_id: request.and_then(|r| some(&r.tenant_id)),
        network_id: request
            .and_then(|r| some(&r.network_id))
            .or_else(|| super::network_requested(approval)),
        approval_deadline: approval.approval_deadline.clone(),
    }
}
