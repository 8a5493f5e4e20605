//! The one door every outbound request goes through, Keystone's included.
//!
//! Keeping it to one function ([`Transport::execute`]) gives one place for what must hold for
//! every call — a deadline, no redirects, the token marked sensitive, a bounded body, errors
//! typed — and one place where every call is counted ([`CallMetrics`]). The per-credential rate
//! limit is the session's, which waits for it before the first attempt of each call.
//!
//! This layer never retries: whether and when to send a request again is decided by the session
//! (one resend after a re-authentication, never for a POST) or by the reconciler.

use std::sync::Once;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{self, CloudError};
use super::secret::Secret;

/// The header Keystone-protected services read the token from.
pub(crate) const AUTH_TOKEN: &str = "x-auth-token";
/// Largest answer read. Cloud answers are small; a bigger one is a misrouted request.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// reqwest is built with `rustls-no-provider`: the process must choose the crypto provider once.
fn ensure_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process (kube, a test) installed one already: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Told about every outbound call once it has ended: the operator counts them for `/metrics`.
pub trait CallMetrics: Send + Sync {
    /// `outcome` is the HTTP status, or what went wrong before one arrived.
    fn record(&self, service: &str, operation: &str, outcome: CallOutcome, elapsed: Duration);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Status(u16),
    Timeout,
    Connect,
    Invalid,
}

/// An HTTP client bound to one credential's TLS settings, with a per-call deadline.
#[derive(Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    timeout: Duration,
    metrics: Option<std::sync::Arc<dyn CallMetrics>>,
}

/// One request, described completely so that [`Transport::execute`] needs nothing else.
pub(crate) struct Outbound {
    /// Service type, for logs and metrics: "identity", "compute", ….
    pub service: &'static str,
    /// What the call does, for logs and metrics: "list_cloudpipes", ….
    pub operation: &'static str,
    pub method: Method,
    pub url: Url,
    pub token: Option<Secret>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A JSON document, already serialised.
    pub body: Option<Vec<u8>>,
}

/// A complete answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// "METHOD URL", for error messages.
    pub request: String,
}

impl Inbound {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The typed error for a non-success answer.
    pub fn error(&self) -> CloudError {
        error::response::from_response(&self.request, self.status, &self.headers, &self.body)
    }

    /// The body as `T`. `what` names the expected document in the error ("a cloudpipe list").
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, CloudError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(CloudError::invalid(
                &self.request,
                format!(
                    "HTTP {} with an empty body where {what} was expected",
                    self.status
                ),
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let kind = if e.is_syntax() || e.is_eof() {
                "is not valid JSON"
            } else {
                "does not have the documented shape"
            };
            CloudError::invalid(
                &self.request,
                format!("HTTP {} body {kind} (expected {what}): {e}", self.status),
            )
        })
    }
}

/// "POST http://host/path?query", without any user or password the URL may carry.
pub(crate) fn describe(method: &Method, url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    format!("{method} {shown}")
}

