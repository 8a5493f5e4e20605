//! How a cloud's non-success answer becomes a [`CloudError`]: the status picks the variant, the
//! body gives the message (each cloud writes its errors in its own shape), and `Retry-After` (or
//! Nova's `retryAfter`) says how long to wait.

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::CloudError;

/// Longest server message kept in an error. Error bodies can be whole HTML pages.
const MAX_MESSAGE: usize = 300;
/// Longest wait honoured from `Retry-After`: a bigger value is more likely a bug than a plan.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Turns a non-success answer into a typed error. `request` is "METHOD URL".
pub(crate) fn from_response(
    request: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> CloudError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let mut message = json
        .as_ref()
        .and_then(message_from_json)
        .unwrap_or_else(|| text_message(body, status));
    if let Some(id) = request_id(headers) {
        message.push_str(&format!(" (request id {id})"));
    }
    let request = request.to_owned();
    match status {
        400 => CloudError::BadRequest { request, message },
        401 => CloudError::Unauthorized { request, message },
        403 => CloudError::Forbidden { request, message },
        404 => CloudError::NotFound { request, message },
        409 => CloudError::Conflict { request, message },
        410 => CloudError::Gone { request, message },
        429 => {
            let retry_after =
                retry_after_header(headers).or_else(|| json.as_ref().and_then(nova_retry_after));
            CloudError::RateLimited {
                request,
                message,
                retry_after,
            }
        }
        503 => {
            let retry_after =
                retry_after_header(headers).or_else(|| json.as_ref().and_then(nova_retry_after));
            CloudError::Unavailable {
                request,
                status,
                message,
                retry_after,
            }
        }
        500..=599 => CloudError::Server {
            request,
            status,
            message,
        },
        _ => CloudError::HttpStatus {
            request,
            status,
            message,
        },
    }
}

/// The message of the error shapes the clouds use, most specific first:
/// ECL's `{"cause": …}`, Keystone's `{"error": {"message": …}}`, an API gateway's
/// `{"fault": {"faultstring": …}}`, IAM's `{"errorMessage": …}`, a bare `{"message": …}`,
/// and Nova's `{"<faultName>": {"code": …, "message": …}}`.
fn message_from_json(v: &serde_json::Value) -> Option<String> {
    let obj = v.as_object()?;
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    if let Some(s) = text(obj.get("cause")) {
        return Some(clean(&s));
    }
    if let Some(err) = obj.get("error").and_then(|e| e.as_object())
        && let Some(s) = text(err.get("message")).or_else(|| text(err.get("title")))
    {
        return Some(clean(&s));
    }
    if let Some(s) = text(obj.get("error")) {
        return Some(clean(&s));
    }
    if let Some(s) = obj.get("fault").and_then(|f| text(f.get("faultstring"))) {
        return Some(clean(&s));
    }
    if let Some(s) = text(obj.get("errorMessage")).or_else(|| text(obj.get("message"))) {
        return Some(clean(&s));
    }
    // Nova: exactly one key whose value is an object with a message.
    if obj.len() == 1 {
        let (name, inner) = obj.iter().next()?;
        if let Some(s) = text(inner.get("message")) {
            return Some(clean(&format!("{s} [{name}]")));
        }
    }
    None
}

/// Nova puts `retryAfter` in its `overLimit` fault body.
fn nova_retry_after(v: &serde_json::Value) -> Option<Duration> {
    let inner = v.as_object()?.values().find_map(|f| f.get("retryAfter"))?;
    let s = match inner {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    parse_retry_after(&s)
}

fn text_message(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no message")
            .to_owned()
    } else {
        clean(text)
    }
}

/// One line, printable, bounded.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    if s.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out.trim().to_owned()
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-compute-request-id",
        "x-openstack-request-id",
        "x-request-id",
    ]
    .iter()
    .find_map(|h| headers.get(*h))
    .and_then(|v| v.to_str().ok())
    .map(clean)
    .filter(|s| !s.is_empty())
}

fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

