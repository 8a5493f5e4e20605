//! Nova's compute API v2.1, as far as cloudpipes need it (Nova 15.0.0's code, api-ref and API
//! samples): what its handlers share (the project in the URL, the body, the servers a caller may
//! see), the version documents, and the answer to anything unknown. The handlers are in
//! `nova_cloudpipe.rs` (os-cloudpipe with Ocata semantics; from Pike on, the 410 stubs that
//! replaced it), `nova_servers.rs` (the VPN servers it launches) and `server_metadata.rs`;
//! microversions and request ids in `nova_framing.rs`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::body::{self, BodyError};
use crate::caller::Caller;
use crate::errors::{self, Service};
use crate::nova_release::NovaRelease;
use crate::resources::Server;
use crate::state::World;

// ----- version documents (no token needed: clients discover before they call)

fn v21_version(base: &str, release: NovaRelease) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT", "version": format!("2.{}", release.max_minor()), "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/compute/v2.1/")}],
    })
}

/// `GET /compute/`: the list of API versions.
pub async fn versions(State(app): State<App>) -> Response {
    let release = app.world().nova_release;
    let v20 = json!({
        "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2/", app.base_url)}],
    });
    Json(json!({"versions": [v20, v21_version(&app.base_url, release)]})).into_response()
}

/// `GET /compute/v2.1[/{project_id}]`: novaclient reads the supported range from here.
pub async fn version(State(app): State<App>) -> Response {
    let release = app.world().nova_release;
    let mut version = v21_version(&app.base_url, release);
    version["media-types"] = json!([{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]);
    Json(json!({ "version": version })).into_response()
}

// ----- what the handlers share

pub type PathParams = HashMap<String, String>;

/// A path parameter; absent is empty.
pub fn param<'a>(params: &'a PathParams, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

/// Nova's `ProjectMapper`: a project id in the URL must look like one (`[0-9a-f-]+`, otherwise no
/// route matches) and must be the token's project.
pub fn check_url_project(caller: &Caller, params: Option<&PathParams>) -> Result<(), Response> {
    let Some(url_project) = params.and_then(|p| p.get("project_id")) else {
        return Ok(());
    };
    if !url_project
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
    {
        return Err(errors::nova_no_such_resource());
    }
    if *url_project != caller.project_id {
        let message = format!(
            "Malformed request URL: URL's project_id '{url_project}' doesn't match Context's project_id '{}'",
            caller.project_id
        );
        return Err(errors::nova(StatusCode::BAD_REQUEST, &message));
    }
    Ok(())
}

/// Nova reads the body before anything else; an empty one reaches the schema as `None`.
pub async fn read_body(body: Body) -> Result<Value, Response> {
    match body::read_json(body).await {
        Ok(value) => Ok(value.unwrap_or(Value::Null)),
        Err(BodyError::TooLarge) => Err(errors::too_large(Service::Nova)),
        Err(BodyError::Malformed) => Err(errors::nova(
            StatusCode::BAD_REQUEST,
            "Malformed request body",
        )),
    }
}

/// The path's `server_id`, once the URL's project is checked.
pub fn server_id<'a>(caller: &Caller, params: &'a PathParams) -> Result<&'a str, Response> {
    check_url_project(caller, Some(params))?;
    Ok(param(params, "server_id"))
}

/// An admin sees every server, others their project's (Nova's `project_only` lookup answers 404
/// for the rest).
fn may_see(caller: &Caller, server: &Server) -> bool {
    caller.is_admin() || server.project_id == caller.project_id
}

/// The server `id` names if the caller may see it; otherwise Nova's 404.
pub fn visible_server<'a>(
    world: &'a World,
    caller: &Caller,
    id: &str,
) -> Result<&'a Server, Response> {
    world
        .servers
        .get(id)
        .filter(|s| may_see(caller, s))
        .ok_or_else(|| instance_not_found(id))
}

/// [`visible_server`], to change it.
pub fn visible_server_mut<'a>(
    world: &'a mut World,
    caller: &Caller,
    id: &str,
) -> Result<&'a mut Server, Response> {
    world
        .servers
        .get_mut(id)
        .filter(|s| may_see(caller, s))
        .ok_or_else(|| instance_not_found(id))
}

/// Answers from the server the path's `server_id` names, once the URL's project is checked.
pub fn read_server(
    app: &App,
    caller: &Caller,
    params: &PathParams,
    answer: impl FnOnce(&Server) -> Response,
) -> Response {
    let id = match server_id(caller, params) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let world = app.world();
    match visible_server(&world, caller, id) {
        Ok(server) => answer(server),
        Err(response) => response,
    }
}

pub fn instance_not_found(id: &str) -> Response {
    errors::nova(
        StatusCode::NOT_FOUND,
        &format!("Instance {id} could not be found."),
    )
}

/// Any other path or method under the compute API.
pub async fn not_found() -> Response {
    errors::nova_no_such_resource()
}
