//! Nova's compute API v2.1, as far as cloudpipes need it (Nova 15.0.0's code, api-ref and API
//! samples): os-cloudpipe with Ocata semantics, the VPN servers it launches, version documents,
//! microversion headers and request ids; from Pike on, the 410 stubs that replaced cloudpipe.

use std::collections::HashMap;
use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::body::{self, BodyError};
use crate::errors::{self, Service};
use crate::nova_validation;
use crate::query::Query;
use crate::state::{Server, VmState, VpnEndpoint};
use crate::timefmt;

/// Which Nova is emulated. Cloudpipe works up to Ocata and answers 410 from Pike on (Nova commit
/// acdc2da0e3, "Remove cloudpipe APIs", first released in 16.0.0).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NovaRelease {
    Mitaka,
    Newton,
    Ocata,
    Pike,
    Queens,
    Rocky,
    Stein,
    Train,
    Ussuri,
}

impl NovaRelease {
    /// The release's maximum compute microversion (2.x); the minimum is always 2.1.
    fn max_minor(self) -> u32 {
        match self {
            NovaRelease::Mitaka => 25,
            NovaRelease::Newton => 38,
            NovaRelease::Ocata => 42,
            NovaRelease::Pike => 53,
            NovaRelease::Queens => 60,
            NovaRelease::Rocky => 65,
            NovaRelease::Stein => 72,
            NovaRelease::Train => 79,
            NovaRelease::Ussuri => 87,
        }
    }

    fn cloudpipe_removed(self) -> bool {
        self >= NovaRelease::Pike
    }
}

// ----- framing: microversions, content type, request ids

/// Runs inside authentication (keystonemiddleware answers 401 before Nova parses anything):
/// negotiates the microversion, checks the content type, and echoes the version on the answer.
pub async fn frame(app: &App, request: Request, next: Next) -> Response {
    let release = app.world().nova_release;
    let minor = match negotiate(request.headers(), release) {
        Ok(minor) => minor,
        Err(response) => return response,
    };
    let response = if unsupported_content_type(request.headers()) {
        errors::nova(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Content-Type",
        )
    } else {
        next.run(request).await
    };
    echo_version(response, minor)
}

/// The requested minor version: `OpenStack-API-Version: compute 2.X` first, then the legacy
/// `X-OpenStack-Nova-API-Version: 2.X`; none means 2.1, `latest` the release's maximum.
fn negotiate(headers: &HeaderMap, release: NovaRelease) -> Result<u32, Response> {
    let Some(requested) = requested_version(headers) else {
        return Ok(1);
    };
    let max = release.max_minor();
    if requested == "latest" {
        return Ok(max);
    }
    let parsed = requested
        .split_once('.')
        .filter(|(major, minor)| is_version_number(major) && is_version_number(minor))
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)));
    let Some((major, minor)) = parsed else {
        let message = format!(
            "API Version String {requested} is of invalid format. Must be of format MajorNum.MinorNum."
        );
        return Err(errors::nova(StatusCode::BAD_REQUEST, &message));
    };
    if major != 2 || !(1..=max).contains(&minor) {
        let message = format!(
            "Version {requested} is not supported by the API. Minimum is 2.1 and maximum is 2.{max}."
        );
        return Err(errors::nova(StatusCode::NOT_ACCEPTABLE, &message));
    }
    Ok(minor)
}

/// `^([1-9]\d*|0)$`, as in Nova's version regex.
fn is_version_number(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
}

fn requested_version(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let from_new_header = text("openstack-api-version").and_then(|value| {
        value.split(',').find_map(|entry| {
            let mut words = entry.split_whitespace();
            let service = words.next()?;
            let version = words.next()?;
            service
                .eq_ignore_ascii_case("compute")
                .then(|| version.to_owned())
        })
    });
    from_new_header.or_else(|| text("x-openstack-nova-api-version").map(|v| v.trim().to_owned()))
}

/// Nova refuses a Content-Type it does not speak; none, or text/plain, counts as none.
fn unsupported_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let media = value
        .to_str()
        .unwrap_or("?")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    !matches!(
        media.as_str(),
        "" | "text/plain" | "application/json" | "application/vnd.openstack.compute+json"
    )
}

