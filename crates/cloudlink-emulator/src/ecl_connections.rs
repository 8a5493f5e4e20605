//! ECL provider-connectivity `tenant_connections` (eclcloud's `provider_connectivity/v2/
//! tenant_connections`, terraform-provider-ecl's `ecl_provider_connectivity_tenant_connection_v2`
//! and its recorded mock answers, eclsdk/eclcli `icc tenant-connection`): the requester attaches a
//! device of its own to the network of an approved tenant connection request.
//!
//! POST answers 200 with `creating` and `port_id: ""`; the connection turns `active` (with its
//! port) after `--tc-active-delay`. DELETE answers 204; the connection shows `deleting` for
//! `--tc-delete-delay`, then 404. Both tenants of the request see the connection and each labels
//! it on its own side, as on the request.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::ecl;
use crate::ecl_attachment;
use crate::ecl_fields::{
    Changes, bad_request, check_sides, id_field, read_object, refuse_fixed, refuse_unknown,
    tags_field, text_field,
};
use crate::errors;
use crate::query::Query;
use crate::resources::{DeviceType, NewTc, Tc, TcStatus, TcrStatus};
use crate::state::World;

const OBJECT: &str = "tenant_connection";

/// Shown in responses but fixed once created.
const FIXED_FIELDS: [&str; 11] = [
    "id",
    "tenant_connection_request_id",
    "tenant_id",
    "tenant_id_other",
    "network_id",
    "device_type",
    "device_id",
    "device_interface_id",
    "port_id",
    "status",
    "attachment_opts",
];

fn not_found(id: &str) -> Response {
    errors::cause(
        StatusCode::NOT_FOUND,
        &format!("Tenant Connection {id} not found."),
    )
}

fn is_party(caller: &Caller, tc: &Tc) -> bool {
    tc.tenant_id == caller.project_id || tc.tenant_id_other == caller.project_id
}

fn visible<'a>(world: &'a World, caller: &Caller, id: &str) -> Option<&'a Tc> {
    world.tcs.get(id).filter(|tc| is_party(caller, tc))
}

/// The API object: the sixteen keys of eclcloud's `TenantConnection`. `attachment_opts` is not
/// among them (no recorded answer carries it; the admin dump shows it).
///
/// `fresh_create`: the create answer for a baremetal server or a vSRX carries `tags_other` as the
/// *string* `"{}"` (eclcloud's fixtures and TPE's recorded answers; eclcloud types the field
/// `interface{}` for this reason), later reads an object.
pub fn view(tc: &Tc, fresh_create: bool) -> Value {
    let mut object = serde_json::to_value(tc).unwrap_or(Value::Null);
    if let Some(fields) = object.as_object_mut() {
        fields.remove("attachment_opts");
        if fresh_create && tc.device_type != DeviceType::ComputeServer {
            fields.insert("tags_other".into(), Value::String("{}".into()));
        }
    }
    object
}

fn wrap(tc: &Tc) -> Response {
    Json(json!({ OBJECT: view(tc, false) })).into_response()
}

/// `GET …/tenant_connections`: exact-match filters on eclcloud's `ListOpts` (and eclsdk's
/// `tenant_connection_id`); a repeated parameter matches any of its values.
pub async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    query: Query,
) -> Response {
    for status in query.values("status") {
        if !TcStatus::ALL.iter().any(|s| s.as_str() == status) {
            return bad_request(&format!("Invalid value for status: '{status}'"));
        }
    }
    let world = app.world();
    let matches = |tc: &Tc| {
        query.admits("tenant_connection_id", &tc.id)
            && query.admits(
                "tenant_connection_request_id",
                &tc.tenant_connection_request_id,
            )
            && query.admits("status", tc.status.as_str())
            && query.admits("name", &tc.name)
            && query.admits("tenant_id", &tc.tenant_id)
            && query.admits("name_other", &tc.name_other)
            && query.admits("tenant_id_other", &tc.tenant_id_other)
            && query.admits("network_id", &tc.network_id)
            && query.admits("device_type", tc.device_type.as_str())
            && query.admits("device_id", &tc.device_id)
            && query.admits("device_interface_id", &tc.device_interface_id)
            && query.admits("port_id", &tc.port_id)
    };
    let listed: Vec<Value> = world
        .tcs_in_order()
        .into_iter()
        .filter(|tc| is_party(&caller, tc) && matches(tc))
        .map(|tc| view(tc, false))
        .collect();
    Json(json!({ "tenant_connections": listed })).into_response()
}

/// `GET …/tenant_connections/{id}`.
pub async fn show(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match visible(&app.world(), &caller, &id) {
        Some(tc) => wrap(tc),
        None => not_found(&id),
    }
}

