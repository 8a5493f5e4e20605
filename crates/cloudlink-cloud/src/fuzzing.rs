//! Entry points for the fuzz targets in `fuzz/`: thin wrappers that let them reach the
//! crate-private parsers. Compiled only with `--cfg fuzzing`, which `cargo fuzz` sets; the
//! operator's own build never has this module.
//!
//! Each wrapper does what the client does with a cloud's answer, and nothing else: the error
//! mapping (`error::response::from_response`), the Keystone token (`keystone::parse_token`), and the
//! response bodies through `Inbound::json`, the one function every client reads a body with.
//! The service clients' envelope types (`{"cloudpipes": […]}`, `{"tenant_connection_request":
//! {…}}`, SSS's bare-or-wrapped approval) are private to their modules, so they are mirrored here,
//! one strict field each as in the clients; the fields inside are the library's own public types
//! with their own (lenient) decoders, which is where the parsing happens.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::clouds_yaml::CloudConfig;
use super::ecl::TenantConnectionRequestRecord;
use super::error::{self, CloudError};
use super::http::Inbound;
use super::keystone::{self, TokenInfo};
use super::nova::{CloudpipeEntry, Server};
use super::sss::ApprovalRequest;

/// The request an answer belongs to, as error messages name it.
pub const REQUEST: &str = "GET http://127.0.0.1:1/fuzz";

/// A header map from raw pairs; pairs that are not a valid header name or value are left out
/// (reqwest never hands the clients such a header either).
pub fn headers<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

fn inbound(status: u16, headers: HeaderMap, body: &[u8]) -> Inbound {
    Inbound {
        status,
        headers,
        body: body.to_vec(),
        request: REQUEST.to_owned(),
    }
}

/// A non-success answer as the clients see it: `error::response::from_response`.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> CloudError {
    error::response::from_response(REQUEST, status, headers, body)
}

/// A `Retry-After` value: `error::response::parse_retry_after`.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    error::response::parse_retry_after(value)
}

/// A 201 answer to `POST /v3/auth/tokens`: `keystone::parse_token`. The token id itself stays
/// inside; what the session uses from it (project, roles, catalog, expiry) comes back.
pub fn parse_keystone_token(
    headers: HeaderMap,
    body: &[u8],
    cloud: &str,
) -> Result<Arc<TokenInfo>, CloudError> {
    keystone::parse_token(&inbound(201, headers, body), cloud).map(|t| t.info)
}

/// Where the session sends the token request for a clouds.yaml's `auth_url`: `keystone::token_url`.
pub fn token_url(auth_url: &str) -> Result<url::Url, CloudError> {
    keystone::token_url(auth_url)
}

/// The token request's body for a parsed cloud: `keystone::auth_body`.
pub fn auth_body(config: &CloudConfig) -> serde_json::Value {
    keystone::auth_body(&config.auth)
}

#[derive(Deserialize)]
struct CloudpipeList {
    cloudpipes: Vec<CloudpipeEntry>,
}

#[derive(Deserialize)]
struct CreatedCloudpipe {
    #[serde(deserialize_with = "super::serde_util::de_string")]
    instance_id: String,
}

#[derive(Deserialize)]
struct ServerEnvelope {
    server: Server,
}

/// `NovaClient::list_cloudpipes` on a 200 answer.
pub fn nova_cloudpipe_list(body: &[u8]) -> Result<Vec<CloudpipeEntry>, CloudError> {
    Ok(inbound(200, HeaderMap::new(), body)
        .json::<CloudpipeList>("a cloudpipe list")?
        .cloudpipes)
}

/// `NovaClient::create_cloudpipe` on a 200 answer: the new (or existing) instance id.
pub fn nova_created_cloudpipe(body: &[u8]) -> Result<String, CloudError> {
    let r = inbound(200, HeaderMap::new(), body);
    let created: CreatedCloudpipe = r.json("the new cloudpipe's instance id")?;
    if created.instance_id.is_empty() {
        return Err(CloudError::invalid(
            &r.request,
            "the answer has an empty instance_id",
        ));
    }
    Ok(created.instance_id)
}

/// `NovaClient::get_server` on a 200 answer.
pub fn nova_server(body: &[u8]) -> Result<Server, CloudError> {
    Ok(inbound(200, HeaderMap::new(), body)
        .json::<ServerEnvelope>("a server")?
        .server)
}

#[derive(Deserialize)]
struct TenantConnectionRequestList {
    tenant_connection_requests: Vec<TenantConnectionRequestRecord>,
}

#[derive(Deserialize)]
struct OneTenantConnectionRequest {
    tenant_connection_request: TenantConnectionRequestRecord,
}

/// `EclClient::list_requests` on a 200 answer.
pub fn ecl_request_list(body: &[u8]) -> Result<Vec<TenantConnectionRequestRecord>, CloudError> {
    let list: TenantConnectionRequestList = inbound(200, HeaderMap::new(), body).json("a list")?;
    Ok(list.tenant_connection_requests)
}

/// `EclClient::show_request` and `update_request` on a 200 answer. (`create_request` also
/// refuses an answer whose id is empty.)
pub fn ecl_request(body: &[u8]) -> Result<TenantConnectionRequestRecord, CloudError> {
    let one: OneTenantConnectionRequest =
        inbound(200, HeaderMap::new(), body).json("a tenant connection request")?;
    Ok(one.tenant_connection_request)
}

#[derive(Deserialize)]
struct ApprovalList {
    approval_requests: Vec<ApprovalRequest>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ShownApproval {
    Wrapped { approval_request: ApprovalRequest },
    Bare(ApprovalRequest),
}

/// `SssClient::list_approvals` on a 200 answer.
pub fn sss_approval_list(body: &[u8]) -> Result<Vec<ApprovalRequest>, CloudError> {
    Ok(inbound(200, HeaderMap::new(), body)
        .json::<ApprovalList>("a list")?
        .approval_requests)
}

/// `SssClient::show_approval` on a 200 answer: bare or wrapped, with a request id or a status.
pub fn sss_approval(body: &[u8]) -> Result<ApprovalRequest, CloudError> {
    let r = inbound(200, HeaderMap::new(), body);
    let shown = match r.json::<ShownApproval>("an approval request")? {
        ShownApproval::Wrapped { approval_request } => approval_request,
        ShownApproval::Bare(a) => a,
    };
    if shown.request_id.is_empty() && shown.status.is_empty() {
        return Err(CloudError::invalid(
            &r.request,
            "the answer has neither request_id nor status",
        ));
    }
    Ok(shown)
}
