//! The built-in Keystone v3 subset (Keystone's v3 api-ref): version discovery, password and
//! application-credential tokens with a catalog pointing at the emulator, and token validation
//! and revocation as a service would use them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::body::{self, BodyError};
use crate::caller::Caller;
use crate::directory::{DOMAIN_ID, DOMAIN_NAME, Directory, User, stable_id};
use crate::errors::{self, Service};
use crate::query::Query;
use crate::timefmt;

pub struct Identity {
    directory: Directory,
    tokens: Mutex<TokenStore>,
    ttl: Duration,
    base_url: String,
    region: String,
}

#[derive(Default)]
struct TokenStore {
    tokens: HashMap<String, Token>,
    issued_since_sweep: usize,
}

/// Expired tokens are dropped every this many issues, so memory stays bounded under load.
const SWEEP_EVERY: usize = 1024;

#[derive(Clone)]
struct Token {
    user_id: String,
    project_id: String,
    roles: Vec<String>,
    method: &'static str,
    application_credential_id: Option<String>,
    issued_at: Timestamp,
    expires_at: Timestamp,
    audit_id: String,
}

impl Identity {
    pub fn new(directory: Directory, ttl: Duration, base_url: String, region: String) -> Identity {
        Identity {
            directory,
            tokens: Mutex::new(TokenStore::default()),
            ttl,
            base_url,
            region,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn store(&self) -> std::sync::MutexGuard<'_, TokenStore> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live_token(&self, token: &str) -> Option<Token> {
        self.store()
            .tokens
            .get(token)
            .filter(|t| t.expires_at > Timestamp::now())
            .cloned()
    }

    pub fn caller(&self, token: &str) -> Option<Caller> {
        let token = self.live_token(token)?;
        Some(Caller {
            user_id: token.user_id,
            project_id: token.project_id,
            roles: token.roles,
            expires_at: token.expires_at,
        })
    }

    pub fn revoke_all(&self) {
        self.store().tokens.clear();
    }

    pub fn describe(&self) -> Value {
        let mut view = self.directory.public_view();
        view["mode"] = json!("builtin");
        view["tokens"] = json!(self.store().tokens.len());
        view["token_ttl_ms"] = json!(self.ttl.as_millis());
        view
    }

    fn issue(&self, grant: Grant) -> (String, Token) {
        let issued_at = Timestamp::now();
        let token = Token {
            user_id: grant.user_id,
            project_id: grant.project_id,
            roles: grant.roles,
            method: grant.method,
            application_credential_id: grant.application_credential_id,
            issued_at,
            expires_at: issued_at.checked_add(self.ttl).unwrap_or(Timestamp::MAX),
            audit_id: uuid::Uuid::new_v4().simple().to_string()[..22].to_owned(),
        };
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut store = self.store();
        store.issued_since_sweep += 1;
        if store.issued_since_sweep >= SWEEP_EVERY {
            store.issued_since_sweep = 0;
            store.tokens.retain(|_, t| t.expires_at > issued_at);
        }
        store.tokens.insert(id.clone(), token.clone());
        (id, token)
    }

    fn version(&self) -> Value {
        json!({
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": format!("{}/v3/", self.base_url)}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
        })
    }

    fn token_body(&self, token: &Token, with_catalog: bool) -> Value {
        let user = self.directory.user(&token.user_id);
        let project_name = self
            .directory
            .project(&token.project_id)
            .map(|p| p.name.as_str())
            .unwrap_or_default();
        let domain = json!({"id": DOMAIN_ID, "name": DOMAIN_NAME});
        let mut body = json!({
            "methods": [token.method],
            "audit_ids": [token.audit_id],
            "issued_at": timefmt::keystone(token.issued_at),
            "expires_at": timefmt::keystone(token.expires_at),
            "is_domain": false,
            "project": {"id": token.project_id, "name": project_name, "domain": domain},
            "user": {
                "id": token.user_id, "name": user.map(|u| u.name.as_str()).unwrap_or_default(),
                "domain": domain, "password_expires_at": null,
            },
            "roles": token.roles.iter().map(|r| json!({"id": stable_id("role", r), "name": r})).collect::<Vec<_>>(),
        });
        if let Some(id) = &token.application_credential_id {
            let name = self
                .directory
                .application_credentials
                .iter()
                .find(|a| &a.id == id)
                .map(|a| a.name.as_str());
            body["application_credential"] = json!({"id": id, "name": name, "restricted": true});
        }
        if with_catalog {
            body["catalog"] = self.catalog(&token.project_id);
        }
        json!({ "token": body })
    }

    /// Every service points at the emulator itself. One endpoint per type and interface: eclcloud
    /// refuses a catalog where two match (`V3EndpointURL`). Compute carries the project id, like
    /// Nova's usual catalog; provider-connectivity is under `/provider-connectivity` because eclsdk
    /// picks its error classes by that substring of the URL (`find_http_exception_class` in
    /// ecl/session.py).
    fn catalog(&self, project_id: &str) -> Value {
        let base = &self.base_url;
        let service = |kind: &str, name: &str, interfaces: &[&str], url: String| {
            json!({
                "type": kind, "name": name, "id": stable_id("service", kind),
                "endpoints": interfaces.iter().map(|interface| json!({
                    "id": stable_id(&format!("endpoint-{interface}"), kind),
                    "interface": interface, "region": self.region, "region_id": self.region, "url": url,
                })).collect::<Vec<_>>(),
            })
        };
        let all = ["public", "internal", "admin"];
        json!([
            service("identity", "keystone", &all, format!("{base}/v3")),
            service(
                "compute",
                "nova",
                &all,
                format!("{base}/compute/v2.1/{project_id}")
            ),
            service(
                "provider-connectivity",
                "provider-connectivity",
                &["public"],
                format!("{base}/provider-connectivity")
            ),
            service("sss", "sss", &["public"], format!("{base}/sss/api/v1.0")),
            service("sssv2", "sssv2", &["public"], format!("{base}/sss/api/v2")),
        ])
    }
}

/// What a successful authentication grants.
struct Grant {
    user_id: String,
    project_id: String,
    roles: Vec<String>,
    method: &'static str,
    application_credential_id: Option<String>,
}

// ----- HTTP

/// `GET /`: 300 Multiple Choices, as Keystone answers.
pub async fn versions(State(identity): State<Arc<Identity>>) -> Response {
    let mut response = (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": {"values": [identity.version()]}})),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{}/v3/", identity.base_url)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `GET /v3`: keystoneauth asks this before authenticating.
pub async fn discovery(State(identity): State<Arc<Identity>>) -> Response {
    Json(json!({"version": identity.version()})).into_response()
}

/// `POST /v3/auth/tokens`: 201 with the token in `X-Subject-Token`.
pub async fn issue_token(
    State(identity): State<Arc<Identity>>,
    query: Query,
    body: Body,
) -> Response {
    let request = match body::read_json(body).await {
        Ok(Some(request)) => request,
        Ok(None) => return validation_error("auth", "request body"),
        Err(BodyError::TooLarge) => return errors::too_large(Service::Identity),
        Err(BodyError::Malformed) => {
            return errors::keystone(
                StatusCode::BAD_REQUEST,
                "The request body is not valid JSON.",
            );
        }
    };
    let grant = match authenticate(&identity.directory, &request) {
        Ok(grant) => grant,
        Err(response) => return errors::challenge(response, &identity.base_url),
    };
    let (id, token) = identity.issue(grant);
    let body = identity.token_body(&token, !query.has("nocatalog"));
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-subject-token", value);
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    response
}

/// `GET /v3/auth/tokens` (and HEAD): what a service behind keystonemiddleware asks.
pub async fn validate_token(
    State(identity): State<Arc<Identity>>,
    query: Query,
    headers: HeaderMap,
) -> Response {
    match subject_of(&identity, &headers, "identity:validate_token") {
        Ok((id, token)) => {
            let mut response =
                Json(identity.token_body(&token, !query.has("nocatalog"))).into_response();
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert("x-subject-token", value);
            }
            response
        }
        Err(response) => response,
    }
}

/// `DELETE /v3/auth/tokens`: revokes the subject token.
pub async fn revoke_token(State(identity): State<Arc<Identity>>, headers: HeaderMap) -> Response {
    match subject_of(&identity, &headers, "identity:revoke_token") {
        Ok((id, _)) => {
            identity.store().tokens.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => response,
    }
}

/// `X-Auth-Token` must be valid; `X-Subject-Token` must be live and, unless the caller is an admin
/// or a service, the caller's own (Keystone's default policy).
fn subject_of(
    identity: &Identity,
    headers: &HeaderMap,
    policy: &str,
) -> Result<(String, Token), Response> {
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let caller = identity
        .live_token(&header_text("x-auth-token"))
        .ok_or_else(|| errors::unauthorized(&identity.base_url))?;
    let subject_id = header_text("x-subject-token");
    let subject = identity
        .live_token(&subject_id)
        .ok_or_else(|| errors::keystone(StatusCode::NOT_FOUND, "Failed to validate token"))?;
    let privileged = caller.roles.iter().any(|r| r == "admin" || r == "service");
    if !privileged && caller.user_id != subject.user_id {
        let message = format!("You are not authorized to perform the requested action: {policy}.");
        return Err(errors::keystone(StatusCode::FORBIDDEN, &message));
    }
    Ok((subject_id, subject))
}

/// Keystone's `ValidationError` text.
fn validation_error(attribute: &str, target: &str) -> Response {
    let message = format!(
        "Expecting to find {attribute} in {target}. The server could not comply with the request since it is either \
         malformed or otherwise incorrect. The client is assumed to be in error."
    );
    errors::keystone(StatusCode::BAD_REQUEST, &message)
}

fn denied() -> Response {
    errors::keystone(
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    )
}

fn object<'a>(value: &'a Value, attribute: &str, target: &str) -> Result<&'a Value, Response> {
    value
        .get(attribute)
        .filter(|v| v.is_object())
        .ok_or_else(|| validation_error(attribute, target))
}

