//! TenantConnectionRequest ↔ ECL provider-connectivity. A create answers at once with `creating`;
//! the request then becomes `registered` (the requester's part is done: Ready) with an SSS
//! approval request that the network's owner approves or denies (the `Approved` condition).
//!
//! Adoption after a crash: every request cloudlink creates carries the tag [`OWNER_TAG`] with the
//! object's UID, and the lookup lists by tenant_id_other + network_id (+ name) and matches the tag.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::ResourceExt;

use super::labels;
use crate::api::TenantConnectionRequest;
use crate::api::common::{ManagementSpec, ResourceStatus};
use crate::api::tenant_connection_request::{OWNER_TAG, TenantConnectionRequestResourceStatus};
use crate::engine::adapter::{Adapter, AdapterError, Assessment, Created, ManagedObject, Owner};
use crate::engine::outcome::Reason;
use crate::engine::readings::Previous;
use cloudlink_cloud::ecl::{
    self, CreateTenantConnectionRequest, TenantConnectionApi, TenantConnectionRequestFilter,
    UpdateTenantConnectionRequest,
};
use cloudlink_cloud::{
    ApprovalApi, ApprovalFilter, ApprovalRequest, CloudError, CloudSession, EclClient, SssClient,
};

mod assessment;

use assessment::{phase, view};

/// How often a request that is still being registered is checked.
const REGISTER_POLL: Duration = crate::engine::schedule::IN_FLIGHT_POLL;
/// How often a request waiting for its approval is checked. Approvals are human decisions. The
/// checks are batched (one reading of the credential's requests and approvals serves every
/// waiting request at a tick); before batching, two hundred requests re-read at 10 s exceeded one
/// credential's default rate (20 calls/s) and starved every other object.
const APPROVAL_POLL: Duration = Duration::from_secs(30);
/// A deletion waiting for the request's connections to go (they take about a second each).
const CONNECTIONS_WAIT: Duration = crate::engine::schedule::IN_FLIGHT_POLL;

impl ManagedObject for TenantConnectionRequest {
    type CloudView = TenantConnectionRequestResourceStatus;

    fn management(&self) -> &ManagementSpec {
        &self.spec.management
    }

    fn status(&self) -> Option<&ResourceStatus<TenantConnectionRequestResourceStatus>> {
        self.status.as_ref()
    }

    /// `id`, `status`, `approvalRequestId` (README, "Export").
    fn exported(
        status: &ResourceStatus<TenantConnectionRequestResourceStatus>,
    ) -> BTreeMap<String, String> {
        let view = status.resource.clone().unwrap_or_default();
        crate::engine::export::known([
            ("id", status.id.clone()),
            ("status", view.status),
            (
                "approvalRequestId",
                view.approval_request_id.filter(|id| !id.is_empty()),
            ),
        ])
    }
}

/// The request, and its SSS approval request while one is pending.
#[derive(Clone, Debug)]
pub struct ObservedRequest {
    pub request: ecl::TenantConnectionRequestRecord,
    pub approval: Option<ApprovalRequest>,
}

#[derive(Clone)]
pub struct RequestClients {
    pub requests: Arc<dyn TenantConnectionApi>,
    pub approvals: Arc<dyn ApprovalApi>,
}

#[derive(Default)]
pub struct TenantConnectionRequestAdapter;

#[async_trait]
impl Adapter for TenantConnectionRequestAdapter {
    type Object = TenantConnectionRequest;
    type Observed = ObservedRequest;
    type Cloud = RequestClients;

    fn connect(&self, session: &CloudSession) -> RequestClients {
        RequestClients {
            requests: Arc::new(EclClient::new(session)),
            approvals: Arc::new(SssClient::new(session)),
        }
    }

    fn id(observed: &ObservedRequest) -> String {
        observed.request.id.clone()
    }

    async fn get(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionRequest,
        id: &str,
    ) -> Result<Option<ObservedRequest>, AdapterError> {
        match self.probe(cloud, object, id).await? {
            Some(found) => Ok(Some(with_approval(cloud, found.request).await?)),
            None => Ok(None),
        }
    }

