//! TenantConnection ↔ ECL provider-connectivity `tenant_connections`, with the requester's
//! credentials. The request is named by a `TenantConnectionRequest` object in the same namespace
//! (`requestRef`, resolved from the controllers' caches) or by its id. Until the network's owner
//! has approved it, the connection waits (`AwaitingApproval`) without writing anything; once
//! created, it is `creating`, then `active` with its port.
//!
//! Like requests, every connection cloudlink creates carries the tags `cloudlink.dev/uid` and
//! `cloudlink.dev/object` (hidden from `status.resource.tags`): after a crash, the adoption lookup
//! finds it among the request's connections by that tag.

mod assessment;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::ResourceExt;

use super::labels;
use crate::api::TenantConnection;
use crate::api::TenantConnectionRequest;
use crate::api::common::{ManagementSpec, ResourceStatus};
use crate::api::tenant_connection::TenantConnectionResourceStatus;
use crate::api::tenant_connection_request::OWNER_TAG;
use crate::engine::adapter::{Adapter, AdapterError, Assessment, Created, ManagedObject, Owner};
use crate::engine::objects::Objects;
use crate::engine::outcome::Reason;
use crate::engine::readings::Previous;
use cloudlink_cloud::connections::{
    ConnectionApi, ConnectionClient, CreateTenantConnection, TenantConnectionRecord,
    UpdateTenantConnection,
};
use cloudlink_cloud::{CloudSession, EclClient, TenantConnectionApi};

/// An approval is a person's decision: checked this often while the connection waits for it.
const APPROVAL_WAIT: Duration = Duration::from_secs(30);
/// Waiting for the requester's own object to get its id.
const REQUEST_WAIT: Duration = Duration::from_secs(5);

impl ManagedObject for TenantConnection {
    type CloudView = TenantConnectionResourceStatus;

    fn management(&self) -> &ManagementSpec {
        &self.spec.management
    }

    fn status(&self) -> Option<&ResourceStatus<TenantConnectionResourceStatus>> {
        self.status.as_ref()
    }

    /// `id`, `status`, `portId`, `networkId` (README, "Export").
    fn exported(
        status: &ResourceStatus<TenantConnectionResourceStatus>,
    ) -> BTreeMap<String, String> {
        let view = status.resource.clone().unwrap_or_default();
        crate::engine::export::known([
            ("id", status.id.clone()),
            ("status", view.status),
            ("portId", view.port_id),
            ("networkId", view.network_id),
        ])
    }
}

#[derive(Clone)]
pub struct ConnectionClients {
    pub connections: Arc<dyn ConnectionApi>,
    pub requests: Arc<dyn TenantConnectionApi>,
}

#[derive(Default)]
pub struct TenantConnectionAdapter;

#[async_trait]
impl Adapter for TenantConnectionAdapter {
    type Object = TenantConnection;
    type Observed = TenantConnectionRecord;
    type Cloud = ConnectionClients;

    fn connect(&self, session: &CloudSession) -> ConnectionClients {
        ConnectionClients {
            connections: Arc::new(ConnectionClient::new(session)),
            requests: Arc::new(EclClient::new(session)),
        }
    }

    fn id(observed: &TenantConnectionRecord) -> String {
        observed.id.clone()
    }

    /// `requestRef`: the id the requester's `TenantConnectionRequest` object shows.
    fn resolve(
        &self,
        objects: &Objects,
        object: &TenantConnection,
    ) -> Result<Option<TenantConnection>, AdapterError> {
        let Some(reference) = object
            .spec
            .resource
            .as_ref()
            .and_then(|r| r.request_ref.as_ref())
        else {
            return Ok(None);
        };
        let namespace = object.namespace().unwrap_or_default();
        let name = &reference.name;
        let id = objects
            .get::<TenantConnectionRequest>(&namespace, name)
            .and_then(|request| request.status.and_then(|s| s.id))
            .ok_or_else(|| {
                AdapterError::waiting(
                    Reason::Progressing,
                    format!("spec.resource.requestRef: waiting for TenantConnectionRequest {name} in this namespace to exist and get its id"),
                    REQUEST_WAIT,
                )
            })?;
        let mut resolved = object.clone();
        if let Some(resource) = resolved.spec.resource.as_mut() {
            resource.tenant_connection_request_id = Some(id);
        }
        Ok(Some(resolved))
    }

