//! ECL provider-connectivity `tenant_connection_requests` (the ECL 2.0 API reference, eclsdk,
//! eclcloud and terraform-provider-ecl): CRUD, list filters, visibility to both tenants, the
//! requester / network-owner split on update, and the asynchronous lifecycle (kept in `state.rs`).
//!
//! Where the sources stop (exact error texts, what triggers 409, what the wrong side gets), the
//! choices are written next to the code that makes them.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::body::{self, BodyError};
use crate::caller::Caller;
use crate::errors::{self, Service};
use crate::query::Query;
use crate::resources::{NewTcr, Tcr, TcrStatus};
use crate::state::World;

const MAX_TEXT: usize = 255;

const REQUESTER_FIELDS: [&str; 3] = ["name", "description", "tags"];
const OWNER_FIELDS: [&str; 3] = ["name_other", "description_other", "tags_other"];
/// Shown in responses but fixed once created (TPE marks the first two ForceNew).
const FIXED_FIELDS: [&str; 6] = [
    "tenant_id_other",
    "network_id",
    "id",
    "tenant_id",
    "status",
    "approval_request_id",
];

fn bad_request(message: &str) -> Response {
    errors::cause(StatusCode::BAD_REQUEST, message)
}

fn not_found(id: &str) -> Response {
    errors::cause(
        StatusCode::NOT_FOUND,
        &format!("Tenant Connection Request {id} not found."),
    )
}

/// Both tenants of a request see it: the one that made it and the network owner it was made to.
fn is_party(caller: &Caller, tcr: &Tcr) -> bool {
    tcr.tenant_id == caller.project_id || tcr.tenant_id_other == caller.project_id
}

fn visible<'a>(world: &'a World, caller: &Caller, id: &str) -> Option<&'a Tcr> {
    world.tcrs.get(id).filter(|tcr| is_party(caller, tcr))
}

fn wrap(tcr: &Tcr) -> Response {
    Json(json!({ "tenant_connection_request": tcr })).into_response()
}

/// The `tenant_connection_request` object of a create or update body.
async fn read_request(body: Body) -> Result<Map<String, Value>, Response> {
    let request = match body::read_json(body).await {
        Ok(request) => request.unwrap_or(Value::Null),
        Err(BodyError::TooLarge) => return Err(errors::too_large(Service::Ecl)),
        Err(BodyError::Malformed) => return Err(bad_request("Malformed request body")),
    };
    match request.get("tenant_connection_request") {
        Some(Value::Object(fields)) => Ok(fields.clone()),
        _ => Err(bad_request(
            "Invalid request body: a 'tenant_connection_request' object is required.",
        )),
    }
}

/// Unknown keys are refused rather than ignored, Neutron-style: a client sending a misspelt field
/// should find out here, not in production.
fn refuse_unknown(fields: &Map<String, Value>, known: &[&str]) -> Result<(), Response> {
    let unknown: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(bad_request(&format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        )))
    }
}

fn text_field(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, Response> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::String(text)) if text.chars().count() <= MAX_TEXT => Ok(Some(text.clone())),
        Some(_) => Err(bad_request(&format!(
            "Invalid input for {key}: must be a string of at most {MAX_TEXT} characters."
        ))),
    }
}

fn id_field(fields: &Map<String, Value>, key: &str) -> Result<String, Response> {
    match text_field(fields, key)? {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(bad_request(&format!(
            "Invalid input for {key}: it is required and must not be empty."
        ))),
    }
}

/// Tags are a string-to-string map (eclcloud types them `map[string]string`).
fn tags_field(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Option<BTreeMap<String, String>>, Response> {
    let Some(value) = fields.get(key) else {
        return Ok(None);
    };
    let invalid = || {
        bad_request(&format!(
            "Invalid input for {key}: must be an object whose values are strings."
        ))
    };
    let object = value.as_object().ok_or_else(invalid)?;
    object
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|v| (k.clone(), v.to_owned()))
                .ok_or_else(invalid)
        })
        .collect::<Result<_, _>>()
        .map(Some)
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
    let fields = match read_request(body).await {
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

/// `PUT …/tenant_connection_requests/{id}`: only the fields sent change (`""` and `{}` clear).
/// The requester may change name/description/tags, the network owner the `*_other` fields; a
/// field of the other side is refused with 403 (the DOCS say who "can update", not what the
/// other side gets).
pub async fn update(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let fields = match read_request(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Some(fixed) = fields.keys().find(|k| FIXED_FIELDS.contains(&k.as_str())) {
        return bad_request(&format!("Attribute '{fixed}' cannot be updated."));
    }
    let known: Vec<&str> = REQUESTER_FIELDS
        .iter()
        .chain(OWNER_FIELDS.iter())
        .copied()
        .collect();
    if let Err(response) = refuse_unknown(&fields, &known) {
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
    for (side_fields, side_tenant, side) in [
        (
            &REQUESTER_FIELDS,
            &tcr.tenant_id,
            "the requesting tenant (tenant_id)",
        ),
        (
            &OWNER_FIELDS,
            &tcr.tenant_id_other,
            "the network owner tenant (tenant_id_other)",
        ),
    ] {
        if let Some(field) = side_fields.iter().find(|f| fields.contains_key(**f))
            && *side_tenant != caller.project_id
        {
            return errors::cause(
                StatusCode::FORBIDDEN,
                &format!("Only {side} can update {field}."),
            );
        }
    }
    changes.apply(tcr);
    wrap(tcr)
}

/// The update's new values, checked before anything is touched.
struct Changes {
    name: Option<String>,
    description: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    name_other: Option<String>,
    description_other: Option<String>,
    tags_other: Option<BTreeMap<String, String>>,
}

impl Changes {
    fn read(fields: &Map<String, Value>) -> Result<Changes, Response> {
        Ok(Changes {
            name: text_field(fields, "name")?,
            description: text_field(fields, "description")?,
            tags: tags_field(fields, "tags")?,
            name_other: text_field(fields, "name_other")?,
            description_other: text_field(fields, "description_other")?,
            tags_other: tags_field(fields, "tags_other")?,
        })
    }

    fn apply(self, tcr: &mut Tcr) {
        fn set<T>(target: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *target = value;
            }
        }
        set(&mut tcr.name, self.name);
        set(&mut tcr.description, self.description);
        set(&mut tcr.tags, self.tags);
        set(&mut tcr.name_other, self.name_other);
        set(&mut tcr.description_other, self.description_other);
        set(&mut tcr.tags_other, self.tags_other);
    }
}

/// `DELETE …/tenant_connection_requests/{id}`: 204, then 404.
///
/// Decided where the sources are silent: only the requesting tenant deletes (the network owner
/// answers through SSS instead) and gets 403 otherwise; and 409 (documented for delete, trigger
/// unknown) while the asynchronous create is still running (`creating`, `registering`).
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
    world.remove_tcr(&id);
    StatusCode::NO_CONTENT.into_response()
}

/// Any other path or method under provider-connectivity.
pub async fn unknown() -> Response {
    errors::cause(StatusCode::NOT_FOUND, "Not Found")
}
