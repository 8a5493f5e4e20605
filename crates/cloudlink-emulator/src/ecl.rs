//! ECL provider-connectivity `tenant_connection_requests` (the ECL 2.0 API reference, eclsdk,
//! eclcloud and terraform-provider-ecl): CRUD, list filters, visibility to both tenants, the
//! requester / network-owner split on update, and the asynchronous lifecycle (kept in `state.rs`).
//!
//! Where the sources stop (exact error texts, what triggers 409, what the wrong side gets), the
//! choices are written next to the code that makes them.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::ecl_fields::{
    Changes, bad_request, check_sides, id_field, read_object, refuse_fixed, refuse_unknown,
    tags_field, text_field,
};
use crate::errors;
use crate::query::Query;
use crate::resources::{NewTcr, Tcr, TcrStatus};
use crate::state::World;

/// Shown in responses but fixed once created (TPE marks the first two ForceNew).
const FIXED_FIELDS: [&str; 6] = [
    "tenant_id_other",
    "network_id",
    "id",
    "tenant_id",
    "status",
    "approval_request_id",
];

const OBJECT: &str = "tenant_connection_request";

fn not_found(id: &str) -> Response {
    errors::cause(
        StatusCode::NOT_FOUND,
        &format!("Tenant Connection Request {id} not found."),
    )
}

/// Both tenants of a request see it: the one that made it and the network owner it was made to.
pub fn is_party(caller: &Caller, tcr: &Tcr) -> bool {
    tcr.tenant_id == caller.project_id || tcr.tenant_id_other == caller.project_id
}

fn visible<'a>(world: &'a World, caller: &Caller, id: &str) -> Option<&'a Tcr> {
    world.tcrs.get(id).filter(|tcr| is_party(caller, tcr))
}

fn wrap(tcr: &Tcr) -> Response {
    Json(json!({ "tenant_connection_request": tcr })).into_response()
}

/// `GET …/tenant_connection_requests`: exact-match filters on the documented query parameters; a
/// repeated parameter matches any of its values; other parameters are ignored.
pub async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    query: Query,
) -> Response {
    for status in query.values("status") {
        if !TcrStatus::ALL.iter().any(|s| s.as_str() == status) {
            return bad_request(&format!("Invalid value for status: '{status}'"));
        }
    }
    let world = app.world();
    let matches = |tcr: &Tcr| {
        query.admits("tenant_connection_request_id", &tcr.id)
            && query.admits("status", tcr.status.as_str())
            && query.admits("name", &tcr.name)
            && query.admits("tenant_id", &tcr.tenant_id)
            && query.admits("name_other", &tcr.name_other)
            && query.admits("tenant_id_other", &tcr.tenant_id_other)
            && query.admits("network_id", &tcr.network_id)
            && query.admits("approval_request_id", &tcr.approval_request_id)
    };
    let listed: Vec<&Tcr> = world
        .tcrs_in_order()
        .into_iter()
        .filter(|t| is_party(&caller, t) && matches(t))
        .collect();
    Json(json!({ "tenant_connection_requests": listed })).into_response()
}

/// `GET …/tenant_connection_requests/{id}`.
pub async fn show(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match visible(&app.world(), &caller, &id) {
        Some(tcr) => wrap(tcr),
        None => not_found(&id),
    }
}

