//! ECL 2.0 provider-connectivity: tenant connection requests.
//!
//! A request asks the tenant owning a network (`tenant_id_other`) to let this tenant connect
//! devices to it. Create answers 200 with the request in `creating`; it then becomes
//! `registered` with an SSS approval request, and the network's owner approves, denies or the
//! requester cancels it through SSS (see `sss`). Errors come as `{"cause": "…"}`, which
//! `error::response::from_response` reads along with the gateway's other shapes.
//!
//! Update sends only the fields that are set: the API keeps every field not sent, and `""` or
//! `{}` clears one. The requester may change `name`, `description`, `tags`; the network's owner
//! `name_other`, `description_other`, `tags_other`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::error::CloudError;
use super::serde_util::{de_opt_string, de_string, de_tags};
use super::session::{CloudSession, Endpoint, Service, require_id, set_params};

/// ECL's catalog URL is the unversioned service root: eclsdk and eclcloud add `v2.0`.
pub(crate) const PROVIDER_CONNECTIVITY: Service = Service {
    service_type: "provider-connectivity",
    version_prefix: |segs| {
        if segs.last() == Some(&"v2.0") {
            &[]
        } else {
            &["v2.0"]
        }
    },
};

/// The provider-connectivity API for tenant connection requests.
#[async_trait]
pub trait TenantConnectionApi: Send + Sync {
    /// The token's project: this tenant's id, to tell requests we made from requests made to us.
    async fn project_id(&self) -> Result<String, CloudError>;

    /// `GET /v2.0/tenant_connection_requests`: requests this tenant made and requests made to it.
    async fn list_requests(
        &self,
        filter: &TenantConnectionRequestFilter,
    ) -> Result<Vec<TenantConnectionRequestRecord>, CloudError>;

    /// `GET /v2.0/tenant_connection_requests/{id}`. `NotFound` once deleted.
    async fn show_request(&self, id: &str) -> Result<TenantConnectionRequestRecord, CloudError>;

    /// `POST /v2.0/tenant_connection_requests` (200, asynchronous). Never retried here: after a
    /// timeout or 5xx, list by tag before creating again.
    async fn create_request(
        &self,
        request: &CreateTenantConnectionRequest,
    ) -> Result<TenantConnectionRequestRecord, CloudError>;

    /// `PUT /v2.0/tenant_connection_requests/{id}` with only the fields set in `update`.
    async fn update_request(
        &self,
        id: &str,
        update: &UpdateTenantConnectionRequest,
    ) -> Result<TenantConnectionRequestRecord, CloudError>;

    /// `DELETE /v2.0/tenant_connection_requests/{id}` (204). `Conflict` if it is still in use.
    async fn delete_request(&self, id: &str) -> Result<(), CloudError>;
}

/// A tenant connection request as the API returns it (the twelve documented keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantConnectionRequestRecord {
    #[serde(deserialize_with = "de_string")]
    pub id: String,
    /// creating, registering, registered, approved, denied, cancelled, unavailable.
    #[serde(deserialize_with = "de_string")]
    pub status: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    #[serde(deserialize_with = "de_string")]
    pub description: String,
    #[serde(deserialize_with = "de_tags")]
    pub tags: BTreeMap<String, String>,
    /// The requester.
    #[serde(deserialize_with = "de_string")]
    pub tenant_id: String,
    #[serde(deserialize_with = "de_string")]
    pub name_other: String,
    #[serde(deserialize_with = "de_string")]
    pub description_other: String,
    /// May arrive as the string `"{}"`; read as an empty map.
    #[serde(deserialize_with = "de_tags")]
    pub tags_other: BTreeMap<String, String>,
    /// The network's owner, who approves.
    #[serde(deserialize_with = "de_string")]
    pub tenant_id_other: String,
    #[serde(deserialize_with = "de_string")]
    pub network_id: String,
    /// `None` until the SSS approval request exists (the API sends `""` meanwhile).
    #[serde(deserialize_with = "de_opt_string")]
    pub approval_request_id: Option<String>,
}

