//! A session: one credential, its HTTP client and its shared token. The service clients (`nova`,
//! `ecl`, `sss`) are built from a session and send their calls through an [`Endpoint`]; the
//! session knows a service only as its client describes it ([`Service`]: catalog type, version
//! prefix; headers).
//!
//! [`CloudSession`] is an `Arc` inside, so clones are cheap and share the token. Build one per
//! credential and keep it: [`SessionKey`] (the parsed cloud plus the CA bundle, comparable and
//! hashable, secrets included) is what a cache of sessions should be keyed by, so that two
//! objects using the same Secret share a token while a changed Secret gets a new session.
//!
//! Retry rule, in one place (`CloudSession::call`, behind every [`Request::send`]): a 401 drops the token and renews it once
//! (single-flight, see `keystone::cache`); a GET, PUT or DELETE is then sent once more; a POST never is —
//! it returns [`CloudError::TokenRejected`] and the reconciler decides. Nothing else is retried.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::clouds_yaml::{CloudConfig, parse_clouds_yaml};
use super::error::CloudError;
use super::http::{CallMetrics, Inbound, Outbound, Transport};
use super::keystone::cache::TokenCache;
use super::keystone::{self, Token, TokenInfo};
use super::rate_limit::{RateLimit, TokenBucket};

/// Everything that decides which token and TLS settings a session uses.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub config: CloudConfig,
    /// The Secret's `cacert` key, if any.
    pub ca_pem: Option<Vec<u8>>,
}

impl SessionKey {
    /// Parses `clouds_yaml` (a Secret's `clouds.yaml` key) for `cloud`.
    pub fn from_clouds_yaml(
        clouds_yaml: &str,
        cloud: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, CloudError> {
        let config = parse_clouds_yaml(clouds_yaml, cloud)?;
        let ca_pem = ca_pem
            .filter(|b| !b.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec);
        Ok(SessionKey { config, ca_pem })
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("config", &self.config)
            .field("ca_pem_bytes", &self.ca_pem.as_ref().map(Vec::len))
            .finish()
    }
}

/// Knobs that are not part of the credential.
#[derive(Clone)]
pub struct SessionOptions {
    /// Deadline of each HTTP call, Keystone's included, from sending to the last byte.
    pub timeout: Duration,
    pub user_agent: String,
    /// Calls per second this credential may send, shared by every object using it (None: no limit).
    pub rate_limit: Option<RateLimit>,
    /// Told about every call.
    pub metrics: Option<Arc<dyn CallMetrics>>,
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("rate_limit", &self.rate_limit)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            timeout: Duration::from_secs(30),
            user_agent: concat!("cloudlink/", env!("CARGO_PKG_VERSION")).to_owned(),
            rate_limit: None,
            metrics: None,
        }
    }
}

/// One credential's connection to a cloud. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct CloudSession {
    inner: Arc<Inner>,
}

struct Inner {
    key: SessionKey,
    transport: Transport,
    tokens: TokenCache,
    limiter: Option<TokenBucket>,
}

impl fmt::Debug for CloudSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudSession")
            .field("cloud", &self.inner.key.config.cloud_name)
            .field("auth_url", &self.inner.key.config.auth_url)
            .field("timeout", &self.inner.transport.timeout())
            .finish_non_exhaustive()
    }
}

/// A service as its client describes it to the session: the type its catalog entry has, and
/// how its catalog URL becomes its API root.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Service {
    pub service_type: &'static str,
    /// The path segments to add between the catalog URL and the resources, given the catalog
    /// URL's non-empty path segments.
    pub version_prefix: fn(&[&str]) -> &'static [&'static str],
}

impl Service {
    /// What [`Service::version_prefix`] adds to `root`.
    pub fn prefix_of(self, root: &Url) -> &'static [&'static str] {
        let segs: Vec<&str> = root
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        (self.version_prefix)(&segs)
    }
}

/// Headers a service wants on every call (Nova's microversion).
pub(crate) type FixedHeaders = &'static [(HeaderName, HeaderValue)];

/// One API call, described independently of the token so that it can be sent twice.
struct ApiCall<'a> {
    service: Service,
    headers: FixedHeaders,
    operation: &'static str,
    method: Method,
    /// Segments after the API root; each is percent-encoded, so an id cannot change the path.
    path: &'a [&'a str],
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
}

/// A session as one service client sees it: the service whose API root calls go to, and the
/// headers each of its calls carries.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    session: CloudSession,
    service: Service,
    headers: FixedHeaders,
}

impl Endpoint {
    pub fn new(session: &CloudSession, service: Service) -> Self {
        Endpoint {
            session: session.clone(),
            service,
            headers: &[],
        }
    }

    pub fn with_headers(self, headers: FixedHeaders) -> Self {
        Endpoint { headers, ..self }
    }

