//! What Nova does around every compute request, whatever the handler: microversion negotiation,
//! the content-type check, the version echoed on the answer, and request ids.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;
use crate::errors;
use crate::nova_release::NovaRelease;

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
