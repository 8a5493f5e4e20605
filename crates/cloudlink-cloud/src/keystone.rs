//! Keystone v3: getting a project-scoped token.
//!
//! A token is used until shortly before its `expires_at`; the margin is computed from the
//! token's own lifetime (`expires_at - issued_at`, both the server's clock) and measured on the
//! local monotonic clock, so clock skew between the operator and Keystone does not matter.
//! Sharing one token among every caller of a credential is the job of `keystone::cache`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::catalog::Catalog;
use super::clouds_yaml::{
    AppCredentialRef, AuthMethod, CloudConfig, DomainRef, ProjectScope, UserRef,
};
use super::error::CloudError;
use super::http::{Inbound, Outbound, Transport};
use super::secret::Secret;
use super::serde_util::{de_string, null_as_default};

pub(crate) mod cache;

/// Renew at most this long before expiry (less for short-lived tokens: a tenth of their life).
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(120);

/// What a token says about who we are. Shared by all users of the token; holds no secret.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// The token's project: the default project for cloudpipes, and "our" tenant in ECL.
    pub project_id: String,
    pub project_name: String,
    pub user_id: String,
    pub roles: Vec<String>,
    pub expires_at: jiff::Timestamp,
    pub catalog: Catalog,
}

/// A token and when to stop using it.
pub(crate) struct Token {
    pub id: Secret,
    pub info: Arc<TokenInfo>,
    /// From here on, callers ask for a new token.
    refresh_at: Instant,
    /// Until here the token still works, so it can stand in if renewal fails.
    expires: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("info", &self.info)
            .finish()
    }
}

/// `{auth_url}/auth/tokens`, accepting auth URLs with or without `/v3` and a trailing slash.
pub(crate) fn token_url(auth_url: &str) -> Result<Url, CloudError> {
    let mut url = Url::parse(auth_url)
        .map_err(|_| CloudError::Config("clouds.yaml: auth.auth_url is not a URL".into()))?;
    let last = url
        .path_segments()
        .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned));
    {
        let mut segs = url.path_segments_mut().map_err(|_| {
            CloudError::Config("clouds.yaml: auth.auth_url cannot have paths appended".into())
        })?;
        segs.pop_if_empty();
        match last.as_deref() {
            Some("v3") => {}
            Some(v) if v.starts_with("v2") => {
                return Err(CloudError::Config(
                    "clouds.yaml: auth.auth_url points at Keystone v2.0; cloudlink speaks only v3 (use the /v3 URL)".into(),
                ));
            }
            _ => {
                segs.push("v3");
            }
        }
        segs.extend(["auth", "tokens"]);
    }
    Ok(url)
}

fn domain(d: &DomainRef) -> serde_json::Value {
    match d {
        DomainRef::Id(id) => json!({ "id": id }),
        DomainRef::Name(name) => json!({ "name": name }),
    }
}

fn user(u: &UserRef) -> serde_json::Value {
    match u {
        UserRef::Id(id) => json!({ "id": id }),
        UserRef::Name { name, domain: d } => json!({ "name": name, "domain": domain(d) }),
    }
}

/// The body of `POST /v3/auth/tokens`. It holds a secret: serialise it straight onto the wire,
/// never log it.
pub(crate) fn auth_body(method: &AuthMethod) -> serde_json::Value {
    match method {
        AuthMethod::Password {
            user: u,
            password,
            project,
        } => {
            let mut user = user(u);
            user["password"] = json!(password.expose());
            let project = match project {
                ProjectScope::Id(id) => json!({ "id": id }),
                ProjectScope::Name { name, domain: d } => {
                    json!({ "name": name, "domain": domain(d) })
                }
            };
            json!({ "auth": {
                "identity": { "methods": ["password"], "password": { "user": user } },
                "scope": { "project": project },
            }})
        }
        AuthMethod::ApplicationCredential { credential, secret } => {
            let cred = match credential {
                AppCredentialRef::Id(id) => json!({ "id": id, "secret": secret.expose() }),
                AppCredentialRef::Name { name, user: u } => {
                    json!({ "name": name, "user": user(u), "secret": secret.expose() })
                }
            };
            json!({ "auth": { "identity": { "methods": ["application_credential"], "application_credential": cred } } })
        }
    }
}