/// `POST …/tenant_connection_requests`: 200 (not 201) with `status: creating` and an empty
/// `approval_request_id`, as the DOCS create page shows; `registering` and `registered` follow.
///
/// 409 (documented for create, trigger unknown): a request from the same tenant for the same
/// network and owner that is still live (creating … approved). That is the conflict the real
/// service most plausibly guards, and it makes a client that blindly retries a create whose
/// answer it lost see a 409 instead of silently getting a second request.
pub async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Response {
    let fields = match read_object(body, OBJECT).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let new = match new_tcr(&caller, &fields) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let mut world = app.world();
    let duplicate = world.tcrs_in_order().into_iter().find(|t| {
        t.tenant_id == new.tenant_id
            && t.tenant_id_other == new.tenant_id_other
            && t.network_id == new.network_id
            && t.status.is_live()
    });
    if let Some(existing) = duplicate {
        let message = format!(
            "Tenant Connection Request {} for network {} to tenant {} already exists.",
            existing.id, existing.network_id, existing.tenant_id_other
        );
        return errors::cause(StatusCode::CONFLICT, &message);
    }
    wrap(world.create_tcr(new, Instant::now()))
}

fn new_tcr(caller: &Caller, fields: &Map<String, Value>) -> Result<NewTcr, Response> {
    refuse_unknown(
        fields,
        &[
            "tenant_id_other",
            "network_id",
            "name",
            "description",
            "tags",
        ],
    )?;
    Ok(NewTcr {
        tenant_id: caller.project_id.clone(),
        requester_user_id: caller.user_id.clone(),
        tenant_id_other: id_field(fields, "tenant_id_other")?,
        network_id: id_field(fields, "network_id")?,
        name: text_field(fields, "name")?.unwrap_or_default(),
        description: text_field(fields, "description")?.unwrap_or_default(),
        tags: tags_field(fields, "tags")?.unwrap_or_default(),
    })
}

/// `PUT …/tenant_connection_requests/{id}`: only the fields sent change, each side its own
/// (`ecl_fields::check_sides`).
pub async fn update(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let fields = match read_object(body, OBJECT).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Err(response) = refuse_fixed(&fields, &FIXED_FIELDS) {
        return response;
    }
    let changes = match Changes::read(&fields) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let mut world = app.world();
    let Some(tcr) = world.tcrs.get_mut(&id).filter(|t| is_party(&caller, t)) else {
        return not_found(&id);
    };
    if let Err(response) = check_sides(&fields, &caller, &tcr.tenant_id, &tcr.tenant_id_other) {
        return response;
    }
    changes.apply(tcr.labels());
    wrap(tcr)
}

/// `DELETE …/tenant_connection_requests/{id}`: 204, then 404.
///
/// Decided where the sources are silent: only the requesting tenant deletes (the network owner
/// answers through SSS instead) and gets 403 otherwise; and 409 (documented for delete, trigger
/// unknown) while the asynchronous create is still running (`creating`, `registering`) and while
/// tenant connections made on it are not gone yet (research §3.5 infers this one: deleting the
/// request would pull the network from under attached devices).
pub async fn delete(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut world = app.world();
    let Some(tcr) = visible(&world, &caller, &id) else {
        return not_found(&id);
    };
    if tcr.tenant_id != caller.project_id {
        return errors::cause(
            StatusCode::FORBIDDEN,
            "Only the requesting tenant (tenant_id) can delete a request.",
        );
    }
    if matches!(tcr.status, TcrStatus::Creating | TcrStatus::Registering) {
        let message = format!(
            "Tenant Connection Request {id} cannot be deleted while its status is {}.",
            tcr.status.as_str()
        );
        return errors::cause(StatusCode::CONFLICT, &message);
    }
    let connections: Vec<&str> = world
        .tcs_in_order()
        .into_iter()
        .filter(|tc| tc.tenant_connection_request_id == id)
        .map(|tc| tc.id.as_str())
        .collect();
    if !connections.is_empty() {
        let message = format!(
            "Tenant Connection Request {id} cannot be deleted: it is used by tenant connection(s) {}.",
            connections.join(", ")
        );
        return errors::cause(StatusCode::CONFLICT, &message);
    }
    world.remove_tcr(&id);
    StatusCode::NO_CONTENT.into_response()
}

/// Any other path or method under provider-connectivity.
pub async fn unknown() -> Response {
    errors::cause(StatusCode::NOT_FOUND, "Not Found")
}