fn text<'a>(value: &'a Value, attribute: &str) -> Option<&'a str> {
    value.get(attribute).and_then(Value::as_str)
}

fn authenticate(directory: &Directory, request: &Value) -> Result<Grant, Response> {
    let auth = object(request, "auth", "request body")?;
    let identity = object(auth, "identity", "auth")?;
    let methods: Vec<&str> = identity
        .get("methods")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if methods.contains(&"password") {
        let password = object(identity, "password", "identity")?;
        let user_request = object(password, "user", "password")?;
        let user = find_user(directory, user_request)?;
        let secret =
            text(user_request, "password").ok_or_else(|| validation_error("password", "user"))?;
        if !user.password_is(secret) {
            return Err(denied());
        }
        let project_id = scoped_project(directory, auth, user)?;
        return Ok(Grant {
            user_id: user.id.clone(),
            project_id,
            roles: user.roles.clone(),
            method: "password",
            application_credential_id: None,
        });
    }
    if methods.contains(&"application_credential") {
        let credential_request = object(identity, "application_credential", "identity")?;
        let secret = text(credential_request, "secret")
            .ok_or_else(|| validation_error("secret", "application_credential"))?;
        let credential = if let Some(id) = text(credential_request, "id") {
            directory
                .application_credentials
                .iter()
                .find(|a| a.id == id)
        } else {
            // By name, the credential needs its owner.
            let name = text(credential_request, "name")
                .ok_or_else(|| validation_error("id or name", "application_credential"))?;
            let owner = find_user(
                directory,
                object(credential_request, "user", "application_credential")?,
            )?;
            directory
                .application_credentials
                .iter()
                .find(|a| a.name == name && a.user_id == owner.id)
        };
        let credential = credential
            .filter(|a| a.secret_is(secret))
            .ok_or_else(denied)?;
        let owner = directory.user(&credential.user_id).ok_or_else(denied)?;
        return Ok(Grant {
            user_id: owner.id.clone(),
            project_id: owner.project_id.clone(),
            roles: owner.roles.clone(),
            method: "application_credential",
            application_credential_id: Some(credential.id.clone()),
        });
    }
    if methods.is_empty() {
        return Err(validation_error("methods", "identity"));
    }
    Err(errors::keystone(
        StatusCode::UNAUTHORIZED,
        "Attempted to authenticate with an unsupported method.",
    ))
}