fn echo_version(mut response: Response, minor: u32) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("compute 2.{minor}")) {
        headers.insert("openstack-api-version", value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("2.{minor}")) {
        headers.insert("x-openstack-nova-api-version", value);
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    response
}

/// Every Nova answer, 401s included, carries a request id (the `compute_req_id` middleware sits
/// in front of authentication); Ocata sends it under both names.
pub fn stamp_request_id(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())) {
        response
            .headers_mut()
            .insert("x-openstack-request-id", value.clone());
        response.headers_mut().insert("x-compute-request-id", value);
    }
    response
}

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

// ----- os-cloudpipe

pub(crate) type PathParams = HashMap<String, String>;

/// Nova's `ProjectMapper`: a project id in the URL must look like one (`[0-9a-f-]+`, otherwise no
/// route matches) and must be the token's project.
pub(crate) fn check_url_project(
    caller: &Caller,
    params: Option<&PathParams>,
) -> Result<(), Response> {
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

/// webob's `HTTPGone` explanation (webob/exc.py), with its two spaces.
fn gone() -> Response {
    errors::nova(
        StatusCode::GONE,
        "This resource is no longer available.  No forwarding address is given.",
    )
}

fn policy_forbidden() -> Response {
    errors::nova(
        StatusCode::FORBIDDEN,
        "Policy doesn't allow os_compute_api:os-cloudpipe to be performed.",
    )
}

/// Nova reads the body before anything else; an empty one reaches the schema as `None`.
pub(crate) async fn read_body(body: Body) -> Result<Value, Response> {
    match body::read_json(body).await {
        Ok(value) => Ok(value.unwrap_or(Value::Null)),
        Err(BodyError::TooLarge) => Err(errors::too_large(Service::Nova)),
        Err(BodyError::Malformed) => Err(errors::nova(
            StatusCode::BAD_REQUEST,
            "Malformed request body",
        )),
    }
}

/// `GET os-cloudpipe`: admin only; every project's VPN server (an admin context lists all).
pub async fn list_cloudpipes(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    params: Option<Path<PathParams>>,
) -> Response {
    if let Err(response) = check_url_project(&caller, params.as_deref()) {
        return response;
    }
    let world = app.world();
    if world.nova_release.cloudpipe_removed() {
        return gone();
    }
    if !caller.is_admin() {
        return policy_forbidden();
    }
    let cloudpipes: Vec<Value> = world
        .vpn_servers()
        .into_iter()
        .map(|server| cloudpipe_entry(server, world.vpn_endpoints.get(&server.project_id)))
        .collect();
    Json(json!({ "cloudpipes": cloudpipes })).into_response()
}

/// `_vpn_dict`: a server still building has no network info yet, so only the first three keys;
/// once active, its address and the project's configured endpoint. The emulated VPN always
/// answers its ping, so a configured endpoint is `running`.
fn cloudpipe_entry(server: &Server, endpoint: Option<&VpnEndpoint>) -> Value {
    let mut entry = json!({
        "project_id": server.project_id,
        "instance_id": server.id,
        "created_at": timefmt::nova(server.created),
    });
    if server.vm_state == VmState::Active {
        entry["internal_ip"] = json!(server.internal_ip);
        entry["public_ip"] = endpoint.map_or(Value::Null, |e| json!(e.public_ip));
        entry["public_port"] = endpoint.map_or(Value::Null, |e| e.public_port.clone());
        entry["state"] = json!(if endpoint.is_some() {
            "running"
        } else {
            "invalid"
        });
    }
    entry
}

/// `POST os-cloudpipe`: validation, then policy, then the project's existing VPN server or a new
/// one. 200, not 201.
pub async fn create_cloudpipe(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    params: Option<Path<PathParams>>,
    body: Body,
) -> Response {
    let request = match read_body(body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if let Err(response) = check_url_project(&caller, params.as_deref()) {
        return response;
    }
    if app.world().nova_release.cloudpipe_removed() {
        return gone();
    }
    if let Err(message) = nova_validation::validate_create(&request) {
        return errors::nova(StatusCode::BAD_REQUEST, &message);
    }
    if !caller.is_admin() {
        return policy_forbidden();
    }
    let project_id = request["cloudpipe"]["project_id"]
        .as_str()
        .unwrap_or(&caller.project_id);
    let mut world = app.world();
    let instance_id = match world.vpn_server_of(project_id) {
        Some(server) => server.id.clone(),
        None => world.launch_vpn_server(project_id, Instant::now()),
    };
    Json(json!({ "instance_id": instance_id })).into_response()
}

/// `PUT os-cloudpipe/configure-project`: sets the caller's project's public VPN endpoint. 202,
/// empty body. Any other action name is a 400, after validation and policy.
pub async fn configure_project(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
    body: Body,
) -> Response {
    let request = match read_body(body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if let Err(response) = check_url_project(&caller, Some(&params)) {
        return response;
    }
    if app.world().nova_release.cloudpipe_removed() {
        return gone();
    }
    if let Err(message) = nova_validation::validate_configure(&request) {
        return errors::nova(StatusCode::BAD_REQUEST, &message);
    }
    if !caller.is_admin() {
        return policy_forbidden();
    }
    let action = params.get("action").map(String::as_str).unwrap_or_default();
    if action != "configure-project" {
        return errors::nova(StatusCode::BAD_REQUEST, &format!("Unknown action {action}"));
    }
    let configure = &request["configure_project"];
    let port = &configure["vpn_port"];
    let public_port = match port.as_str().map(str::parse::<u64>) {
        Some(Ok(number)) => json!(number),
        _ => port.clone(),
    };
    let endpoint = VpnEndpoint {
        public_ip: configure["vpn_ip"].as_str().unwrap_or_default().to_owned(),
        public_port,
    };
    app.world()
        .vpn_endpoints
        .insert(caller.project_id.clone(), endpoint);
    StatusCode::ACCEPTED.into_response()
}

// ----- servers

/// A server the caller may see: an admin sees all, others their project's (Nova's
/// `project_only` lookup answers 404 for the rest).
pub(crate) fn visible<'a>(caller: &Caller, server: Option<&'a Server>) -> Option<&'a Server> {
    server.filter(|s| caller.is_admin() || s.project_id == caller.project_id)
}

pub(crate) fn instance_not_found(id: &str) -> Response {
    errors::nova(
        StatusCode::NOT_FOUND,
        &format!("Instance {id} could not be found."),
    )
}

/// `GET servers/detail`: the caller's project's servers, or with `all_tenants` (admin only) every
/// project's; `image` filters by image; newest first (Nova's default sort: `created_at desc`),
/// cut at `limit` or `osapi_max_limit`, with a `next` link when a page is full (`common.py`
/// `_get_collection_links`). An unknown `marker` is a 400.
pub async fn list_servers(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    params: Option<Path<PathParams>>,
    query: Query,
) -> Response {
    if let Err(response) = check_url_project(&caller, params.as_deref()) {
        return response;
    }
    let param = |name: &str| query.first(name);
    let all_tenants = match param("all_tenants").map(str::to_ascii_lowercase).as_deref() {
        None => false,
        Some("" | "1" | "t" | "true" | "on" | "y" | "yes") => true,
        Some("0" | "f" | "false" | "off" | "n" | "no") => false,
        Some(other) => {
            return errors::nova(
                StatusCode::BAD_REQUEST,
                &format!("Invalid value '{other}' for all_tenants"),
            );
        }
    };
    if all_tenants && !caller.is_admin() {
        return errors::nova(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.",
        );
    }
    let world = app.world();
    let limit = match param("limit").map(str::parse::<i64>) {
        None => world.nova_max_limit,
        Some(Ok(n)) if n >= 0 => (n as usize).min(world.nova_max_limit),
        Some(Ok(_)) => {
            return errors::nova(StatusCode::BAD_REQUEST, "limit param must be positive");
        }
        Some(Err(_)) => {
            return errors::nova(StatusCode::BAD_REQUEST, "limit param must be an integer");
        }
    };
    let mut servers: Vec<&Server> = world
        .vpn_servers()
        .into_iter()
        .rev()
        .filter(|s| all_tenants || s.project_id == caller.project_id)
        .filter(|_| param("image").is_none_or(|image| image == VPN_IMAGE))
        .collect();
    if let Some(marker) = param("marker") {
        match servers.iter().position(|s| s.id == marker) {
            Some(at) => servers.drain(..=at),
            None => {
                return errors::nova(
                    StatusCode::BAD_REQUEST,
                    &format!("marker [{marker}] not found"),
                );
            }
        };
    }
    servers.truncate(limit);
    let mut body = json!({ "servers": servers.iter().map(|s| server_view(s, &app.base_url)).collect::<Vec<_>>() });
    if let Some(last) = servers.last().filter(|_| servers.len() == limit) {
        let mut next = url::Url::parse(&format!(
            "{}/compute/v2.1/{}/servers/detail",
            app.base_url, caller.project_id
        ))
        .expect("base URL");
        next.query_pairs_mut()
            .extend_pairs(query.pairs().iter().filter(|(k, _)| k != "marker"))
            .append_pair("marker", &last.id);
        body["servers_links"] = json!([{ "rel": "next", "href": next.as_str() }]);
    }
    Json(body).into_response()
}

/// The image every VPN server runs (`CONF.cloudpipe.vpn_image_id`; the emulator's is `0`).
const VPN_IMAGE: &str = "0";

/// `GET servers/{id}`.
pub async fn get_server(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    if let Err(response) = check_url_project(&caller, Some(&params)) {
        return response;
    }
    let id = params
        .get("server_id")
        .map(String::as_str)
        .unwrap_or_default();
    let world = app.world();
    match visible(&caller, world.servers.get(id)) {
        Some(server) => {
            Json(json!({ "server": server_view(server, &app.base_url) })).into_response()
        }
        None => instance_not_found(id),
    }
}

/// `DELETE servers/{id}`: 204 at once; the server shows `task_state: deleting` until it is gone.
pub async fn delete_server(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    if let Err(response) = check_url_project(&caller, Some(&params)) {
        return response;
    }
    let id = params
        .get("server_id")
        .map(String::as_str)
        .unwrap_or_default();
    let mut world = app.world();
    if visible(&caller, world.servers.get(id)).is_none() {
        return instance_not_found(id);
    }
    world.delete_server(id, Instant::now());
    StatusCode::NO_CONTENT.into_response()
}

/// The fields of `doc/api_samples/servers/server-get-resp.json`, for a cloudpipe VPN server
/// (`pipelib.py`: name, key pair and security group `<project>-vpn`, image `0`, m1.tiny, and the
/// user id `project-vpn` the lowered context launches it with).
fn server_view(server: &Server, base: &str) -> Value {
    let active = server.vm_state == VmState::Active;
    let addresses = if active {
        json!({"private": [{"addr": server.internal_ip, "version": 4, "OS-EXT-IPS:type": "fixed",
                            "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]})
    } else {
        json!({})
    };
    json!({
        "id": server.id,
        "name": server.name,
        "status": if active { "ACTIVE" } else { "BUILD" },
        "tenant_id": server.project_id,
        "user_id": "project-vpn",
        "created": timefmt::nova(server.created),
        "updated": timefmt::nova(server.updated),
        "hostId": "",
        "addresses": addresses,
        "accessIPv4": "",
        "accessIPv6": "",
        "image": {"id": VPN_IMAGE, "links": [{"rel": "bookmark", "href": format!("{base}/compute/images/0")}]},
        "flavor": {"id": "1", "links": [{"rel": "bookmark", "href": format!("{base}/compute/flavors/1")}]},
        "key_name": server.name,
        "security_groups": [{"name": server.name}],
        "metadata": server.metadata,
        "progress": 0,
        "config_drive": "",
        "links": [
            {"rel": "self", "href": format!("{base}/compute/v2.1/{}/servers/{}", server.project_id, server.id)},
            {"rel": "bookmark", "href": format!("{base}/compute/servers/{}", server.id)},
        ],
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-STS:vm_state": if active { "active" } else { "building" },
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:power_state": if active { 1 } else { 0 },
        "OS-SRV-USG:launched_at": if active { json!(timefmt::nova(server.updated)) } else { Value::Null },
        "OS-SRV-USG:terminated_at": null,
        "os-extended-volumes:volumes_attached": [],
    })
}

/// Any other path or method under the compute API.
pub async fn not_found() -> Response {
    errors::nova_no_such_resource()
}
