//! What a request's cloud state means: its phase, the `Approved` condition, and its view in
//! `status.resource`. Pure.

use super::{APPROVAL_POLL, ObservedRequest, REGISTER_POLL};
use crate::api::tenant_connection_request::{APPROVED, TenantConnectionRequestResourceStatus};
use crate::engine::conditions::Desired;
use crate::engine::outcome::{Phase, Reason};
use cloudlink_cloud::ecl;

/// Pure: Ready follows the requester's part (registration); Approved follows the owner's decision.
pub(super) fn phase(observed: &ObservedRequest) -> (Phase, Desired) {
    let request = &observed.request;
    let (id, other) = (&request.id, &request.tenant_id_other);
    let approval_id = request.approval_request_id.as_deref().unwrap_or_default();
    let approval_status = observed.approval.as_ref().map(|a| a.status.as_str());
    let waiting =
        |message: String| Desired::new(APPROVED, false, Reason::AwaitingApproval, message);
    match request.status.as_str() {
        "creating" | "registering" => (
            Phase::progressing(
                Reason::Progressing,
                format!("request {id} is {}", request.status),
                REGISTER_POLL,
            ),
            // No approval request exists before registration: nothing to ask the owner yet.
            Desired::new(
                APPROVED,
                false,
                Reason::Progressing,
                format!("request {id} is not registered yet"),
            ),
        ),
        "registered" if matches!(approval_status, Some("expired" | "approval_expired")) => {
            let message = format!(
                "approval request {approval_id} expired before tenant {other} decided; delete this object and create it again to ask again"
            );
            (
                Phase::stalled(Reason::UnrecoverableError, message.clone()),
                Desired::new(APPROVED, false, Reason::UnrecoverableError, message),
            )
        }
        "registered" => (
            Phase::ready_rechecked_after(format!("request {id} is registered"), APPROVAL_POLL),
            waiting(format!(
                "waiting for tenant {other} to approve approval request {approval_id}"
            )),
        ),
        "approved" => (
            Phase::ready(format!("request {id} is approved")),
            Desired::new(
                APPROVED,
                true,
                Reason::Success,
                format!("tenant {other} approved approval request {approval_id}"),
            ),
        ),
        "denied" | "cancelled" | "unavailable" => {
            let message = match request.status.as_str() {
                "denied" => format!(
                    "tenant {other} denied approval request {approval_id}; delete this object and create it again to ask again"
                ),
                "cancelled" => format!(
                    "approval request {approval_id} was cancelled; delete this object and create it again to ask again"
                ),
                _ => format!(
                    "request {id} is unavailable in the cloud; delete this object and create it again"
                ),
            };
            (
                Phase::stalled(Reason::UnrecoverableError, message.clone()),
                Desired::new(APPROVED, false, Reason::UnrecoverableError, message),
            )
        }
        other_status => (
            Phase::progressing(
                Reason::Progressing,
                format!("request {id} is {other_status}"),
                APPROVAL_POLL,
            ),
            waiting(format!("request {id} is {other_status}")),
        ),
    }
}

pub(super) fn view(
    request: &ecl::TenantConnectionRequestRecord,
) -> TenantConnectionRequestResourceStatus {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let tags = super::labels::without_marks(&request.tags);
    TenantConnectionRequestResourceStatus {
        status: some(&request.status),
        approval_request_id: request.approval_request_id.as_deref().and_then(some),
        tenant_id: some(&request.tenant_id),
        name: some(&request.name),
        description: some(&request.description),
        tags,
        name_other: some(&request.name_other),
        description_other: some(&request.description_other),
        tags_other: request.tags_other.clone(),
        tenant_id_other: some(&request.tenant_id_other),
        network_id: some(&request.network_id),
    }
}
