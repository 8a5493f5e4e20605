//! A non-success answer (status, headers, body) → `error::response::from_response`, the typed error every
//! client returns; and each header value → `parse_retry_after`.
//!
//! Input, shaped like an HTTP answer so that the seeds are readable: the status on the first line,
//! then `Name: value` header lines, an empty line, and the body (any bytes). The same headers and
//! body are also read as a 429 and a 503, the two statuses whose errors carry a retry delay.

#![no_main]

use std::time::Duration;

use cloudlink_cloud::CloudError;
use cloudlink_cloud::fuzzing;
use libfuzzer_sys::fuzz_target;

/// `Retry-After` (or Nova's `retryAfter`) is never honoured beyond an hour.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// A message is at most 300 characters and an ellipsis, plus a request id bounded the same way.
const MAX_MESSAGE_CHARS: usize = 301 + " (request id )".len() + 301;

fn split_once<'a>(data: &'a [u8], sep: &[u8]) -> (&'a [u8], &'a [u8]) {
    match data.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&data[..i], &data[i + sep.len()..]),
        None => (data, &[]),
    }
}

fn message(e: &CloudError) -> &str {
    match e {
        CloudError::NotFound { message, .. }
        | CloudError::BadRequest { message, .. }
        | CloudError::Forbidden { message, .. }
        | CloudError::Conflict { message, .. }
        | CloudError::Gone { message, .. }
        | CloudError::RateLimited { message, .. }
        | CloudError::Unavailable { message, .. }
        | CloudError::Server { message, .. }
        | CloudError::HttpStatus { message, .. }
        | CloudError::Unauthorized { message, .. } => message,
        other => panic!("from_response made an error that is not an HTTP status: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = split_once(data, b"\n\n");
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = lines
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(500u16);
    let pairs: Vec<(&[u8], &[u8])> = lines
        .map(|l| {
            let (name, value) = split_once(l, b":");
            (name.trim_ascii(), value.trim_ascii())
        })
        .collect();
    for (_, value) in &pairs {
        if let Some(d) = fuzzing::parse_retry_after(&String::from_utf8_lossy(value)) {
            assert!(d <= MAX_RETRY_AFTER, "{d:?}");
        }
    }
    let headers = fuzzing::headers(pairs);
    for status in [status, 429, 503] {
        let e = fuzzing::error_from_response(status, &headers, body);
        assert_eq!(e.status(), Some(status), "{e:?}");
        assert_eq!(
            e.is_transient(),
            status == 429 || (500..=599).contains(&status),
            "{e:?}"
        );
        if let Some(d) = e.retry_after() {
            assert!(d <= MAX_RETRY_AFTER, "{d:?}");
            assert!(status == 429 || status == 503, "{e:?}");
        }
        let m = message(&e);
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS, "{} chars", m.chars().count());
        assert!(!m.chars().any(char::is_control), "one printable line: {m:?}");
        let _ = e.to_string();
    }
});