/// The list filters of the API. Unset fields are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TenantConnectionRequestFilter {
    pub tenant_connection_request_id: Option<String>,
    /// registered, approved, denied, cancelled, unavailable.
    pub status: Option<String>,
    pub name: Option<String>,
    pub tenant_id: Option<String>,
    pub name_other: Option<String>,
    pub tenant_id_other: Option<String>,
    pub network_id: Option<String>,
    pub approval_request_id: Option<String>,
}

impl TenantConnectionRequestFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        set_params([
            (
                "tenant_connection_request_id",
                self.tenant_connection_request_id.as_deref(),
            ),
            ("status", self.status.as_deref()),
            ("name", self.name.as_deref()),
            ("tenant_id", self.tenant_id.as_deref()),
            ("name_other", self.name_other.as_deref()),
            ("tenant_id_other", self.tenant_id_other.as_deref()),
            ("network_id", self.network_id.as_deref()),
            ("approval_request_id", self.approval_request_id.as_deref()),
        ])
    }
}

/// The body of a create. `tenant_id_other` and `network_id` are required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CreateTenantConnectionRequest {
    pub tenant_id_other: String,
    pub network_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// The body of an update: only `Some` fields are sent; `Some("")` / `Some({})` clears a field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateTenantConnectionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_other: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_other: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_other: Option<BTreeMap<String, String>>,
}

impl UpdateTenantConnectionRequest {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Deserialize)]
struct List {
    tenant_connection_requests: Vec<TenantConnectionRequestRecord>,
}

#[derive(Deserialize)]
struct One {
    tenant_connection_request: TenantConnectionRequestRecord,
}

const COLLECTION: &str = "tenant_connection_requests";
const ONE: &str = "a tenant connection request ({\"tenant_connection_request\": {...}})";

/// [`TenantConnectionApi`] over a [`CloudSession`].
#[derive(Clone, Debug)]
pub struct EclClient {
    provider_connectivity: Endpoint,
}

impl EclClient {
    pub fn new(session: &CloudSession) -> Self {
        EclClient {
            provider_connectivity: Endpoint::new(session, PROVIDER_CONNECTIVITY),
        }
    }
}

fn wrap<T: Serialize>(value: &T) -> Result<serde_json::Value, CloudError> {
    envelope("tenant_connection_request", value)
}

/// `{"<key>": value}`: provider-connectivity's request bodies name their object.
pub(crate) fn envelope<T: Serialize>(
    key: &str,
    value: &T,
) -> Result<serde_json::Value, CloudError> {
    let inner = serde_json::to_value(value)
        .map_err(|e| CloudError::Config(format!("cannot encode the request: {e}")))?;
    Ok(serde_json::json!({ key: inner }))
}

fn one(r: &super::http::Inbound) -> Result<TenantConnectionRequestRecord, CloudError> {
    let one: One = r.json(ONE)?;
    Ok(one.tenant_connection_request)
}

#[async_trait]
impl TenantConnectionApi for EclClient {
    async fn project_id(&self) -> Result<String, CloudError> {
        self.provider_connectivity.session().project_id().await
    }

    async fn list_requests(
        &self,
        filter: &TenantConnectionRequestFilter,
    ) -> Result<Vec<TenantConnectionRequestRecord>, CloudError> {
        let r = self
            .provider_connectivity
            .request(
                "list_tenant_connection_requests",
                Method::GET,
                &[COLLECTION],
            )
            .query(filter.query())
            .send()
            .await?;
        Ok(
            r.json::<List>("a list ({\"tenant_connection_requests\": [...]})")?
                .tenant_connection_requests,
        )
    }

    async fn show_request(&self, id: &str) -> Result<TenantConnectionRequestRecord, CloudError> {
        let id = require_id("tenant connection request", id)?;
        one(&self
            .provider_connectivity
            .request(
                "show_tenant_connection_request",
                Method::GET,
                &[COLLECTION, id],
            )
            .send()
            .await?)
    }

