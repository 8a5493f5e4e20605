//! The error bodies each emulated service answers with. Clients pick their error types from these
//! shapes, so they follow the upstream code exactly where it is known (Nova 15.0.0's `wsgi.Fault`,
//! Keystone's `render_exception`, keystonemiddleware's `auth_token`, eclsdk's error parser).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which emulated service a route belongs to: it decides the error shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Identity,
    Nova,
    Ecl,
    Sss,
}

/// Keystone's `render_exception` shape
/// (keystone/server/flask/request_processing/middleware/auth_context.py).
pub fn keystone(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    body(
        status,
        json!({"error": {"code": status.as_u16(), "title": title, "message": message}}),
    )
}

/// The 401 of Keystone and of keystonemiddleware 4.14.0 (`auth_token`) in front of every other
/// service: the same body, plus `WWW-Authenticate: Keystone uri="…"` naming the identity service.
pub fn unauthorized(identity_uri: &str) -> Response {
    challenge(
        keystone(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        ),
        identity_uri,
    )
}

/// Adds Keystone's `WWW-Authenticate` challenge, which it sends with every 401.
pub fn challenge(mut response: Response, identity_uri: &str) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED
        && let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{identity_uri}\""))
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// keystonemiddleware's answer when it cannot reach Keystone to check a token.
pub fn identity_unavailable() -> Response {
    keystone(
        StatusCode::SERVICE_UNAVAILABLE,
        "The Keystone service is temporarily unavailable.",
    )
}

/// Nova's `wsgi.Fault`: `{"<faultName>": {"code", "message"}}`, `retryAfter` for 413 and 429.
pub fn nova(status: StatusCode, message: &str) -> Response {
    nova_with_retry(status, message, None)
}

fn nova_with_retry(status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    let mut fault = json!({"code": status.as_u16(), "message": message});
    if let Some(seconds) = retry_after.filter(|_| matches!(status.as_u16(), 413 | 429)) {
        fault["retryAfter"] = Value::String(seconds.to_string());
    }
    body(status, json!({ nova_fault_name(status): fault }))
}

fn nova_fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// Nova's 404 for a path or method it has no controller for (webob's `HTTPNotFound` text).
pub fn nova_no_such_resource() -> Response {
    nova(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// provider-connectivity's `{"cause": "<text>"}` (the ECL API reference's samples; eclsdk's
/// `provider_connectivity/exceptions.py` reads `cause`). SSS errors use it too: their real shape is
/// not documented, and eclsdk's parser reads `cause`.
pub fn cause(status: StatusCode, message: &str) -> Response {
    body(status, json!({"cause": message}))
}

/// An error a fault injects, in the shape the route's service would use for it.
pub fn injected(service: Service, status: StatusCode, retry_after: Option<u64>) -> Response {
    let mut response = match service {
        Service::Nova => nova_with_retry(status, nova_injected_message(status), retry_after),
        Service::Identity => keystone(status, keystone_injected_message(status)),
        Service::Ecl | Service::Sss => cause(status, status.canonical_reason().unwrap_or("Error")),
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn nova_injected_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        // Nova's `expected_errors` (nova/api/openstack/extensions.py) wraps any unexpected exception
        // this way.
        500 => {
            "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API \
             log if possible.\n<class 'nova.exception.EmulatorInjectedFault'>"
        }
        429 => "This request was rate-limited.",
        503 => "The server is currently unavailable. Please try again at a later time.",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

fn keystone_injected_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        500 => "An unexpected error prevented the server from fulfilling your request.",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// A body over the size limit, in the service's shape. The rest of the body is not read, so the
/// connection cannot carry another request: say so, or a client would reuse it and fail.
pub fn too_large(service: Service) -> Response {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    let mut response = match service {
        Service::Nova => nova(status, "Request is too large."),
        Service::Identity => keystone(status, "Request is too large."),
        Service::Ecl | Service::Sss => cause(status, "Request is too large."),
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn body(status: StatusCode, value: Value) -> Response {
    (status, Json(value)).into_response()
}