    async fn get(
        &self,
        cloud: &ConnectionClients,
        _: &TenantConnection,
        id: &str,
    ) -> Result<Option<TenantConnectionRecord>, AdapterError> {
        match cloud.connections.show_connection(id).await {
            Ok(connection) => Ok(Some(connection)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(
        &self,
        cloud: &ConnectionClients,
        _: &Previous<TenantConnectionRecord>,
    ) -> Result<Vec<TenantConnectionRecord>, AdapterError> {
        Ok(cloud.connections.list_connections().await?)
    }

    /// The connection of this request whose tag names this object.
    async fn find_own(
        &self,
        cloud: &ConnectionClients,
        object: &TenantConnection,
    ) -> Result<Option<TenantConnectionRecord>, AdapterError> {
        let uid = object.uid().unwrap_or_default();
        let request = request_id(object);
        Ok(cloud
            .connections
            .list_connections()
            .await?
            .into_iter()
            .find(|c| {
                c.tenant_connection_request_id == request
                    && c.tags.get(OWNER_TAG) == Some(&uid)
                    && c.status != "deleting"
            }))
    }

    /// A connection needs an approved request: until then the object waits, writing nothing.
    async fn ready_to_create(
        &self,
        cloud: &ConnectionClients,
        object: &TenantConnection,
    ) -> Result<(), AdapterError> {
        let id = request_id(object);
        let request = match cloud.requests.show_request(&id).await {
            Ok(request) => request,
            Err(e) if e.is_not_found() => {
                return Err(AdapterError::spec(
                    "spec.resource",
                    format!(
                        "no tenant connection request {id} is visible to these credentials: name the requester's request"
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        assessment::request_allows_connection(&request, APPROVAL_WAIT)
    }

    async fn create(
        &self,
        cloud: &ConnectionClients,
        object: &TenantConnection,
    ) -> Result<Created<TenantConnectionRecord>, AdapterError> {
        let Some(spec) = &object.spec.resource else {
            return Err(AdapterError::spec(
                "spec.resource",
                "is required when spec.managementPolicy is managed",
            ));
        };
        let mut tags = spec.tags.clone();
        tags.extend(labels::marks(&Owner::of(object)));
        let attachment = spec
            .attachment_opts
            .as_ref()
            .map(assessment::attachment_body);
        let body = CreateTenantConnection {
            tenant_connection_request_id: request_id(object),
            device_type: spec.device.device_type.as_api().to_owned(),
            device_id: spec.device.id.clone(),
            device_interface_id: spec.device.interface_id.clone(),
            attachment_opts: attachment,
            name: spec.name.clone(),
            description: spec.description.clone(),
            tags: Some(tags),
        };
        let created = cloud.connections.create_connection(&body).await?;
        Ok(Created {
            id: created.id.clone(),
            resource: Some(created),
        })
    }

    async fn update(
        &self,
        cloud: &ConnectionClients,
        object: &TenantConnection,
        observed: &TenantConnectionRecord,
    ) -> Result<Option<TenantConnectionRecord>, AdapterError> {
        let Some(spec) = &object.spec.resource else {
            return Ok(None);
        };
        if observed.status == "deleting" {
            return Ok(None);
        }
        let Some(change) = assessment::changes(spec, observed) else {
            return Ok(None);
        };
        Ok(Some(
            cloud
                .connections
                .update_connection(&observed.id, &change)
                .await?,
        ))
    }

    async fn delete(
        &self,
        cloud: &ConnectionClients,
        observed: &TenantConnectionRecord,
    ) -> Result<(), AdapterError> {
        Ok(cloud.connections.delete_connection(&observed.id).await?)
    }

    fn deleting(&self, observed: &TenantConnectionRecord) -> bool {
        observed.status == "deleting"
    }

    fn owner(&self, observed: &TenantConnectionRecord) -> Option<Owner> {
        labels::owner(&observed.tags)
    }

    /// The requester may change a connection's tags while it is not being deleted.
    async fn claim(
        &self,
        cloud: &ConnectionClients,
        observed: &TenantConnectionRecord,
        owner: &Owner,
    ) -> Result<Option<TenantConnectionRecord>, AdapterError> {
        if observed.status == "deleting" {
            return Ok(None);
        }
        let mut tags = observed.tags.clone();
        tags.extend(labels::marks(owner));
        let change = UpdateTenantConnection {
            tags: Some(tags),
            ..Default::default()
        };
        Ok(Some(
            cloud
                .connections
                .update_connection(&observed.id, &change)
                .await?,
        ))
    }

    fn assess(
        &self,
        _: &TenantConnection,
        observed: &TenantConnectionRecord,
    ) -> Assessment<TenantConnectionResourceStatus> {
        Assessment {
            phase: assessment::phase(observed),
            view: assessment::view(observed),
            conditions: Vec::new(),
        }
    }
}

/// The request's id: from the spec, or as `resolve` filled it in.
fn request_id(object: &TenantConnection) -> String {
    object
        .spec
        .resource
        .as_ref()
        .and_then(|r| r.tenant_connection_request_id.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
