//! TenantConnectionApproval ↔ SSS approval requests, with the network owner's credentials.
//!
//! The approval request exists before the object: the requester's tenant connection request made
//! it. So "create" only finds it (by id, or through its tenant connection request) and the
//! decision is the update: `PUT {sss}/approval-requests/{id}` `{"status": "approved" | "denied"}`,
//! made only while the request is `registered`. SSS has no undo and no tags: the object's deletion
//! leaves the decision (`Adapter::deletion`), and two objects naming one approval request are
//! settled by this process's claims (the second is `Conflict`), so nothing is decided twice.

mod assessment;
mod reference;

/// A request registers within seconds.
const REGISTERING_WAIT: std::time::Duration = crate::engine::schedule::IN_FLIGHT_POLL;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use kube::ResourceExt;

use super::tenant_connection_request::RequestClients;
use crate::api::TenantConnectionApproval;
use crate::api::common::{ManagementSpec, ResourceStatus};
use crate::api::tenant_connection_approval::TenantConnectionApprovalResourceStatus;
use crate::engine::adapter::{
    Adapter, AdapterError, Assessment, CloudDeletion, Created, ManagedObject, Owner,
};
use crate::engine::objects::Objects;
use crate::engine::outcome::Reason;
use crate::engine::readings::Previous;
use cloudlink_cloud::ecl::{TenantConnectionRequestFilter, TenantConnectionRequestRecord};
use cloudlink_cloud::{
    ApprovalDecision, ApprovalFilter, ApprovalRequest, CloudSession, EclClient, SssClient,
};

impl ManagedObject for TenantConnectionApproval {
    type CloudView = TenantConnectionApprovalResourceStatus;

    fn management(&self) -> &ManagementSpec {
        &self.spec.management
    }

    fn status(&self) -> Option<&ResourceStatus<TenantConnectionApprovalResourceStatus>> {
        self.status.as_ref()
    }

    /// `id` (the approval request), `status`, `tenantConnectionRequestId` (README, "Export").
    fn exported(
        status: &ResourceStatus<TenantConnectionApprovalResourceStatus>,
    ) -> BTreeMap<String, String> {
        let view = status.resource.clone().unwrap_or_default();
        crate::engine::export::known([
            ("id", status.id.clone()),
            ("status", view.status),
            (
                "tenantConnectionRequestId",
                view.tenant_connection_request_id,
            ),
        ])
    }
}

/// The approval request, and the tenant connection request it decides (when the owner sees it).
#[derive(Clone, Debug)]
pub struct ObservedApproval {
    pub approval: ApprovalRequest,
    pub request: Option<TenantConnectionRequestRecord>,
}

#[derive(Default)]
pub struct TenantConnectionApprovalAdapter;

#[async_trait]
impl Adapter for TenantConnectionApprovalAdapter {
    type Object = TenantConnectionApproval;
    type Observed = ObservedApproval;
    type Cloud = RequestClients;

    fn connect(&self, session: &CloudSession) -> RequestClients {
        RequestClients {
            requests: Arc::new(EclClient::new(session)),
            approvals: Arc::new(SssClient::new(session)),
        }
    }

    fn id(observed: &ObservedApproval) -> String {
        observed.approval.request_id.clone()
    }

    /// `requestRef`: the request's id, from the object the requester's team applied.
    fn resolve(
        &self,
        objects: &Objects,
        object: &TenantConnectionApproval,
    ) -> Result<Option<TenantConnectionApproval>, AdapterError> {
        let Some(reference) = object
            .spec
            .resource
            .as_ref()
            .and_then(|r| r.request_ref.as_ref())
        else {
            return Ok(None);
        };
        let here = object.namespace().unwrap_or_default();
        let id = reference::request_id(objects, &here, reference)?;
        let mut resolved = object.clone();
        if let Some(resource) = resolved.spec.resource.as_mut() {
            resource.tenant_connection_request_id = Some(id);
        }
        Ok(Some(resolved))
    }

