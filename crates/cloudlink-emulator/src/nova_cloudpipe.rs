//! Nova's os-cloudpipe API with Ocata semantics (admin only; it launches one VPN server per
//! project); from Pike on, the 410 stubs that replaced it.

use std::time::Instant;

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
use crate::nova::{PathParams, check_url_project, param, read_body};
use crate::nova_validation;
use crate::resources::{Server, VmState, VpnEndpoint};
use crate::timefmt;

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

/// `GET os-cloudpipe`: admin only; every project's VPN server (an admin context lists all).
pub async fn list(
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

/// What a cloudpipe change passes before it acts, in Nova's order: the body is read, the URL's
/// project checked, then the release (410 from Pike on), the schema, and the policy.
async fn admit(
    app: &App,
    caller: &Caller,
    params: Option<&PathParams>,
    body: Body,
    validate: fn(&Value) -> Result<(), String>,
) -> Result<Value, Response> {
    let request = read_body(body).await?;
    check_url_project(caller, params)?;
    if app.world().nova_release.cloudpipe_removed() {
        return Err(gone());
    }
    validate(&request).map_err(|message| errors::nova(StatusCode::BAD_REQUEST, &message))?;
    if !caller.is_admin() {
        return Err(policy_forbidden());
    }
    Ok(request)
}

/// `POST os-cloudpipe`: validation, then policy, then the project's existing VPN server or a new
/// one. 200, not 201.
pub async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    params: Option<Path<PathParams>>,
    body: Body,
) -> Response {
    let request = match admit(
        &app,
        &caller,
        params.as_deref(),
        body,
        nova_validation::validate_create,
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
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
    let request = match admit(
        &app,
        &caller,
        Some(&params),
        body,
        nova_validation::validate_configure,
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let action = param(&params, "action");
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
