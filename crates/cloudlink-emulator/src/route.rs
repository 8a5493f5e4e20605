//! Named routes, and what happens around every request to one of them: faults, authentication,
//! the service's own framing (Nova's microversions and request ids), and the request counters.
//!
//! The names are what faults and counters are keyed by; `GET /_admin/routes` lists them.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::App;
use crate::auth::AuthFailure;
use crate::errors::{self, Service};
use crate::faults::{Early, Late};
use crate::nova;

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Route {
    pub name: &'static str,
    #[serde(skip)]
    pub service: Service,
    /// Needs a valid `X-Auth-Token` (checked before the handler runs).
    pub authenticated: bool,
}

const fn open(name: &'static str, service: Service) -> Route {
    Route {
        name,
        service,
        authenticated: false,
    }
}

const fn guarded(name: &'static str, service: Service) -> Route {
    Route {
        name,
        service,
        authenticated: true,
    }
}

pub const IDENTITY_VERSIONS: Route = open("identity.versions", Service::Identity);
pub const IDENTITY_DISCOVERY: Route = open("identity.discovery", Service::Identity);
pub const IDENTITY_TOKEN_CREATE: Route = open("identity.token.create", Service::Identity);
/// Validation and revocation check both tokens themselves, as Keystone does.
pub const IDENTITY_TOKEN_VALIDATE: Route = open("identity.token.validate", Service::Identity);
pub const IDENTITY_TOKEN_REVOKE: Route = open("identity.token.revoke", Service::Identity);
/// Any path no service claims (answered in Keystone's shape: the root belongs to identity).
pub const UNKNOWN: Route = open("unknown", Service::Identity);

pub const NOVA_VERSIONS: Route = open("nova.versions", Service::Nova);
pub const NOVA_VERSION: Route = open("nova.version", Service::Nova);
pub const NOVA_CLOUDPIPE_LIST: Route = guarded("nova.cloudpipe.list", Service::Nova);
pub const NOVA_CLOUDPIPE_CREATE: Route = guarded("nova.cloudpipe.create", Service::Nova);
pub const NOVA_CLOUDPIPE_CONFIGURE: Route = guarded("nova.cloudpipe.configure", Service::Nova);
pub const NOVA_SERVER_LIST: Route = guarded("nova.server.list", Service::Nova);
pub const NOVA_SERVER_GET: Route = guarded("nova.server.get", Service::Nova);
pub const NOVA_SERVER_DELETE: Route = guarded("nova.server.delete", Service::Nova);
pub const NOVA_METADATA_LIST: Route = guarded("nova.server.metadata.list", Service::Nova);
pub const NOVA_METADATA_GET: Route = guarded("nova.server.metadata.get", Service::Nova);
pub const NOVA_METADATA_SET: Route = guarded("nova.server.metadata.set", Service::Nova);
pub const NOVA_METADATA_DELETE: Route = guarded("nova.server.metadata.delete", Service::Nova);
pub const NOVA_UNKNOWN: Route = guarded("nova.unknown", Service::Nova);

pub const ECL_TCR_LIST: Route = guarded("ecl.tcr.list", Service::Ecl);
pub const ECL_TCR_GET: Route = guarded("ecl.tcr.get", Service::Ecl);
pub const ECL_TCR_CREATE: Route = guarded("ecl.tcr.create", Service::Ecl);
pub const ECL_TCR_UPDATE: Route = guarded("ecl.tcr.update", Service::Ecl);
pub const ECL_TCR_DELETE: Route = guarded("ecl.tcr.delete", Service::Ecl);
pub const ECL_UNKNOWN: Route = guarded("ecl.unknown", Service::Ecl);

pub const SSS_APPROVAL_LIST: Route = guarded("sss.approval.list", Service::Sss);
pub const SSS_APPROVAL_GET: Route = guarded("sss.approval.get", Service::Sss);
pub const SSS_APPROVAL_UPDATE: Route = guarded("sss.approval.update", Service::Sss);
pub const SSS_UNKNOWN: Route = guarded("sss.unknown", Service::Sss);