    async fn list(
        &self,
        cloud: &RequestClients,
        _: &Previous<ObservedRequest>,
    ) -> Result<Vec<ObservedRequest>, AdapterError> {
        let requests = cloud
            .requests
            .list_requests(&TenantConnectionRequestFilter::default())
            .await?;
        let mut approvals: HashMap<String, ApprovalRequest> = HashMap::new();
        if requests.iter().any(|r| pending_approval(r).is_some()) {
            let filter = ApprovalFilter {
                service: Some("provider-connectivity".into()),
                ..Default::default()
            };
            match cloud.approvals.list_approvals(&filter).await {
                Ok(list) => {
                    approvals = list
                        .into_iter()
                        .map(|a| (a.request_id.clone(), a))
                        .collect()
                }
                // As in `with_approval`: the approvals only refine what the requests say.
                Err(error) => {
                    tracing::debug!(%error, "cannot list approval requests; going by the requests' status")
                }
            }
        }
        Ok(requests
            .into_iter()
            .map(|request| {
                let approval = pending_approval(&request).and_then(|id| approvals.get(id).cloned());
                ObservedRequest { request, approval }
            })
            .collect())
    }

    async fn find_own(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionRequest,
    ) -> Result<Option<ObservedRequest>, AdapterError> {
        let Some(spec) = &object.spec.resource else {
            return Ok(None);
        };
        let uid = object.uid().unwrap_or_default();
        let filter = TenantConnectionRequestFilter {
            tenant_id_other: Some(spec.tenant_id_other.clone()),
            network_id: Some(spec.network_id.clone()),
            name: spec.name.clone(),
            ..Default::default()
        };
        let found = cloud
            .requests
            .list_requests(&filter)
            .await?
            .into_iter()
            .find(|r| r.tags.get(OWNER_TAG) == Some(&uid));
        match found {
            Some(request) => Ok(Some(with_approval(cloud, request).await?)),
            None => Ok(None),
        }
    }

