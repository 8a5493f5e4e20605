//! ECL 2.0 provider-connectivity: tenant connections. Once the network's owner has approved a
//! tenant connection request, the requester attaches one of its devices (a server, a baremetal
//! server's interface, a vSRX interface) to the owner's network with a tenant connection. Create
//! answers 200 with the connection `creating`; it becomes `active` with its port. Delete answers
//! 204; the connection shows `deleting`, then 404.
//!
//! As for requests, each tenant labels the connection on its own side (`name`, `description`,
//! `tags` for the requester; the `_other` fields for the owner) and an update sends only what is
//! set.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::ecl::{PROVIDER_CONNECTIVITY, envelope};
use super::error::CloudError;
use super::serde_util::{de_string, de_tags};
use super::session::{CloudSession, Endpoint, require_id};

/// The provider-connectivity API for tenant connections.
#[async_trait]
pub trait ConnectionApi: Send + Sync {
    /// `GET /v2.0/tenant_connections`, every connection these credentials see.
    async fn list_connections(&self) -> Result<Vec<TenantConnectionRecord>, CloudError>;

    /// `GET /v2.0/tenant_connections/{id}`.
    async fn show_connection(&self, id: &str) -> Result<TenantConnectionRecord, CloudError>;

    /// `POST /v2.0/tenant_connections` (200, `creating`).
    async fn create_connection(
        &self,
        connection: &CreateTenantConnection,
    ) -> Result<TenantConnectionRecord, CloudError>;

    /// `PUT /v2.0/tenant_connections/{id}`: only the fields that are set.
    async fn update_connection(
        &self,
        id: &str,
        update: &UpdateTenantConnection,
    ) -> Result<TenantConnectionRecord, CloudError>;

    /// `DELETE /v2.0/tenant_connections/{id}` (204; `deleting`, then 404).
    async fn delete_connection(&self, id: &str) -> Result<(), CloudError>;
}

/// A tenant connection as the API returns it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantConnectionRecord {
    #[serde(deserialize_with = "de_string")]
    pub id: String,
    #[serde(deserialize_with = "de_string")]
    pub tenant_connection_request_id: String,
    /// creating, active, deleting (and error states the cloud may report).
    #[serde(deserialize_with = "de_string")]
    pub status: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    #[serde(deserialize_with = "de_string")]
    pub description: String,
    #[serde(deserialize_with = "de_tags")]
    pub tags: BTreeMap<String, String>,
    #[serde(deserialize_with = "de_string")]
    pub tenant_id: String,
    #[serde(deserialize_with = "de_string")]
    pub name_other: String,
    #[serde(deserialize_with = "de_string")]
    pub description_other: String,
    /// May arrive as the string `"{}"`.
    #[serde(deserialize_with = "de_tags")]
    pub tags_other: BTreeMap<String, String>,
    #[serde(deserialize_with = "de_string")]
    pub tenant_id_other: String,
    #[serde(deserialize_with = "de_string")]
    pub network_id: String,
    #[serde(deserialize_with = "de_string")]
    pub device_type: String,
    #[serde(deserialize_with = "de_string")]
    pub device_id: String,
    #[serde(deserialize_with = "de_string")]
    pub device_interface_id: String,
    /// `""` until the connection is active.
    #[serde(deserialize_with = "de_string")]
    pub port_id: String,
    /// As given at creation (fixed IPs, allowed address pairs, segmentation).
    pub attachment_opts: serde_json::Value,
}

/// The body of a create: the approved request, the device, and how it attaches.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateTenantConnection {
    pub tenant_connection_request_id: String,
    /// `ECL::Compute::Server`, `ECL::Baremetal::Server` or `ECL::VirtualNetworkAppliance::VSRX`.
    pub device_type: String,
    pub device_id: String,
    /// Required for baremetal servers and vSRX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_interface_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_opts: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// The body of an update: only `Some` fields are sent; `Some("")` / `Some({})` clears a field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateTenantConnection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