/// A user by id, or by name and domain. A name without a domain is taken to be in `default`:
/// real Keystone answers 400, but eclcli's first request of each command has no domain unless
/// OS_USER_DOMAIN_ID is set (seen running eclcli 4.8.0), and the emulator is meant to be easy to
/// point real clients at.
fn find_user<'a>(directory: &'a Directory, user: &Value) -> Result<&'a User, Response> {
    if let Some(id) = text(user, "id") {
        return directory.user(id).ok_or_else(denied);
    }
    let name = text(user, "name").ok_or_else(|| validation_error("id or name", "user"))?;
    if !in_default_domain(user.get("domain")) {
        return Err(denied());
    }
    directory
        .users
        .iter()
        .find(|u| u.name == name)
        .ok_or_else(denied)
}

fn in_default_domain(domain: Option<&Value>) -> bool {
    match domain {
        None => true,
        Some(domain) => {
            text(domain, "id") == Some(DOMAIN_ID) || text(domain, "name") == Some(DOMAIN_NAME)
        }
    }
}

/// The project a password token is for: the requested one (by id, or by name and domain), or the
/// user's default project when no scope is asked for, as Keystone does. Users have a role on their
/// own project only. Domain and system scopes are not emulated.
fn scoped_project(directory: &Directory, auth: &Value, user: &User) -> Result<String, Response> {
    let Some(scope) = auth.get("scope") else {
        return Ok(user.project_id.clone());
    };
    let project = scope
        .get("project")
        .filter(|p| p.is_object())
        .ok_or_else(denied)?;
    let wanted = if let Some(id) = text(project, "id") {
        directory.project(id)
    } else {
        let name =
            text(project, "name").ok_or_else(|| validation_error("id or name", "project"))?;
        let domain = project
            .get("domain")
            .ok_or_else(|| validation_error("domain", "project"))?;
        if !in_default_domain(Some(domain)) {
            return Err(denied());
        }
        directory.projects.iter().find(|p| p.name == name)
    };
    match wanted {
        Some(project) if project.id == user.project_id => Ok(project.id.clone()),
        _ => Err(denied()),
    }
}