    async fn create(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionRequest,
    ) -> Result<Created<ObservedRequest>, AdapterError> {
        let spec = object.spec.resource.as_ref().ok_or_else(|| {
            AdapterError::spec("spec.resource", "is required to create a request")
        })?;
        let mut tags = spec.tags.clone();
        tags.extend(labels::marks(&Owner::of(object)));
        let body = CreateTenantConnectionRequest {
            tenant_id_other: spec.tenant_id_other.clone(),
            network_id: spec.network_id.clone(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            tags: Some(tags),
        };
        let request = cloud.requests.create_request(&body).await?;
        // The answer is the whole request, as a GET would show it; only one already waiting for
        // approval (never seen at creation) needs the approval read with it.
        let resource = pending_approval(&request)
            .is_none()
            .then(|| ObservedRequest {
                request: request.clone(),
                approval: None,
            });
        Ok(Created {
            id: request.id,
            resource,
        })
    }

    async fn update(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionRequest,
        observed: &ObservedRequest,
    ) -> Result<Option<ObservedRequest>, AdapterError> {
        let Some(spec) = &object.spec.resource else {
            return Ok(None);
        };
        let Some(change) = changes(
            spec.name.as_deref(),
            spec.description.as_deref(),
            &spec.tags,
            &observed.request,
        ) else {
            return Ok(None);
        };
        let updated = cloud
            .requests
            .update_request(&observed.request.id, &change)
            .await?;
        Ok(Some(ObservedRequest {
            request: updated,
            approval: observed.approval.clone(),
        }))
    }

    async fn delete(
        &self,
        cloud: &RequestClients,
        observed: &ObservedRequest,
    ) -> Result<(), AdapterError> {
        let id = &observed.request.id;
        match cloud.requests.delete_request(id).await {
            // ECL refuses to delete a request its tenant connections still use: they go first
            // (deleting both objects, or their namespace, deletes the connections too).
            Err(CloudError::Conflict { message, .. }) => Err(AdapterError::waiting(
                Reason::Progressing,
                format!(
                    "tenant connection request {id} waits for its tenant connections to be deleted first ({message})"
                ),
                CONNECTIONS_WAIT,
            )),
            other => Ok(other?),
        }
    }

    /// The request alone: its approval does not matter to its deletion.
    /// The requests alone: a deletion has no use for their approvals.
    async fn probe_list(
        &self,
        cloud: &RequestClients,
        _: &Previous<ObservedRequest>,
    ) -> Result<Vec<ObservedRequest>, AdapterError> {
        Ok(cloud
            .requests
            .list_requests(&TenantConnectionRequestFilter::default())
            .await?
            .into_iter()
            .map(|request| ObservedRequest {
                request,
                approval: None,
            })
            .collect())
    }

    async fn probe(
        &self,
        cloud: &RequestClients,
        _: &TenantConnectionRequest,
        id: &str,
    ) -> Result<Option<ObservedRequest>, AdapterError> {
        match cloud.requests.show_request(id).await {
            Ok(request) => Ok(Some(ObservedRequest {
                request,
                approval: None,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn owner(&self, observed: &ObservedRequest) -> Option<Owner> {
        labels::owner(&observed.request.tags)
    }

    /// The requester may change a request's tags in any status: the mark is added to the others.
    async fn claim(
        &self,
        cloud: &RequestClients,
        observed: &ObservedRequest,
        owner: &Owner,
    ) -> Result<Option<ObservedRequest>, AdapterError> {
        let mut tags = observed.request.tags.clone();
        tags.extend(labels::marks(owner));
        let change = UpdateTenantConnectionRequest {
            tags: Some(tags),
            ..Default::default()
        };
        let request = cloud
            .requests
            .update_request(&observed.request.id, &change)
            .await?;
        Ok(Some(ObservedRequest {
            request,
            approval: observed.approval.clone(),
        }))
    }

    fn assess(
        &self,
        _: &TenantConnectionRequest,
        observed: &ObservedRequest,
    ) -> Assessment<TenantConnectionRequestResourceStatus> {
        let (phase, approved) = phase(observed);
        Assessment {
            phase,
            view: view(&observed.request),
            conditions: vec![approved],
        }
    }
}

/// The approval request a request waits for, if it waits (only then does the approval matter).
fn pending_approval(request: &ecl::TenantConnectionRequestRecord) -> Option<&str> {
    request
        .approval_request_id
        .as_deref()
        .filter(|id| request.status == "registered" && !id.is_empty())
}

/// Reads the approval request while it matters (the request waits for it).
async fn with_approval(
    cloud: &RequestClients,
    request: ecl::TenantConnectionRequestRecord,
) -> Result<ObservedRequest, CloudError> {
    let approval = match pending_approval(&request) {
        Some(id) => match cloud.approvals.show_approval(id).await {
            Ok(approval) => Some(approval),
            // The approval only refines what the request's own status says (it tells an expired
            // approval early). An SSS that is down or refuses must not fail the read of the request:
            // that would block its deletion and turn a healthy request not Ready.
            Err(error) => {
                tracing::debug!(%error, approval = id, "cannot read the approval request; going by the request's status");
                None
            }
        },
        None => None,
    };
    Ok(ObservedRequest { request, approval })
}

/// Pure: the update that makes the request's labels match the spec, if any.
fn changes(
    name: Option<&str>,
    description: Option<&str>,
    tags: &BTreeMap<String, String>,
    current: &ecl::TenantConnectionRequestRecord,
) -> Option<UpdateTenantConnectionRequest> {
    let current = labels::Current {
        name: &current.name,
        description: &current.description,
        tags: &current.tags,
    };
    let changes = labels::changes(name, description, tags, current)?;
    Some(UpdateTenantConnectionRequest {
        name: changes.name,
        description: changes.description,
        tags: changes.tags,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