#[derive(Deserialize)]
struct TokenEnvelope {
    token: TokenBody,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenBody {
    #[serde(deserialize_with = "de_string")]
    expires_at: String,
    #[serde(deserialize_with = "de_string")]
    issued_at: String,
    #[serde(deserialize_with = "null_as_default")]
    project: Named,
    #[serde(deserialize_with = "null_as_default")]
    user: Named,
    #[serde(deserialize_with = "null_as_default")]
    roles: Vec<Named>,
    catalog: Option<Catalog>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    #[serde(deserialize_with = "de_string")]
    id: String,
    #[serde(deserialize_with = "de_string")]
    name: String,
}

/// Keystone writes `2015-11-07T02:58:43.578887Z`; old releases leave out the `Z`.
fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

/// Reads a 201 answer to `POST /auth/tokens`.
pub(crate) fn parse_token(response: &Inbound, cloud: &str) -> Result<Token, CloudError> {
    let id = response
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            CloudError::invalid(
                &response.request,
                "Keystone answered without an X-Subject-Token header",
            )
        })?;
    let body: TokenEnvelope = response.json("a Keystone token ({\"token\": {...}})")?;
    let body = body.token;
    let expires_at = parse_time(&body.expires_at).ok_or_else(|| {
        CloudError::invalid(
            &response.request,
            "the token's expires_at is missing or not a time",
        )
    })?;
    if body.project.id.is_empty() {
        return Err(CloudError::Config(format!(
            "Keystone issued cloud '{cloud}' a token without a project; set auth.project_id or auth.project_name in clouds.yaml"
        )));
    }
    let now = jiff::Timestamp::now();
    let issued_at = parse_time(&body.issued_at).unwrap_or(now);
    let lifetime = expires_at
        .duration_since(issued_at)
        .max(jiff::SignedDuration::ZERO);
    let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::ZERO);
    let margin = (lifetime / 10).min(MAX_RENEW_MARGIN);
    let now = Instant::now();
    Ok(Token {
        id: Secret::new(id),
        refresh_at: now + lifetime.saturating_sub(margin),
        expires: now + lifetime,
        info: Arc::new(TokenInfo {
            project_id: body.project.id,
            project_name: body.project.name,
            user_id: body.user.id,
            roles: body
                .roles
                .into_iter()
                .map(|r| r.name)
                .filter(|n| !n.is_empty())
                .collect(),
            expires_at,
            catalog: body.catalog.unwrap_or_default(),
        }),
    })
}

