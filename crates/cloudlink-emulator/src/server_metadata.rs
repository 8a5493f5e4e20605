//! Nova's server metadata API (`servers/{id}/metadata`), as Ocata has it: list, show, set
//! (merge), replace all, set one item, delete one item. Changing metadata needs a settled server
//! (`vm_state` active and no task running: `compute/api.py`'s `check_instance_state`), otherwise
//! 409; cloudlink marks the VPN servers it owns here.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::errors;
use crate::nova::{PathParams, param, read_body, read_server, server_id, visible_server_mut};
use crate::nova_validation;
use crate::resources::{Server, VmState};

/// Nova's default `metadata_items` quota per server (over it: 403 `MetadataLimitExceeded`).
const MAX_ITEMS: usize = 128;

/// `GET servers/{id}/metadata`.
pub async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    read_server(&app, &caller, &params, |server| {
        Json(json!({ "metadata": server.metadata })).into_response()
    })
}

/// `GET servers/{id}/metadata/{key}`.
pub async fn show(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    let key = param(&params, "key");
    read_server(&app, &caller, &params, |server| {
        match server.metadata.get(key) {
            Some(value) => Json(json!({ "meta": { key: value } })).into_response(),
            None => item_not_found(),
        }
    })
}

/// `POST servers/{id}/metadata`: sets the given items, keeps the others; answers with them all.
pub async fn merge(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
    body: Body,
) -> Response {
    set_all(&app, &caller, &params, body, true).await
}

/// `PUT servers/{id}/metadata`: replaces all items; answers with them.
pub async fn replace(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
    body: Body,
) -> Response {
    set_all(&app, &caller, &params, body, false).await
}

/// `{"metadata": {...}}` sets these items, after the others are dropped unless `keep_others`.
async fn set_all(
    app: &App,
    caller: &Caller,
    params: &PathParams,
    body: Body,
    keep_others: bool,
) -> Response {
    change(app, caller, params, body, "metadata", |metadata, items| {
        if !keep_others {
            metadata.clear();
        }
        metadata.extend(items);
        Ok(json!({ "metadata": metadata }))
    })
    .await
}

/// `PUT servers/{id}/metadata/{key}` with `{"meta": {key: value}}`: sets one item.
pub async fn set_item(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
    body: Body,
) -> Response {
    let key = param(&params, "key").to_owned();
    change(
        &app,
        &caller,
        &params,
        body,
        "meta",
        move |metadata, item| {
            if !item.contains_key(&key) {
                return Err(errors::nova(
                    StatusCode::BAD_REQUEST,
                    "Request body and URI mismatch",
                ));
            }
            metadata.extend(item.clone());
            Ok(json!({ "meta": item }))
        },
    )
    .await
}

/// `DELETE servers/{id}/metadata/{key}`: 204.
pub async fn delete_item(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    let id = match server_id(&caller, &params) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let key = param(&params, "key");
    let mut world = app.world();
    let server = match visible_server_mut(&mut world, &caller, id) {
        Ok(server) => server,
        Err(response) => return response,
    };
    if !server.metadata.contains_key(key) {
        return item_not_found();
    }
    if let Some(response) = unsettled(server, "delete metadata") {
        return response;
    }
    server.metadata.remove(key);
    StatusCode::NO_CONTENT.into_response()
}

fn item_not_found() -> Response {
    errors::nova(StatusCode::NOT_FOUND, "Metadata item was not found")
}

/// The body is validated first (Nova's schema decorator), then the server is looked up, then its
/// state checked, then the quota.
async fn change(
    app: &App,
    caller: &Caller,
    params: &PathParams,
    body: Body,
    field: &str,
    apply: impl FnOnce(
        &mut BTreeMap<String, String>,
        BTreeMap<String, String>,
    ) -> Result<Value, Response>,
) -> Response {
    let request = match read_body(body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let id = match server_id(caller, params) {
        Ok(id) => id,
        Err(response) => return response,
    };
    if let Err(message) = nova_validation::validate_metadata(&request, field, field == "meta") {
        return errors::nova(StatusCode::BAD_REQUEST, &message);
    }
    let items: BTreeMap<String, String> = request[field]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut world = app.world();
    let server = match visible_server_mut(&mut world, caller, id) {
        Ok(server) => server,
        Err(response) => return response,
    };
    if let Some(response) = unsettled(server, "update metadata") {
        return response;
    }
    let mut metadata = server.metadata.clone();
    let answer = match apply(&mut metadata, items) {
        Ok(answer) => answer,
        Err(response) => return response,
    };
    if metadata.len() > MAX_ITEMS {
        return errors::nova(
            StatusCode::FORBIDDEN,
            &format!("Maximum number of metadata items exceeds {MAX_ITEMS}"),
        );
    }
    server.metadata = metadata;
    Json(answer).into_response()
}

/// Nova's `raise_http_conflict_for_instance_invalid_state`.
fn unsettled(server: &Server, action: &str) -> Option<Response> {
    let (attr, state) = match (server.vm_state, server.task_state) {
        (VmState::Building, _) => ("vm_state", "building"),
        (_, Some(task)) => ("task_state", task),
        _ => return None,
    };
    let message = format!(
        "Cannot '{action}' instance {} while it is in {attr} {state}",
        server.id
    );
    Some(errors::nova(StatusCode::CONFLICT, &message))
}
