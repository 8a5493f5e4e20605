//! The test-only admin API under `/_admin`: no authentication, loopback peers only.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /_admin/routes` | | route names (for faults and counters) |
//! | `GET /_admin/state` | | everything held, as JSON (no secrets) |
//! | `GET /_admin/counters` | | `{"route": {"200": n, "reset": n}}` |
//! | `DELETE /_admin/counters` | | 204 |
//! | `GET /_admin/faults` | | `{"pattern": FaultSpec}` |
//! | `PUT /_admin/faults/{pattern}` | FaultSpec (`faults.rs`) | 204; 400 for an unknown route or bad spec |
//! | `DELETE /_admin/faults/{pattern}` | | 204; 404 if none was set |
//! | `DELETE /_admin/faults` | | 204 |
//! | `PUT /_admin/nova-release` | `{"release": "pike"}` | 204 |
//! | `POST /_admin/tenant_connection_requests/{id}/{approve,deny,cancel}` | | 204; 404; 409 if not `registered` |
//! | `DELETE /_admin/tenant_connection_requests/{id}` | | 204; 404 (its tenant connections go too) |
//! | `DELETE /_admin/tenant_connections/{id}` | | 204; 404 |
//! | `DELETE /_admin/servers/{id}` | | 204; 404 |
//! | `DELETE /_admin/tokens` | | 204: every token issued so far stops working |
//! | `POST /_admin/reset` | | 204: resources, counters, faults and Nova release as at startup (tokens stay valid) |

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::body;
use crate::faults::FaultSpec;
use crate::nova_release::NovaRelease;
use crate::route;
use crate::sss;
use crate::state::{Decision, DecisionError};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/routes", get(list_routes))
        .route("/state", get(dump))
        .route("/counters", get(counters).delete(clear_counters))
        .route("/faults", get(faults).delete(clear_faults))
        .route("/faults/{pattern}", put(set_fault).delete(clear_fault))
        .route("/nova-release", put(set_nova_release))
        .route("/tenant_connection_requests/{id}/{decision}", post(decide))
        .route("/tenant_connection_requests/{id}", delete(delete_tcr))
        .route("/tenant_connections/{id}", delete(delete_tc))
        .route("/servers/{id}", delete(delete_server))
        .route("/tokens", delete(forget_tokens))
        .route("/reset", post(reset))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such admin endpoint") })
        .layer(axum::middleware::from_fn(loopback_only))
}

/// The admin API changes anything without a token: only this machine may use it, whatever
/// address the emulator listens on.
async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if peer.is_some_and(|ip| ip.is_loopback()) {
        next.run(request).await
    } else {
        error(
            StatusCode::FORBIDDEN,
            "the admin API answers loopback peers only",
        )
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn list_routes() -> Response {
    Json(json!({ "routes": route::ALL })).into_response()
}

async fn dump(State(app): State<App>) -> Response {
    let world = app.world();
    let state = json!({
        "base_url": app.base_url,
        "nova_release": world.nova_release,
        "identity": app.auth.describe(),
        "servers": world.vpn_servers(),
        "vpn_endpoints": world.vpn_endpoints,
        "tenant_connection_requests": world.tcrs_in_order(),
        "tenant_connections": world.tcs_in_order(),
        "approval_requests": world.approvals_in_order().into_iter().map(|a| sss::view(a, &app.region, None)).collect::<Vec<_>>(),
        "faults": app.faults.snapshot(),
        "counters": app.counters.snapshot(),
    });
    Json(state).into_response()
}

async fn counters(State(app): State<App>) -> Response {
    Json(app.counters.snapshot()).into_response()
}

async fn clear_counters(State(app): State<App>) -> Response {
    app.counters.clear();
    done()
}

async fn faults(State(app): State<App>) -> Response {
    Json(app.faults.snapshot()).into_response()
}

async fn clear_faults(State(app): State<App>) -> Response {
    app.faults.clear_all();
    done()
}

/// Parses an admin body into `T`, answering 400 with the reason.
async fn read<T: for<'de> Deserialize<'de>>(body: Body) -> Result<T, Response> {
    let value = match body::read_json(body).await {
        Ok(value) => value.unwrap_or(Value::Null),
        Err(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "the body must be JSON (at most 112 KiB)",
            ));
        }
    };
    serde_json::from_value(value).map_err(|e| error(StatusCode::BAD_REQUEST, &e.to_string()))
}

async fn set_fault(State(app): State<App>, Path(pattern): Path<String>, body: Body) -> Response {
    let spec: FaultSpec = match read(body).await {
        Ok(spec) => spec,
        Err(response) => return response,
    };
    match app.faults.set(&pattern, spec) {
        Ok(()) => done(),
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn clear_fault(State(app): State<App>, Path(pattern): Path<String>) -> Response {
    if app.faults.clear(&pattern) {
        done()
    } else {
        error(StatusCode::NOT_FOUND, "no fault is set for that pattern")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    release: NovaRelease,
}

async fn set_nova_release(State(app): State<App>, body: Body) -> Response {
    match read::<ReleaseRequest>(body).await {
        Ok(request) => {
            app.world().nova_release = request.release;
            done()
        }
        Err(response) => response,
    }
}

/// Decides a TCR's approval request as the party that may (owner approves or denies, requester
/// cancels), without a token.
async fn decide(State(app): State<App>, Path((id, decision)): Path<(String, String)>) -> Response {
    let decision = match decision.as_str() {
        "approve" => Decision::Approve,
        "deny" => Decision::Deny,
        "cancel" => Decision::Cancel,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "the decision must be approve, deny or cancel",
            );
        }
    };
    let mut world = app.world();
    let Some(tcr) = world.tcrs.get(&id) else {
        return error(StatusCode::NOT_FOUND, "no such tenant connection request");
    };
    let request_id = tcr.approval_request_id.clone();
    let status = tcr.status.as_str();
    match world.decide(&request_id, decision) {
        Ok(()) => done(),
        Err(DecisionError::NotFound) => error(
            StatusCode::CONFLICT,
            &format!("the request is {status}: it has no approval request yet"),
        ),
        Err(DecisionError::NotPending(approval)) => error(
            StatusCode::CONFLICT,
            &format!("the approval request is already {}", approval.as_str()),
        ),
    }
}

async fn delete_tcr(State(app): State<App>, Path(id): Path<String>) -> Response {
    if app.world().remove_tcr(&id) {
        done()
    } else {
        error(StatusCode::NOT_FOUND, "no such tenant connection request")
    }
}

async fn delete_tc(State(app): State<App>, Path(id): Path<String>) -> Response {
    if app.world().remove_tc(&id) {
        done()
    } else {
        error(StatusCode::NOT_FOUND, "no such tenant connection")
    }
}

async fn delete_server(State(app): State<App>, Path(id): Path<String>) -> Response {
    if app.world().remove_server(&id) {
        done()
    } else {
        error(StatusCode::NOT_FOUND, "no such server")
    }
}

async fn forget_tokens(State(app): State<App>) -> Response {
    app.auth.forget_tokens();
    done()
}

async fn reset(State(app): State<App>) -> Response {
    app.world().reset();
    app.counters.clear();
    app.faults.reset();
    done()
}