/// `POST …/tenant_connections`: 200 with `creating`.
///
/// The request named must exist and be visible to the caller (404 otherwise, as Neutron answers
/// for a network named in a port's body), be the caller's own (403: the network owner approves,
/// the requester attaches its devices), and be `approved`: any other status is refused with 409
/// and a message naming it. The sources document no error for this; 409 is what the emulator
/// answers for every other "not in a state for this" (a TCR delete while `creating`, an SSS
/// decision on a request already decided), and the body is well-formed, so 400 would mislead.
pub async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Response {
    let fields = match read_object(body, OBJECT).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let mut world = app.world();
    let new = match new_tc(&world, &caller, &fields) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let tc = world.create_tc(new, Instant::now());
    Json(json!({ OBJECT: view(tc, true) })).into_response()
}

fn new_tc(world: &World, caller: &Caller, fields: &Map<String, Value>) -> Result<NewTc, Response> {
    refuse_unknown(
        fields,
        &[
            "tenant_connection_request_id",
            "device_type",
            "device_id",
            "device_interface_id",
            "attachment_opts",
            "name",
            "description",
            "tags",
        ],
    )?;
    let request_id = id_field(fields, "tenant_connection_request_id")?;
    let device_type = ecl_attachment::device_type(fields)?;
    let device_id = id_field(fields, "device_id")?;
    let device_interface_id = ecl_attachment::device_interface_id(fields, device_type)?;
    let attachment_opts = ecl_attachment::attachment_opts(fields, device_type)?;
    let name = text_field(fields, "name")?.unwrap_or_default();
    let description = text_field(fields, "description")?.unwrap_or_default();
    let tags = tags_field(fields, "tags")?.unwrap_or_default();

    let Some(tcr) = world
        .tcrs
        .get(&request_id)
        .filter(|t| ecl::is_party(caller, t))
    else {
        return Err(errors::cause(
            StatusCode::NOT_FOUND,
            &format!("Tenant Connection Request {request_id} not found."),
        ));
    };
    if tcr.tenant_id != caller.project_id {
        return Err(errors::cause(
            StatusCode::FORBIDDEN,
            "Only the requesting tenant (tenant_id) of the tenant connection request can create a tenant connection.",
        ));
    }
    if tcr.status != TcrStatus::Approved {
        return Err(errors::cause(
            StatusCode::CONFLICT,
            &format!(
                "Tenant Connection Request {request_id} is {}; a tenant connection needs an approved request.",
                tcr.status.as_str()
            ),
        ));
    }
    Ok(NewTc {
        tenant_connection_request_id: request_id,
        tenant_id: tcr.tenant_id.clone(),
        tenant_id_other: tcr.tenant_id_other.clone(),
        network_id: tcr.network_id.clone(),
        name,
        description,
        tags,
        device_type,
        device_id,
        device_interface_id,
        attachment_opts,
    })
}

/// `PUT …/tenant_connections/{id}`: 200 with the whole connection; only the fields sent change,
/// each side its own (`ecl_fields::check_sides`). A connection being deleted is refused with 409.
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
    let Some(tc) = world.tcs.get_mut(&id).filter(|tc| is_party(&caller, tc)) else {
        return not_found(&id);
    };
    if let Err(response) = check_sides(&fields, &caller, &tc.tenant_id, &tc.tenant_id_other) {
        return response;
    }
    if tc.status == TcStatus::Deleting {
        return errors::cause(
            StatusCode::CONFLICT,
            &format!("Tenant Connection {id} is being deleted."),
        );
    }
    changes.apply(tc.labels());
    wrap(tc)
}

/// `DELETE …/tenant_connections/{id}`: 204; `deleting`, then 404.
///
/// As for requests, only the requesting tenant deletes (403 for the network owner), and not while
/// the asynchronous create runs (409 while `creating`). A second delete of a connection already
/// `deleting` answers 204 again and changes nothing.
pub async fn delete(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut world = app.world();
    let Some(tc) = visible(&world, &caller, &id) else {
        return not_found(&id);
    };
    if tc.tenant_id != caller.project_id {
        return errors::cause(
            StatusCode::FORBIDDEN,
            "Only the requesting tenant (tenant_id) can delete a tenant connection.",
        );
    }
    if tc.status == TcStatus::Creating {
        return errors::cause(
            StatusCode::CONFLICT,
            &format!("Tenant Connection {id} cannot be deleted while its status is creating."),
        );
    }
    world.delete_tc(&id, Instant::now());
    StatusCode::NO_CONTENT.into_response()
}