    async fn create_request(
        &self,
        request: &CreateTenantConnectionRequest,
    ) -> Result<TenantConnectionRequestRecord, CloudError> {
        let r = self
            .provider_connectivity
            .request(
                "create_tenant_connection_request",
                Method::POST,
                &[COLLECTION],
            )
            .body(wrap(request)?)
            .send()
            .await?;
        let created = one(&r)?;
        if created.id.is_empty() {
            return Err(CloudError::invalid(
                &r.request,
                "the created request has no id",
            ));
        }
        Ok(created)
    }

    async fn update_request(
        &self,
        id: &str,
        update: &UpdateTenantConnectionRequest,
    ) -> Result<TenantConnectionRequestRecord, CloudError> {
        let id = require_id("tenant connection request", id)?;
        one(&self
            .provider_connectivity
            .request(
                "update_tenant_connection_request",
                Method::PUT,
                &[COLLECTION, id],
            )
            .body(wrap(update)?)
            .send()
            .await?)
    }

    async fn delete_request(&self, id: &str) -> Result<(), CloudError> {
        let id = require_id("tenant connection request", id)?;
        self.provider_connectivity
            .request(
                "delete_tenant_connection_request",
                Method::DELETE,
                &[COLLECTION, id],
            )
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_api_root_gets_v2_0_unless_the_catalog_has_it() {
        let p = |u: &str| {
            PROVIDER_CONNECTIVITY
                .prefix_of(&url::Url::parse(u).unwrap())
                .to_vec()
        };
        assert_eq!(p("http://h/provider-connectivity"), vec!["v2.0"]);
        assert_eq!(
            p("http://h/provider-connectivity/v2.0/"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn update_sends_only_set_fields() {
        let u = UpdateTenantConnectionRequest {
            name: Some("n2".into()),
            tags: Some(BTreeMap::new()),
            ..Default::default()
        };
        assert_eq!(
            wrap(&u).unwrap(),
            json!({"tenant_connection_request": {"name": "n2", "tags": {}}})
        );
        assert!(UpdateTenantConnectionRequest::default().is_empty() && !u.is_empty());
        let c = CreateTenantConnectionRequest {
            tenant_id_other: "t".into(),
            network_id: "n".into(),
            ..Default::default()
        };
        assert_eq!(
            wrap(&c).unwrap(),
            json!({"tenant_connection_request": {"tenant_id_other": "t", "network_id": "n"}})
        );
    }

    #[test]
    fn filter_query() {
        let f = TenantConnectionRequestFilter {
            status: Some("registered".into()),
            network_id: Some("n".into()),
            ..Default::default()
        };
        assert_eq!(
            f.query(),
            vec![
                ("status", "registered".to_owned()),
                ("network_id", "n".to_owned())
            ]
        );
    }

    #[test]
    fn reads_fixture_quirks() {
        let one: One = serde_json::from_value(json!({"tenant_connection_request": {
            "id": "b3f7", "status": "creating", "name": "x", "description": null, "tags": {"env": "test"},
            "tenant_id": "t1", "name_other": "", "description_other": "", "tags_other": "{}",
            "tenant_id_other": "t2", "network_id": "n1", "approval_request_id": ""}}))
        .unwrap();
        let r = one.tenant_connection_request;
        assert_eq!(r.approval_request_id, None);
        assert!(r.tags_other.is_empty());
        assert_eq!(r.description, "");
        assert_eq!(r.tags.get("env").map(String::as_str), Some("test"));
        let list: List = serde_json::from_value(json!({"tenant_connection_requests": [{"id": "a", "approval_request_id": "req0000010454"}]})).unwrap();
        assert_eq!(
            list.tenant_connection_requests[0]
                .approval_request_id
                .as_deref(),
            Some("req0000010454")
        );
    }
}