/// Asks Keystone for a token. Never retried here: the cache decides when to ask again.
pub(crate) async fn issue_token(
    transport: &Transport,
    config: &CloudConfig,
) -> Result<Token, CloudError> {
    let url = token_url(&config.auth_url)?;
    let body = serde_json::to_vec(&auth_body(&config.auth))
        .map_err(|e| CloudError::Config(format!("cannot encode the auth request: {e}")))?;
    let response = transport
        .execute(Outbound {
            service: "identity",
            operation: "issue_token",
            method: Method::POST,
            url,
            token: None,
            headers: Vec::new(),
            body: Some(body),
        })
        .await?;
    if !response.is_success() {
        return Err(response.error());
    }
    parse_token(&response, &config.cloud_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clouds_yaml::parse_clouds_yaml;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn token_urls() {
        for (auth_url, want) in [
            ("http://k:5000/v3", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000/v3/", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000", "http://k:5000/v3/auth/tokens"),
            ("http://k/identity/", "http://k/identity/v3/auth/tokens"),
            (
                "https://keystone-jp1-ecl.api.ntt.com/v3/",
                "https://keystone-jp1-ecl.api.ntt.com/v3/auth/tokens",
            ),
        ] {
            assert_eq!(token_url(auth_url).unwrap().as_str(), want, "{auth_url}");
        }
        assert!(
            token_url("http://k:5000/v2.0")
                .unwrap_err()
                .to_string()
                .contains("v2.0")
        );
    }

    #[test]
    fn password_body_by_name_and_domain() {
        let c = parse_clouds_yaml(
            "clouds: {x: {auth: {auth_url: 'http://k/v3', username: demo, user_domain_id: default, password: s3cret, project_id: p1}}}",
            "x",
        )
        .unwrap();
        assert_eq!(
            auth_body(&c.auth),
            json!({"auth": {"identity": {"methods": ["password"],
                "password": {"user": {"name": "demo", "domain": {"id": "default"}, "password": "s3cret"}}},
                "scope": {"project": {"id": "p1"}}}})
        );
        let c = parse_clouds_yaml(
            "clouds: {x: {auth: {auth_url: 'http://k/v3', user_id: u1, password: s, project_name: demo, project_domain_name: Default}}}",
            "x",
        )
        .unwrap();
        assert_eq!(
            auth_body(&c.auth)["auth"]["scope"],
            json!({"project": {"name": "demo", "domain": {"name": "Default"}}})
        );
        assert_eq!(
            auth_body(&c.auth)["auth"]["identity"]["password"]["user"],
            json!({"id": "u1", "password": "s"})
        );
    }

    #[test]
    fn app_credential_body_has_no_scope() {
        let c = parse_clouds_yaml(
            "clouds: {x: {auth_type: v3applicationcredential, auth: {auth_url: 'http://k/v3', application_credential_id: a1, application_credential_secret: s}}}",
            "x",
        )
        .unwrap();
        assert_eq!(
            auth_body(&c.auth),
            json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "a1", "secret": "s"}}}})
        );
    }

    fn response(token: Option<&str>, body: serde_json::Value) -> Inbound {
        let mut headers = HeaderMap::new();
        if let Some(t) = token {
            headers.insert("x-subject-token", HeaderValue::from_str(t).unwrap());
        }
        Inbound {
            status: 201,
            headers,
            body: serde_json::to_vec(&body).unwrap(),
            request: "POST http://k/v3/auth/tokens".into(),
        }
    }

    #[test]
    fn parses_token_and_hides_it() {
        let r = response(
            Some("gAAAAABk-secret-token"),
            json!({"token": {"methods": ["password"], "issued_at": "2026-11-24T12:00:00.000000Z", "expires_at": "2026-11-24T13:00:00.000000Z",
                "project": {"id": "p1", "name": "demo", "domain": {"id": "default"}}, "user": {"id": "u1", "name": "demo"},
                "roles": [{"id": "r", "name": "admin"}], "catalog": [{"type": "compute", "endpoints": []}]}}),
        );
        let t = parse_token(&r, "x").unwrap();
        assert_eq!(t.id.expose(), "gAAAAABk-secret-token");
        assert_eq!(t.info.project_id, "p1");
        assert_eq!(t.info.roles, vec!["admin"]);
        assert_eq!(t.info.catalog.0.len(), 1);
        // 1 h token: renewed 2 min before expiry.
        let left = t.refresh_at.duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(3470) && left <= Duration::from_secs(3480),
            "{left:?}"
        );
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret-token"), "{dbg}");
    }

    #[test]
    fn token_errors() {
        let ok_body =
            json!({"token": {"expires_at": "2026-11-24T13:00:00Z", "project": {"id": "p"}}});
        assert!(matches!(
            parse_token(&response(None, ok_body.clone()), "x"),
            Err(CloudError::InvalidResponse { .. })
        ));
        assert!(parse_token(&response(Some("t"), ok_body), "x").is_ok());
        let no_expiry = json!({"token": {"project": {"id": "p"}}});
        assert!(
            parse_token(&response(Some("t"), no_expiry), "x")
                .unwrap_err()
                .to_string()
                .contains("expires_at")
        );
        let unscoped = json!({"token": {"expires_at": "2026-11-24T13:00:00.000000"}});
        assert!(matches!(
            parse_token(&response(Some("t"), unscoped), "x"),
            Err(CloudError::Config(_))
        ));
        let garbage = Inbound {
            status: 201,
            headers: response(Some("t"), json!({})).headers,
            body: b"{".to_vec(),
            request: "r".into(),
        };
        assert!(matches!(
            parse_token(&garbage, "x"),
            Err(CloudError::InvalidResponse { .. })
        ));
    }
}
