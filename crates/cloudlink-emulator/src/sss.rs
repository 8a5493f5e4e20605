//! SSS approval requests (eclcloud's `sss/v1/approval_requests` and terraform-provider-ecl's
//! `ecl_sss_approval_request_v1`), served under both the v1 (`sss`) and the v2
//! (`sssv2`) catalog paths with the same shape: list, show (a bare object) and the decision PUT.
//!
//! The network owner approves or denies, the requester cancels, and only while the request is
//! `registered`; the TCR follows. The sources give only the success codes: a decision by the wrong
//! tenant is refused with 403, one on a request no longer pending with 409.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use crate::app::App;
use crate::body::{self, BodyError};
use crate::caller::Caller;
use crate::errors::{self, Service};
use crate::query::Query;
use crate::resources::Approval;
use crate::state::{Decision, DecisionError};
use crate::timefmt;

fn is_party(caller: &Caller, approval: &Approval) -> bool {
    approval.approver_tenant == caller.project_id || approval.requester_tenant == caller.project_id
}

fn not_found(id: &str) -> Response {
    errors::cause(
        StatusCode::NOT_FOUND,
        &format!("Approval request {id} not found."),
    )
}

/// The API object (eclcloud's `ApprovalRequest`). `request_user` / `approver` say which side the
/// caller's tenant is on; the admin dump passes no caller. `external_request_id` holding the TCR id
/// is inferred: no source says what links an approval request to its TCR.
pub fn view(approval: &Approval, region: &str, caller_project: Option<&str>) -> Value {
    json!({
        "request_id": approval.request_id,
        "external_request_id": approval.tcr_id,
        "approver_type": "tenant_owner",
        "approver_id": approval.approver_tenant,
        "request_user_id": approval.request_user_id,
        "service": "provider-connectivity",
        "actions": [{
            "service": "provider-connectivity", "region": region,
            "api_path": "/v2.0/tenant_connection_requests", "method": "POST",
            "body": {"tenant_connection_request": {
                "tenant_id_other": approval.approver_tenant, "network_id": approval.network_id,
            }},
        }],
        "descriptions": [{"lang": "en", "text": "tenant connection request"}],
        "request_user": caller_project == Some(approval.requester_tenant.as_str()),
        "approver": caller_project == Some(approval.approver_tenant.as_str()),
        "approval_deadline": timefmt::sss(approval.deadline),
        "approval_expire": null,
        "registered_time": timefmt::sss(approval.registered),
        "updated_time": approval.updated.map(timefmt::sss),
        "status": approval.status.as_str(),
    })
}

/// `GET {sss}/approval-requests[?status=…&service=…]`.
pub async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    query: Query,
) -> Response {
    let world = app.world();
    let listed: Vec<Value> = world
        .approvals_in_order()
        .into_iter()
        .filter(|a| {
            is_party(&caller, a)
                && query.admits("status", a.status.as_str())
                && query.admits("service", "provider-connectivity")
        })
        .map(|a| view(a, &app.region, Some(&caller.project_id)))
        .collect();
    Json(json!({ "approval_requests": listed })).into_response()
}

/// `GET {sss}/approval-requests/{id}`: the object itself, not wrapped in a key.
pub async fn show(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let world = app.world();
    match world.approvals.get(&id).filter(|a| is_party(&caller, a)) {
        Some(approval) => {
            Json(view(approval, &app.region, Some(&caller.project_id))).into_response()
        }
        None => not_found(&id),
    }
}

/// `PUT {sss}/approval-requests/{id}` with `{"status": "approved" | "denied" | "cancelled"}`: 204.
pub async fn update(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let request = match body::read_json(body).await {
        Ok(request) => request.unwrap_or(Value::Null),
        Err(BodyError::TooLarge) => return errors::too_large(Service::Sss),
        Err(BodyError::Malformed) => {
            return errors::cause(StatusCode::BAD_REQUEST, "Malformed request body");
        }
    };
    let decision = match request.get("status").and_then(Value::as_str) {
        Some("approved") => Decision::Approve,
        Some("denied") => Decision::Deny,
        Some("cancelled") => Decision::Cancel,
        _ => {
            return errors::cause(
                StatusCode::BAD_REQUEST,
                "'status' must be one of approved, denied, cancelled.",
            );
        }
    };
    let mut world = app.world();
    let Some(approval) = world.approvals.get(&id).filter(|a| is_party(&caller, a)) else {
        return not_found(&id);
    };
    let (allowed_tenant, who) = match decision {
        Decision::Approve | Decision::Deny => (
            &approval.approver_tenant,
            "the approver (the network owner tenant)",
        ),
        Decision::Cancel => (&approval.requester_tenant, "the requesting tenant"),
    };
    if *allowed_tenant != caller.project_id {
        let status = request["status"].as_str().unwrap_or_default();
        return errors::cause(
            StatusCode::FORBIDDEN,
            &format!("Only {who} can set status {status}."),
        );
    }
    match world.decide(&id, decision) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(DecisionError::NotFound) => not_found(&id),
        Err(DecisionError::NotPending(status)) => {
            let message = format!(
                "Approval request {id} is {}; only a registered request can be changed.",
                status.as_str()
            );
            errors::cause(StatusCode::CONFLICT, &message)
        }
    }
}

/// Any other path or method under SSS.
pub async fn unknown() -> Response {
    errors::cause(StatusCode::NOT_FOUND, "Not Found")
}