/// `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let d = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64()))
    } else {
        let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
        let now = jiff::Timestamp::now();
        let secs = when.as_second().saturating_sub(now.as_second()).max(0);
        Duration::from_secs(secs as u64)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const REQ: &str = "GET http://127.0.0.1:1/v2.1/os-cloudpipe";

    #[test]
    fn nova_410_is_gone_and_permanent() {
        let body = br#"{"computeFault": {"code": 410, "message": "This resource is no longer available.  No forwarding address is given."}}"#;
        let e = from_response(
            REQ,
            410,
            &headers(&[("x-compute-request-id", "req-1")]),
            body,
        );
        assert!(matches!(e, CloudError::Gone { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(e.is_gone());
        let text = e.to_string();
        assert!(
            text.contains("This resource is no longer available.  No forwarding address is given."),
            "{text}"
        );
        assert!(text.contains("req-1"), "{text}");
        assert!(text.contains("Pike"), "{text}");
    }

    #[test]
    fn nova_faults_map_by_status() {
        let forbidden = br#"{"forbidden":{"code":403,"message":"Policy doesn't allow os_compute_api:os-cloudpipe to be performed."}}"#;
        let e = from_response(REQ, 403, &HeaderMap::new(), forbidden);
        assert!(
            matches!(&e, CloudError::Forbidden { message, .. } if message.starts_with("Policy doesn't allow")),
            "{e:?}"
        );
        assert!(e.to_string().contains("admin role"));

        let bad =
            br#"{"badRequest":{"code":400,"message":"Invalid input for field/attribute vpn_ip."}}"#;
        assert!(matches!(
            from_response(REQ, 400, &HeaderMap::new(), bad),
            CloudError::BadRequest { .. }
        ));
        let nf = br#"{"itemNotFound":{"code":404,"message":"Instance x could not be found."}}"#;
        let e = from_response(REQ, 404, &HeaderMap::new(), nf);
        assert!(e.is_not_found() && !e.is_transient());
        let conflict = br#"{"conflictingRequest":{"code":409,"message":"locked"}}"#;
        assert!(matches!(
            from_response(REQ, 409, &HeaderMap::new(), conflict),
            CloudError::Conflict { .. }
        ));
        let fault = br#"{"computeFault":{"code":500,"message":"Unexpected API Error."}}"#;
        let e = from_response(REQ, 500, &HeaderMap::new(), fault);
        assert!(matches!(e, CloudError::Server { status: 500, .. }) && e.is_transient());
        let e = from_response(REQ, 406, &HeaderMap::new(), b"{}");
        assert!(matches!(e, CloudError::HttpStatus { status: 406, .. }) && !e.is_transient());
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let e = from_response(
            REQ,
            429,
            &headers(&[("retry-after", "7")]),
            br#"{"overLimit":{"code":429,"message":"slow down"}}"#,
        );
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("retry after 7s"), "{e}");

        // Nova's body field when the header is missing.
        let e = from_response(
            REQ,
            429,
            &HeaderMap::new(),
            br#"{"overLimit":{"code":429,"message":"x","retryAfter":"3"}}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

        let e = from_response(REQ, 503, &headers(&[("retry-after", "2")]), b"");
        assert!(
            matches!(&e, CloudError::Unavailable { status: 503, message, .. } if message == "Service Unavailable"),
            "{e:?}"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));

        let e = from_response(REQ, 429, &HeaderMap::new(), b"");
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("99999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }

    #[test]
    fn ecl_keystone_and_gateway_shapes() {
        let e = from_response(
            REQ,
            404,
            &HeaderMap::new(),
            br#"{"cause":"Tenant Connection Request x not found."}"#,
        );
        assert!(
            matches!(&e, CloudError::NotFound { message, .. } if message == "Tenant Connection Request x not found.")
        );
        let e = from_response(
            REQ,
            500,
            &HeaderMap::new(),
            br#"{"cause":"Internal Server Error"}"#,
        );
        assert!(
            matches!(&e, CloudError::Server { message, .. } if message == "Internal Server Error")
        );
        let e = from_response(
            REQ,
            401,
            &HeaderMap::new(),
            br#"{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}"#,
        );
        assert!(
            matches!(&e, CloudError::Unauthorized { message, .. } if message.starts_with("The request you have made"))
        );
        assert!(!e.is_transient());
        let e = from_response(
            REQ,
            403,
            &HeaderMap::new(),
            br#"{"fault":{"faultstring":"Access denied","detail":{}}}"#,
        );
        assert!(matches!(&e, CloudError::Forbidden { message, .. } if message == "Access denied"));
        let e = from_response(
            REQ,
            400,
            &HeaderMap::new(),
            br#"{"errorMessage":"bad tenant"}"#,
        );
        assert!(matches!(&e, CloudError::BadRequest { message, .. } if message == "bad tenant"));
        let e = from_response(REQ, 409, &HeaderMap::new(), br#"{"message":"in use"}"#);
        assert!(matches!(&e, CloudError::Conflict { message, .. } if message == "in use"));
    }

    #[test]
    fn non_json_bodies_are_bounded_and_single_line() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(5000));
        let e = from_response(REQ, 502, &HeaderMap::new(), html.as_bytes());
        let CloudError::Server {
            message,
            status: 502,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(message.chars().count() <= MAX_MESSAGE + 1);
        assert!(!message.contains('\n'));
        let e = from_response(REQ, 500, &HeaderMap::new(), &[0xff, 0xfe, 0x00]);
        assert!(matches!(e, CloudError::Server { .. }));
    }
}
