//! The one error type of the cloud layer: what the reconciler asks of an error.
//!
//! The reconciler needs two things from an error: whether waiting helps ([`CloudError::is_transient`])
//! and how long to wait if the cloud said so ([`CloudError::retry_after`]). Everything else is in
//! the message, which is written for the person reading the object's status: what went wrong,
//! on which request, and what to do about it. Messages never hold tokens or passwords: the
//! request is described by method and URL only (tokens travel in headers, never in URLs).
//!
//! How a cloud's non-success answer becomes one of these is the job of `error::response`.

use std::time::Duration;

pub(crate) mod response;

/// What went wrong talking to a cloud.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    /// 404. For a show or delete this usually means the resource is gone.
    #[error("{request}: not found (HTTP 404): {message}")]
    NotFound { request: String, message: String },

    /// 400. The cloud refused the request as invalid; sending it again will not help.
    #[error(
        "{request}: the cloud refused the request as invalid (HTTP 400): {message}. Fix the spec or the credentials' settings; sending the same request again will not help"
    )]
    BadRequest { request: String, message: String },

    /// 403. The credentials lack a role or permission.
    #[error(
        "{request}: forbidden (HTTP 403): {message}. The credentials lack a role or permission this call needs (Nova's os-cloudpipe needs the admin role)"
    )]
    Forbidden { request: String, message: String },

    /// 409. The resource is in a state that does not allow the call.
    #[error(
        "{request}: conflict (HTTP 409): {message}. The resource is in a state that does not allow this call; wait for it to settle or remove what conflicts with it"
    )]
    Conflict { request: String, message: String },

    /// 410. The API was removed from this cloud (Nova answers 410 for os-cloudpipe from 16.0.0, Pike).
    #[error(
        "{request}: gone (HTTP 410): {message}. This cloud no longer offers the API (Nova removed os-cloudpipe in 16.0.0, Pike); retrying will not help"
    )]
    Gone { request: String, message: String },

    /// 429. Wait [`CloudError::retry_after`] (if the cloud said) and try again.
    #[error("{request}: rate limited by the cloud (HTTP 429){}: {message}", retry_hint(.retry_after))]
    RateLimited {
        request: String,
        message: String,
        retry_after: Option<Duration>,
    },

    /// 503. The service is down or overloaded for now.
    #[error("{request}: service unavailable (HTTP {status}){}: {message}", retry_hint(.retry_after))]
    Unavailable {
        request: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    /// Any other 5xx. Usually transient. A create that fails this way may still have taken
    /// effect in the cloud: look for the resource before creating it again.
    #[error(
        "{request}: server error (HTTP {status}): {message}. Usually transient; if it persists, the cloud operator's logs hold the cause"
    )]
    Server {
        request: String,
        status: u16,
        message: String,
    },

    /// Any other status the call did not expect (405, 406, 413, 415, 3xx, …).
    #[error("{request}: unexpected HTTP {status}: {message}")]
    HttpStatus {
        request: String,
        status: u16,
        message: String,
    },

    /// 401 from Keystone when authenticating, or from a service even with a freshly issued token.
    #[error(
        "{request}: unauthorized (HTTP 401): {message}. Check the credentials in clouds.yaml (user, password or application credential, project, domains) and that they are neither expired nor revoked"
    )]
    Unauthorized { request: String, message: String },

    /// A POST met a 401. The stale token has been dropped, but the POST was not sent again
    /// (a POST is never retried here: the reconciler decides). Retrying will use a new token.
    #[error(
        "{request}: the cloud rejected the token (HTTP 401); a new one will be used, but the request was not sent again because it creates something. Retry it"
    )]
    TokenRejected { request: String },

    /// No complete answer within the call's timeout. The request may or may not have taken effect.
    #[error("{request}: no complete answer within {}s; the request may or may not have taken effect. Retry later; if this persists the cloud is slow or unreachable", .after.as_secs_f64())]
    Timeout { request: String, after: Duration },

    /// The connection could not be made, or was reset. The request may or may not have taken effect.
    #[error(
        "{request}: connection failed: {message}. The request may or may not have taken effect; check that the endpoint is reachable from the operator"
    )]
    Connect { request: String, message: String },

    /// The answer had a success status but a body that is not what the API documents.
    #[error("{request}: the cloud's answer could not be understood: {what}")]
    InvalidResponse { request: String, what: String },

    /// clouds.yaml, the CA bundle, or the catalog does not allow talking to the cloud.
    #[error("cloud configuration: {0}")]
    Config(String),
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {}s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl CloudError {
    /// Whether the same request may succeed later without any change: 5xx, 429, timeouts,
    /// connection failures, and a POST whose token was rejected. Everything else needs a
    /// change of spec, credentials or cloud.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CloudError::RateLimited { .. }
                | CloudError::Unavailable { .. }
                | CloudError::Server { .. }
                | CloudError::Timeout { .. }
                | CloudError::Connect { .. }
                | CloudError::TokenRejected { .. }
        )
    }

    /// How long the cloud asked us to wait (`Retry-After`, or Nova's `retryAfter`), if it did.
    /// The reconciler should wait at least this long before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CloudError::RateLimited { retry_after, .. }
            | CloudError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status the cloud answered with, if the error comes from an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            CloudError::NotFound { .. } => Some(404),
            CloudError::BadRequest { .. } => Some(400),
            CloudError::Forbidden { .. } => Some(403),
            CloudError::Conflict { .. } => Some(409),
            CloudError::Gone { .. } => Some(410),
            CloudError::RateLimited { .. } => Some(429),
            CloudError::Unauthorized { .. } | CloudError::TokenRejected { .. } => Some(401),
            CloudError::Unavailable { status, .. }
            | CloudError::Server { status, .. }
            | CloudError::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, CloudError::NotFound { .. })
    }

    /// The API is not offered by this cloud any more (Nova 410).
    pub fn is_gone(&self) -> bool {
        matches!(self, CloudError::Gone { .. })
    }

    pub(crate) fn invalid(request: &str, what: impl Into<String>) -> Self {
        CloudError::InvalidResponse {
            request: request.to_owned(),
            what: what.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "GET http://127.0.0.1:1/v2.1/os-cloudpipe";

    #[test]
    fn non_error_classes() {
        assert!(!CloudError::Config("x".into()).is_transient());
        assert!(!CloudError::invalid(REQ, "y").is_transient());
        assert!(
            CloudError::Timeout {
                request: REQ.into(),
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(
            CloudError::Connect {
                request: REQ.into(),
                message: "reset".into()
            }
            .is_transient()
        );
        assert!(
            CloudError::TokenRejected {
                request: REQ.into()
            }
            .is_transient()
        );
        assert_eq!(
            CloudError::TokenRejected {
                request: REQ.into()
            }
            .status(),
            Some(401)
        );
    }
}