pub const ALL: &[Route] = &[
    IDENTITY_VERSIONS,
    IDENTITY_DISCOVERY,
    IDENTITY_TOKEN_CREATE,
    IDENTITY_TOKEN_VALIDATE,
    IDENTITY_TOKEN_REVOKE,
    UNKNOWN,
    NOVA_VERSIONS,
    NOVA_VERSION,
    NOVA_CLOUDPIPE_LIST,
    NOVA_CLOUDPIPE_CREATE,
    NOVA_CLOUDPIPE_CONFIGURE,
    NOVA_SERVER_GET,
    NOVA_SERVER_DELETE,
    NOVA_METADATA_LIST,
    NOVA_METADATA_GET,
    NOVA_METADATA_SET,
    NOVA_METADATA_DELETE,
    NOVA_UNKNOWN,
    ECL_TCR_LIST,
    ECL_TCR_GET,
    ECL_TCR_CREATE,
    ECL_TCR_UPDATE,
    ECL_TCR_DELETE,
    ECL_UNKNOWN,
    SSS_APPROVAL_LIST,
    SSS_APPROVAL_GET,
    SSS_APPROVAL_UPDATE,
    SSS_UNKNOWN,
];

/// State of the per-route middleware: the app and which route it wraps.
#[derive(Clone)]
pub struct RouteContext {
    pub app: App,
    pub route: Route,
}

/// Marks a response the connection server must not send: it drops the connection instead.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// Wraps every named route's handler.
pub async fn around_route(
    State(context): State<RouteContext>,
    request: Request,
    next: Next,
) -> Response {
    let RouteContext { app, route } = context;
    let draw = app.faults.draw(route.name);
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }
    let response = match draw.early {
        Some(Early::Reset) => {
            app.counters.record(route.name, Outcome::Reset);
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(DropConnection);
            return response;
        }
        Some(Early::Error {
            status,
            retry_after,
        }) => errors::injected(route.service, status, retry_after),
        None => {
            let response = serve(&app, route, request, next).await;
            match draw.late {
                Some(_) if !response.status().is_success() => response,
                Some(Late::FailWith500) => {
                    errors::injected(route.service, StatusCode::INTERNAL_SERVER_ERROR, None)
                }
                Some(Late::Hang(delay)) => {
                    tokio::time::sleep(delay).await;
                    response
                }
                None => response,
            }
        }
    };
    let response = match route.service {
        Service::Nova => nova::stamp_request_id(response),
        _ => response,
    };
    app.counters
        .record(route.name, Outcome::Status(response.status().as_u16()));
    response
}

async fn serve(app: &App, route: Route, mut request: Request, next: Next) -> Response {
    if route.authenticated {
        match app.auth.authenticate(request.headers()).await {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
            }
            Err(AuthFailure::Unauthorized) => return errors::unauthorized(app.auth.identity_uri()),
            Err(AuthFailure::Unavailable) => return errors::identity_unavailable(),
        }
    }
    match route.service {
        Service::Nova => nova::frame(app, request, next).await,
        _ => next.run(request).await,
    }
}

#[derive(Clone, Copy)]
pub enum Outcome {
    Status(u16),
    Reset,
}

/// Requests per route name and outcome (status code, or `reset` for a dropped connection).
#[derive(Default)]
pub struct Counters {
    counts: Mutex<BTreeMap<&'static str, BTreeMap<u16, u64>>>,
}

/// Where a dropped connection is counted (no real status is 0).
const RESET_KEY: u16 = 0;

impl Counters {
    pub fn record(&self, route: &'static str, outcome: Outcome) {
        let key = match outcome {
            Outcome::Status(status) => status,
            Outcome::Reset => RESET_KEY,
        };
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(route).or_default().entry(key).or_default() += 1;
    }

    /// `{"route": {"200": 3, "reset": 1}}`.
    pub fn snapshot(&self) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|(route, by_status)| {
                let by_status = by_status
                    .iter()
                    .map(|(status, n)| {
                        (
                            if *status == RESET_KEY {
                                "reset".to_owned()
                            } else {
                                status.to_string()
                            },
                            *n,
                        )
                    })
                    .collect();
                (*route, by_status)
            })
            .collect()
    }

    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
