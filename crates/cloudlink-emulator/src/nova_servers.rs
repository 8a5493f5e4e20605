//! Nova's servers API for the VPN servers cloudpipe launches (the only servers the emulator
//! runs): list with details, show, delete.

use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::errors;
use crate::nova::{PathParams, check_url_project, read_server, server_id, visible_server};
use crate::query::Query;
use crate::resources::{Server, VmState};
use crate::timefmt;

/// `GET servers/detail`: the caller's project's servers, or with `all_tenants` (admin only) every
/// project's; `image` filters by image; newest first (Nova's default sort: `created_at desc`),
/// cut at `limit` or `osapi_max_limit`, with a `next` link when a page is full (`common.py`
/// `_get_collection_links`). An unknown `marker` is a 400.
pub async fn list(
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
pub async fn show(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    read_server(&app, &caller, &params, |server| {
        Json(json!({ "server": server_view(server, &app.base_url) })).into_response()
    })
}

/// `DELETE servers/{id}`: 204 at once; the server shows `task_state: deleting` until it is gone.
pub async fn delete(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<PathParams>,
) -> Response {
    let id = match server_id(&caller, &params) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let mut world = app.world();
    if let Err(response) = visible_server(&world, &caller, id) {
        return response;
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