impl Transport {
    /// `verify` false turns TLS verification off (only ever from clouds.yaml's `verify: false`).
    /// `ca_pem` is added to the system's roots, so a private CA works without losing public ones.
    pub fn new(
        verify: bool,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
        user_agent: &str,
    ) -> Result<Self, CloudError> {
        ensure_crypto_provider();
        let mut builder = reqwest::Client::builder()
            // Redirects would carry X-Auth-Token to wherever they point.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .connect_timeout(connect_timeout(timeout))
            .pool_idle_timeout(Duration::from_secs(60));
        if !verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        } else if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| {
                CloudError::Config("the Secret's cacert is not a PEM bundle of certificates".into())
            })?;
            if certs.is_empty() {
                return Err(CloudError::Config("the Secret's cacert holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| {
            CloudError::Config(format!("cannot set up the HTTPS client: {}", chain(&e)))
        })?;
        Ok(Transport {
            client,
            timeout,
            metrics: None,
        })
    }

    pub fn with_metrics(mut self, metrics: Option<std::sync::Arc<dyn CallMetrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `req` and reads the whole answer, all within the deadline. Never retries.
    pub async fn execute(&self, req: Outbound) -> Result<Inbound, CloudError> {
        let request = describe(&req.method, &req.url);
        let started = Instant::now();
        let (service, operation) = (req.service, req.operation);
        let result = match tokio::time::timeout(self.timeout, self.send(req, &request)).await {
            Ok(result) => result,
            Err(_) => Err(CloudError::Timeout {
                request: request.clone(),
                after: self.timeout,
            }),
        };
        if let Some(metrics) = &self.metrics {
            let outcome = match &result {
                Ok(r) => CallOutcome::Status(r.status),
                Err(CloudError::Timeout { .. }) => CallOutcome::Timeout,
                Err(CloudError::Connect { .. }) => CallOutcome::Connect,
                Err(_) => CallOutcome::Invalid,
            };
            metrics.record(service, operation, outcome, started.elapsed());
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(r) => {
                tracing::debug!(service, operation, request = %request, status = r.status, elapsed_ms, "cloud call")
            }
            Err(e) => {
                tracing::debug!(service, operation, request = %request, error = %e, elapsed_ms, "cloud call failed")
            }
        }
        result
    }

    async fn send(&self, req: Outbound, request: &str) -> Result<Inbound, CloudError> {
        let mut builder = self
            .client
            .request(req.method, req.url)
            .header(ACCEPT, "application/json");
        if let Some(token) = &req.token {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                CloudError::invalid(
                    request,
                    "Keystone issued a token that is not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTH_TOKEN, value);
        }
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = req.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_error(request, &e, self.timeout))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(request, &e, self.timeout))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(CloudError::invalid(
                    request,
                    format!("the answer is larger than {MAX_BODY} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Inbound {
            status,
            headers,
            body,
            request: request.to_owned(),
        })
    }
}

fn connect_timeout(timeout: Duration) -> Duration {
    timeout.min(Duration::from_secs(10))
}

fn transport_error(request: &str, e: &reqwest::Error, timeout: Duration) -> CloudError {
    let request = request.to_owned();
    if e.is_timeout() {
        // Only the connect timeout can fire here; the overall deadline is ours.
        return CloudError::Timeout {
            request,
            after: connect_timeout(timeout),
        };
    }
    let detail = chain(e);
    let message = if e.is_connect() {
        format!("could not connect: {detail}")
    } else if e.is_body() || e.is_decode() {
        format!("the connection broke while reading the answer: {detail}")
    } else {
        format!("the connection broke: {detail}")
    };
    CloudError::Connect { request, message }
}

/// "a: b: c" from an error and its sources, without reqwest's repetition of the URL.
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_hides_userinfo() {
        let url = Url::parse("http://admin:pw@127.0.0.1:5000/v3/auth/tokens?nocatalog").unwrap();
        assert_eq!(
            describe(&Method::POST, &url),
            "POST http://127.0.0.1:5000/v3/auth/tokens?nocatalog"
        );
    }

    #[test]
    fn json_errors_are_clear() {
        let r = Inbound {
            status: 200,
            headers: HeaderMap::new(),
            body: b"<html>oops".to_vec(),
            request: "GET http://x/".into(),
        };
        let e = r
            .json::<serde_json::Value>("a cloudpipe list")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not valid JSON (expected a cloudpipe list)"),
            "{e}"
        );
        let r = Inbound {
            status: 200,
            headers: HeaderMap::new(),
            body: b"  ".to_vec(),
            request: "GET http://x/".into(),
        };
        assert!(
            r.json::<serde_json::Value>("x")
                .unwrap_err()
                .to_string()
                .contains("empty body")
        );
    }

    #[test]
    fn bad_ca_is_a_config_error() {
        let e = Transport::new(true, Some(b"not a pem"), Duration::from_secs(1), "t")
            .err()
            .unwrap();
        assert!(matches!(e, CloudError::Config(_)), "{e:?}");
        // verify: false wins over a CA, as in keystoneauth.
        assert!(Transport::new(false, Some(b"not a pem"), Duration::from_secs(1), "t").is_ok());
    }
}
