//! What happens around every request to a named route: faults, authentication, the service's own
//! framing (Nova's microversions and request ids), and the request counters.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::auth::AuthFailure;
use crate::counters::Outcome;
use crate::errors::{self, Service};
use crate::faults::{Early, Late};
use crate::nova_framing;
use crate::route::Route;

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
        Service::Nova => nova_framing::stamp_request_id(response),
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
        Service::Nova => nova_framing::frame(app, request, next).await,
        _ => next.run(request).await,
    }
}