impl UpdateTenantConnection {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Deserialize)]
struct List {
    tenant_connections: Vec<TenantConnectionRecord>,
}

#[derive(Deserialize)]
struct One {
    tenant_connection: TenantConnectionRecord,
}

const COLLECTION: &str = "tenant_connections";
const ONE: &str = "a tenant connection ({\"tenant_connection\": {...}})";

/// [`ConnectionApi`] over a [`CloudSession`].
#[derive(Clone, Debug)]
pub struct ConnectionClient {
    provider_connectivity: Endpoint,
}

impl ConnectionClient {
    pub fn new(session: &CloudSession) -> Self {
        ConnectionClient {
            provider_connectivity: Endpoint::new(session, PROVIDER_CONNECTIVITY),
        }
    }
}

fn wrap<T: Serialize>(value: &T) -> Result<serde_json::Value, CloudError> {
    envelope("tenant_connection", value)
}

fn one(r: &super::http::Inbound) -> Result<TenantConnectionRecord, CloudError> {
    let one: One = r.json(ONE)?;
    Ok(one.tenant_connection)
}

#[async_trait]
impl ConnectionApi for ConnectionClient {
    async fn list_connections(&self) -> Result<Vec<TenantConnectionRecord>, CloudError> {
        let r = self
            .provider_connectivity
            .request("list_tenant_connections", Method::GET, &[COLLECTION])
            .send()
            .await?;
        Ok(r.json::<List>("a list ({\"tenant_connections\": [...]})")?
            .tenant_connections)
    }

    async fn show_connection(&self, id: &str) -> Result<TenantConnectionRecord, CloudError> {
        let id = require_id("tenant connection", id)?;
        one(&self
            .provider_connectivity
            .request("show_tenant_connection", Method::GET, &[COLLECTION, id])
            .send()
            .await?)
    }

    async fn create_connection(
        &self,
        connection: &CreateTenantConnection,
    ) -> Result<TenantConnectionRecord, CloudError> {
        let r = self
            .provider_connectivity
            .request("create_tenant_connection", Method::POST, &[COLLECTION])
            .body(wrap(connection)?)
            .send()
            .await?;
        let created = one(&r)?;
        if created.id.is_empty() {
            return Err(CloudError::invalid(
                &r.request,
                "the created connection has no id",
            ));
        }
        Ok(created)
    }

    async fn update_connection(
        &self,
        id: &str,
        update: &UpdateTenantConnection,
    ) -> Result<TenantConnectionRecord, CloudError> {
        let id = require_id("tenant connection", id)?;
        one(&self
            .provider_connectivity
            .request("update_tenant_connection", Method::PUT, &[COLLECTION, id])
            .body(wrap(update)?)
            .send()
            .await?)
    }

    async fn delete_connection(&self, id: &str) -> Result<(), CloudError> {
        let id = require_id("tenant connection", id)?;
        self.provider_connectivity
            .request(
                "delete_tenant_connection",
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
    fn a_create_sends_what_the_device_type_needs_and_nothing_unset() {
        let body = wrap(&CreateTenantConnection {
            tenant_connection_request_id: "r".into(),
            device_type: "ECL::Compute::Server".into(),
            device_id: "s".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            body,
            json!({"tenant_connection": {"tenant_connection_request_id": "r",
                   "device_type": "ECL::Compute::Server", "device_id": "s"}})
        );
    }

    #[test]
    fn a_baremetal_answer_with_string_tags_is_read() {
        let record: TenantConnectionRecord = serde_json::from_value(json!({
            "id": "c", "status": "creating", "tags_other": "{}", "port_id": "",
            "device_type": "ECL::Baremetal::Server", "attachment_opts": {"segmentation_type": "flat"}
        }))
        .unwrap();
        assert!(record.tags_other.is_empty());
        assert_eq!(record.port_id, "");
        assert_eq!(record.attachment_opts["segmentation_type"], "flat");
    }
}