    pub fn session(&self) -> &CloudSession {
        &self.session
    }

    /// Starts a call: `operation` names it in logs and metrics, `path` is the segments after the
    /// service's API root (each percent-encoded, so an id cannot change the path).
    pub fn request<'a>(
        &'a self,
        operation: &'static str,
        method: Method,
        path: &'a [&'a str],
    ) -> Request<'a> {
        Request {
            session: &self.session,
            call: ApiCall {
                service: self.service,
                headers: self.headers,
                operation,
                method,
                path,
                query: Vec::new(),
                body: None,
            },
        }
    }
}

/// Query parameters from optional values: the unset ones are not sent.
pub(crate) fn set_params<V: ToString>(
    pairs: impl IntoIterator<Item = (&'static str, Option<V>)>,
) -> Vec<(&'static str, String)> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?.to_string())))
        .collect()
}

/// A call being built: `endpoint.request(…).query(…).body(…).send().await`.
#[must_use = "a request does nothing until it is sent"]
pub(crate) struct Request<'a> {
    session: &'a CloudSession,
    call: ApiCall<'a>,
}

impl Request<'_> {
    /// Adds query parameters, in order.
    pub fn query(mut self, pairs: impl IntoIterator<Item = (&'static str, String)>) -> Self {
        self.call.query.extend(pairs);
        self
    }

    pub fn body(mut self, body: serde_json::Value) -> Self {
        self.call.body = Some(body);
        self
    }

    /// Sends it under the session's retry rule (this module's documentation).
    pub async fn send(self) -> Result<Inbound, CloudError> {
        self.session.call(self.call).await
    }
}