    async fn get(
        &self,
        cloud: &RequestClients,
        _: &TenantConnectionApproval,
        id: &str,
    ) -> Result<Option<ObservedApproval>, AdapterError> {
        let approval = match cloud.approvals.show_approval(id).await {
            Ok(approval) => approval,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let request = match approval.external_request_id.as_deref() {
            Some(tcr) if !tcr.is_empty() => show_request(cloud, tcr).await?,
            _ => None,
        };
        Ok(Some(ObservedApproval { approval, request }))
    }

    /// One LIST of approval requests and one of tenant connection requests per credential.
    async fn list(
        &self,
        cloud: &RequestClients,
        _: &Previous<ObservedApproval>,
    ) -> Result<Vec<ObservedApproval>, AdapterError> {
        let filter = ApprovalFilter {
            service: Some("provider-connectivity".into()),
            ..Default::default()
        };
        Ok(with_requests(cloud, &filter).await?)
    }

    /// The approval request the spec names: it exists before the object, so finding it is all
    /// an adoption needs.
    async fn find_own(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionApproval,
    ) -> Result<Option<ObservedApproval>, AdapterError> {
        Ok(Some(resolve(self, cloud, object).await?))
    }

    /// Finds the approval request; the decision itself is [`Adapter::update`]'s.
    async fn create(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionApproval,
    ) -> Result<Created<ObservedApproval>, AdapterError> {
        let found = resolve(self, cloud, object).await?;
        Ok(Created {
            id: found.approval.request_id.clone(),
            resource: Some(found),
        })
    }

    /// Makes the decision, once, while the approval request is `registered`.
    async fn update(
        &self,
        cloud: &RequestClients,
        object: &TenantConnectionApproval,
        observed: &ObservedApproval,
    ) -> Result<Option<ObservedApproval>, AdapterError> {
        let Some(wanted) = object.spec.resource.as_ref().map(|r| r.decision) else {
            return Ok(None);
        };
        if observed.approval.status != "registered" {
            return Ok(None);
        }
        if !observed.approval.approver {
            return Err(not_the_approver(cloud, &observed.approval).await);
        }
        let decision = match wanted {
            crate::api::tenant_connection_approval::Decision::Approved => ApprovalDecision::Approve,
            crate::api::tenant_connection_approval::Decision::Denied => ApprovalDecision::Deny,
        };
        let id = &observed.approval.request_id;
        cloud.approvals.update_approval(id, decision).await?;
        self.get(cloud, object, id).await
    }

    fn deletion(&self) -> CloudDeletion {
        CloudDeletion::Impossible(
            "SSS cannot undo a decision on an approval request, so deleting this object changes nothing in the cloud",
        )
    }

    /// Never called: see [`Adapter::deletion`].
    async fn delete(&self, _: &RequestClients, _: &ObservedApproval) -> Result<(), AdapterError> {
        Ok(())
    }

    fn deleting(&self, _: &ObservedApproval) -> bool {
        false
    }

    /// Approval requests carry no tags or metadata to mark.
    fn owner(&self, _: &ObservedApproval) -> Option<Owner> {
        None
    }

    async fn claim(
        &self,
        _: &RequestClients,
        _: &ObservedApproval,
        _: &Owner,
    ) -> Result<Option<ObservedApproval>, AdapterError> {
        Ok(None)
    }

    fn assess(
        &self,
        object: &TenantConnectionApproval,
        observed: &ObservedApproval,
    ) -> Assessment<TenantConnectionApprovalResourceStatus> {
        let wanted = object.spec.resource.as_ref().map(|r| r.decision);
        Assessment {
            phase: assessment::phase(wanted, observed),
            view: assessment::view(observed),
            conditions: Vec::new(),
        }
    }
}

/// The approval request the spec names, directly or through its tenant connection request.
async fn resolve(
    adapter: &TenantConnectionApprovalAdapter,
    cloud: &RequestClients,
    object: &TenantConnectionApproval,
) -> Result<ObservedApproval, AdapterError> {
    let Some(spec) = &object.spec.resource else {
        return Err(AdapterError::spec(
            "spec.resource",
            "is required when spec.managementPolicy is managed",
        ));
    };
    if let Some(id) = &spec.approval_request_id {
        return adapter.get(cloud, object, id).await?.ok_or_else(|| {
            AdapterError::spec(
                "spec.resource.approvalRequestId",
                format!("SSS shows no approval request {id} to these credentials: check the id, and that they are the network owner tenant's"),
            )
        });
    }
    let tcr = spec
        .tenant_connection_request_id
        .as_deref()
        .unwrap_or_default();
    let request = show_request(cloud, tcr).await?.ok_or_else(|| {
        AdapterError::spec(
            "spec.resource.tenantConnectionRequestId",
            format!("no tenant connection request {tcr} is visible to these credentials: check the id, and that they are the network owner tenant's"),
        )
    })?;
    // Until the request is registered, SSS may not show its approval request yet (a request
    // `registering` already names it): registration is the cloud's work and takes seconds.
    let registering = matches!(request.status.as_str(), "creating" | "registering");
    let approval_id = request
        .approval_request_id
        .clone()
        .filter(|id| !id.is_empty() && !registering);
    let Some(approval_id) = approval_id else {
        return Err(AdapterError::waiting(
            Reason::Progressing,
            format!(
                "tenant connection request {tcr} is not registered yet (status {}); cloudlink looks again shortly",
                request.status
            ),
            REGISTERING_WAIT,
        ));
    };
    let approval = match cloud.approvals.show_approval(&approval_id).await {
        Ok(approval) => approval,
        Err(e) if e.is_not_found() => {
            return Err(AdapterError::spec(
                "spec.resource.tenantConnectionRequestId",
                format!(
                    "SSS shows no approval request {approval_id} (of tenant connection request {tcr}) to these credentials: use the network owner tenant's"
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(ObservedApproval {
        approval,
        request: Some(request),
    })
}

/// The approval requests `filter` selects, each with the tenant connection request it decides
/// when these credentials see it: one LIST of each (none of requests when no approval matched).
pub(crate) async fn with_requests(
    cloud: &RequestClients,
    filter: &ApprovalFilter,
) -> Result<Vec<ObservedApproval>, cloudlink_cloud::CloudError> {
    let approvals = cloud.approvals.list_approvals(filter).await?;
    if approvals.is_empty() {
        return Ok(Vec::new());
    }
    let mut requests: HashMap<String, TenantConnectionRequestRecord> = cloud
        .requests
        .list_requests(&TenantConnectionRequestFilter::default())
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok(approvals
        .into_iter()
        .map(|approval| {
            let request = approval
                .external_request_id
                .as_deref()
                .and_then(|id| requests.remove(id));
            ObservedApproval { approval, request }
        })
        .collect())
}

/// The owner's network an approval request asks for, from the request's own POST body, which
/// SSS keeps (for when the tenant connection request itself is not visible).
pub(crate) fn network_requested(approval: &ApprovalRequest) -> Option<String> {
    approval.actions.iter().find_map(|a| {
        a.body
            .pointer("/tenant_connection_request/network_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    })
}

/// The request by id, `None` when the cloud does not show it to these credentials.
async fn show_request(
    cloud: &RequestClients,
    id: &str,
) -> Result<Option<TenantConnectionRequestRecord>, AdapterError> {
    match cloud.requests.show_request(id).await {
        Ok(request) => Ok(Some(request)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The credentials see the approval request but may not decide it: they are not the owner's.
async fn not_the_approver(cloud: &RequestClients, approval: &ApprovalRequest) -> AdapterError {
    let tenant = cloud
        .approvals
        .project_id()
        .await
        .unwrap_or_else(|_| "(unknown)".into());
    AdapterError::spec(
        "spec.cloudCredentialsRef",
        format!(
            "tenant {tenant} may not decide approval request {}: its approver is tenant {}; use that tenant's credentials",
            approval.request_id, approval.approver_id
        ),
    )
}

#[cfg(test)]
mod tests;
