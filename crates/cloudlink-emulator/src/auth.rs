//! Who is calling: the incoming `X-Auth-Token` checked against the built-in identity, or, with
//! `--keystone-url`, against a real Keystone the way keystonemiddleware does it
//! (`GET /v3/auth/tokens` with a service token and `X-Subject-Token`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::identity::Identity;

pub enum AuthFailure {
    /// No token, or one that is unknown, expired or revoked.
    Unauthorized,
    /// The real Keystone could not be asked.
    Unavailable,
}

pub enum Authenticator {
    Builtin(Arc<Identity>),
    Keystone(Box<RemoteKeystone>),
}

impl Authenticator {
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or(AuthFailure::Unauthorized)?;
        match self {
            Authenticator::Builtin(identity) => {
                identity.caller(token).ok_or(AuthFailure::Unauthorized)
            }
            Authenticator::Keystone(keystone) => keystone.validate(token).await,
        }
    }

    /// The identity endpoint named in `WWW-Authenticate`.
    pub fn identity_uri(&self) -> &str {
        match self {
            Authenticator::Builtin(identity) => identity.base_url(),
            Authenticator::Keystone(keystone) => &keystone.url,
        }
    }

    /// Makes every token issued so far unusable here (built-in), or forgets what Keystone said
    /// about them (so the next use asks again).
    pub fn forget_tokens(&self) {
        match self {
            Authenticator::Builtin(identity) => identity.revoke_all(),
            Authenticator::Keystone(keystone) => keystone.cache().clear(),
        }
    }

    pub fn describe(&self) -> Value {
        match self {
            Authenticator::Builtin(identity) => identity.describe(),
            Authenticator::Keystone(keystone) => json!({
                "mode": "keystone",
                "url": keystone.url,
                "cached_tokens": keystone.cache().len(),
                "cache_ttl_ms": keystone.cache_ttl.as_millis(),
            }),
        }
    }
}

/// The service account the emulator validates tokens with. No Debug: it holds a password.
pub struct ServiceCredentials {
    pub user: String,
    pub password: String,
    pub project: String,
    pub domain: String,
}

pub struct RemoteKeystone {
    /// Without a trailing `/v3`.
    url: String,
    client: reqwest::Client,
    credentials: ServiceCredentials,
    service_token: tokio::sync::Mutex<Option<ServiceToken>>,
    /// Positive answers only, kept `cache_ttl`: a revoked token stops working within that time.
    cache: Mutex<HashMap<String, CachedCaller>>,
    cache_ttl: Duration,
}

struct ServiceToken {
    value: String,
    renew_at: Instant,
}

struct CachedCaller {
    caller: Caller,
    until: Instant,
}

/// Bounds the cache under a flood of distinct tokens; expired entries go first.
const CACHE_SWEEP_AT: usize = 10_000;

impl RemoteKeystone {
    pub fn new(
        url: &str,
        credentials: ServiceCredentials,
        cache_ttl: Duration,
    ) -> Result<RemoteKeystone, String> {
        let url = url.trim_end_matches('/');
        let url = url.strip_suffix("/v3").unwrap_or(url).to_owned();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(RemoteKeystone {
            url,
            client,
            credentials,
            service_token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            cache_ttl,
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedCaller>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn validate(&self, token: &str) -> Result<Caller, AuthFailure> {
        let now = Instant::now();
        if let Some(hit) = self
            .cache()
            .get(token)
            .filter(|c| c.until > now && c.caller.expires_at > Timestamp::now())
        {
            return Ok(hit.caller.clone());
        }
        // A 401 here means our own service token went bad (expired, revoked): renew it once.
        for renew in [false, true] {
            let service_token = self.service_token(renew).await?;
            let response = self
                .client
                .get(format!("{}/v3/auth/tokens?nocatalog", self.url))
                .header("X-Auth-Token", service_token)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "keystone unreachable while validating a token");
                    AuthFailure::Unavailable
                })?;
            match response.status().as_u16() {
                200 => {
                    let body: Value = response
                        .json()
                        .await
                        .map_err(|_| AuthFailure::Unavailable)?;
                    let caller = caller_from_token(&body).ok_or(AuthFailure::Unauthorized)?;
                    let mut cache = self.cache();
                    if cache.len() >= CACHE_SWEEP_AT {
                        cache.retain(|_, c| c.until > now);
                    }
                    cache.insert(
                        token.to_owned(),
                        CachedCaller {
                            caller: caller.clone(),
                            until: now + self.cache_ttl,
                        },
                    );
                    return Ok(caller);
                }
                404 => return Err(AuthFailure::Unauthorized),
                401 if !renew => continue,
                status => {
                    tracing::warn!(
                        status,
                        "keystone refused to validate a token with the service token"
                    );
                    return Err(AuthFailure::Unavailable);
                }
            }
        }
        Err(AuthFailure::Unavailable)
    }

    async fn service_token(&self, renew: bool) -> Result<String, AuthFailure> {
        let mut slot = self.service_token.lock().await;
        if let Some(token) = slot
            .as_ref()
            .filter(|t| !renew && t.renew_at > Instant::now())
        {
            return Ok(token.value.clone());
        }
        let credentials = &self.credentials;
        let request = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": credentials.user, "domain": {"id": credentials.domain}, "password": credentials.password,
            }}},
            "scope": {"project": {"name": credentials.project, "domain": {"id": credentials.domain}}},
        }});
        let response = self
            .client
            .post(format!("{}/v3/auth/tokens?nocatalog", self.url))
            .json(&request)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "keystone unreachable while getting the service token");
                AuthFailure::Unavailable
            })?;
        if response.status().as_u16() != 201 {
            tracing::error!(status = response.status().as_u16(), user = %credentials.user, "keystone refused the service credentials");
            return Err(AuthFailure::Unavailable);
        }
        let value = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthFailure::Unavailable)?
            .to_owned();
        let body: Value = response
            .json()
            .await
            .map_err(|_| AuthFailure::Unavailable)?;
        // Renew a minute before Keystone's expiry; if the expiry cannot be read, in five minutes.
        let lifetime = body["token"]["expires_at"]
            .as_str()
            .and_then(|s| s.parse::<Timestamp>().ok())
            .and_then(|expires| Duration::try_from(expires.duration_since(Timestamp::now())).ok())
            .map(|left| left.saturating_sub(Duration::from_secs(60)))
            .unwrap_or(Duration::from_secs(300));
        *slot = Some(ServiceToken {
            value: value.clone(),
            renew_at: Instant::now() + lifetime,
        });
        Ok(value)
    }
}

/// Reads Keystone's validation answer. `None` for a token without a project (unscoped): none of
/// the emulated services can be used with one.
fn caller_from_token(body: &Value) -> Option<Caller> {
    let token = &body["token"];
    Some(Caller {
        user_id: token["user"]["id"].as_str()?.to_owned(),
        project_id: token["project"]["id"].as_str()?.to_owned(),
        roles: token["roles"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        expires_at: token["expires_at"].as_str()?.parse().ok()?,
    })
}