impl CloudSession {
    /// The constructor the engine calls: a Secret's `clouds.yaml`, the cloud's name in it, and the
    /// Secret's `cacert` bytes if present. Does no I/O; the first call authenticates.
    pub fn from_clouds_yaml(
        clouds_yaml: &str,
        cloud: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, CloudError> {
        Self::new(
            SessionKey::from_clouds_yaml(clouds_yaml, cloud, ca_pem)?,
            SessionOptions::default(),
        )
    }

    /// Builds a session for `key`. Fails only on configuration (an unreadable CA bundle, or a
    /// `cacert` path with no bundle in the Secret).
    pub fn new(key: SessionKey, options: SessionOptions) -> Result<Self, CloudError> {
        let config = &key.config;
        let https = config.auth_url.starts_with("https:")
            || config
                .endpoint_overrides
                .values()
                .any(|u| u.starts_with("https:"));
        if config.verify
            && https
            && key.ca_pem.is_none()
            && let Some(path) = &config.cacert_path
        {
            return Err(CloudError::Config(format!(
                "clouds.yaml: cloud '{}' sets cacert to the file {path}, which cloudlink cannot read; \
                 put the PEM bundle itself into the Secret under the key cacert",
                config.cloud_name
            )));
        }
        let transport = Transport::new(
            config.verify,
            key.ca_pem.as_deref(),
            options.timeout,
            &options.user_agent,
        )?
        .with_metrics(options.metrics.clone());
        let limiter = options.rate_limit.map(TokenBucket::new);
        Ok(CloudSession {
            inner: Arc::new(Inner {
                key,
                transport,
                tokens: TokenCache::default(),
                limiter,
            }),
        })
    }

    pub fn key(&self) -> &SessionKey {
        &self.inner.key
    }

    pub fn config(&self) -> &CloudConfig {
        &self.inner.key.config
    }

    /// Who the token says we are (authenticating if needed): project, user, roles, catalog.
    pub async fn token_info(&self) -> Result<Arc<TokenInfo>, CloudError> {
        Ok(self.token().await?.info.clone())
    }

    /// The token's project: the default project of a cloudpipe, and "our" tenant in ECL.
    pub async fn project_id(&self) -> Result<String, CloudError> {
        Ok(self.token_info().await?.project_id.clone())
    }

    /// How many tokens this session has obtained (diagnostics and tests).
    pub fn tokens_issued(&self) -> u64 {
        self.inner.tokens.issued()
    }

    async fn token(&self) -> Result<Arc<Token>, CloudError> {
        let inner = &self.inner;
        inner
            .tokens
            .get(|| keystone::issue_token(&inner.transport, &inner.key.config))
            .await
    }

    /// The API root of `service`: the clouds.yaml override, or the catalog's endpoint.
    fn root(&self, token: &Token, service: Service) -> Result<Url, CloudError> {
        let config = &self.inner.key.config;
        let raw = match config.endpoint_overrides.get(service.service_type) {
            Some(url) => url.clone(),
            None => token.info.catalog.endpoint(
                &config.cloud_name,
                service.service_type,
                config.interface,
                config.region_name.as_deref(),
            )?,
        };
        Url::parse(&raw).map_err(|_| {
            CloudError::Config(format!(
                "the {} endpoint of cloud '{}' is not a URL",
                service.service_type, config.cloud_name
            ))
        })
    }

    fn url(&self, token: &Token, call: &ApiCall<'_>) -> Result<Url, CloudError> {
        let mut url = self.root(token, call.service)?;
        let prefix = call.service.prefix_of(&url);
        {
            let mut segs = url.path_segments_mut().map_err(|_| {
                CloudError::Config(format!(
                    "the {} endpoint cannot have paths appended",
                    call.service.service_type
                ))
            })?;
            segs.pop_if_empty().extend(prefix).extend(call.path);
        }
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    fn outbound(
        &self,
        token: &Token,
        call: &ApiCall<'_>,
        body: &Option<Vec<u8>>,
    ) -> Result<Outbound, CloudError> {
        Ok(Outbound {
            service: call.service.service_type,
            operation: call.operation,
            method: call.method.clone(),
            url: self.url(token, call)?,
            token: Some(token.id.clone()),
            headers: call.headers.to_vec(),
            body: body.clone(),
        })
    }

    /// Sends `call` with the shared token; returns the answer if its status is 2xx, the typed
    /// error otherwise. On a 401: renew the token once, and resend unless it is a POST.
    async fn call(&self, call: ApiCall<'_>) -> Result<Inbound, CloudError> {
        if let Some(limiter) = &self.inner.limiter {
            limiter.acquire().await;
        }
        let body = match &call.body {
            Some(v) => Some(
                serde_json::to_vec(v)
                    .map_err(|e| CloudError::Config(format!("cannot encode the request: {e}")))?,
            ),
            None => None,
        };
        let token = self.token().await?;
        let response = self
            .inner
            .transport
            .execute(self.outbound(&token, &call, &body)?)
            .await?;
        if response.status != 401 {
            return ok_or_error(response);
        }
        tracing::debug!(request = %response.request, "token refused; renewing it");
        self.inner.tokens.invalidate(&token).await;
        let token = self.token().await?;
        if call.method == Method::POST {
            return Err(CloudError::TokenRejected {
                request: response.request,
            });
        }
        let response = self
            .inner
            .transport
            .execute(self.outbound(&token, &call, &body)?)
            .await?;
        if response.status == 401 {
            // A fresh token refused as well: the credentials or their roles are the problem.
            return Err(match response.error() {
                CloudError::Unauthorized { request, message } => CloudError::Unauthorized {
                    request,
                    message: format!("{message} (refused even with a freshly issued token)"),
                },
                other => other,
            });
        }
        ok_or_error(response)
    }
}

fn ok_or_error(response: Inbound) -> Result<Inbound, CloudError> {
    if response.is_success() {
        Ok(response)
    } else {
        Err(response.error())
    }
}

/// Rejects an empty id before it turns `GET /servers/{id}` into `GET /servers/`.
pub(crate) fn require_id<'a>(what: &str, id: &'a str) -> Result<&'a str, CloudError> {
    if id.trim().is_empty() {
        Err(CloudError::Config(format!(
            "invalid argument: the {what} id is empty"
        )))
    } else {
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "clouds: {x: {auth: {auth_url: 'https://k/v3', user_id: u, password: TopSecret1, project_id: p}, cacert: /etc/ca.pem}}";

    #[test]
    fn cacert_path_without_bundle_is_explained() {
        let e = CloudSession::from_clouds_yaml(YAML, "x", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/etc/ca.pem") && e.contains("Secret under the key cacert"),
            "{e}"
        );
        let plain = YAML.replace("https", "http");
        assert!(CloudSession::from_clouds_yaml(&plain, "x", None).is_ok());
        // An empty cacert key counts as none.
        assert!(CloudSession::from_clouds_yaml(YAML, "x", Some(b"\n")).is_err());
    }

    #[test]
    fn session_and_key_debug_are_redacted() {
        let s =
            CloudSession::from_clouds_yaml(&YAML.replace("https", "http"), "x", Some(b"")).unwrap();
        let dbg = format!("{s:?} {:?} {:#?}", s.key(), s.key());
        assert!(!dbg.contains("TopSecret1"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn keys_compare_by_credentials() {
        let a = SessionKey::from_clouds_yaml(YAML, "x", Some(b"pem")).unwrap();
        let b = SessionKey::from_clouds_yaml(YAML, "x", Some(b"pem")).unwrap();
        let c = SessionKey::from_clouds_yaml(
            &YAML.replace("TopSecret1", "TopSecret2"),
            "x",
            Some(b"pem"),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut set = std::collections::HashSet::new();
        set.insert(a);
        assert!(set.contains(&b) && !set.contains(&c));
    }
}
