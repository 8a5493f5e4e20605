//! The cloud as a policy sees it: the owner's pending approval requests, each with what its
//! tenant connection request tells of the requester, and the decision call. One LIST of approval
//! requests and one of tenant connection requests serve a look, whatever the number of requests.

use std::collections::HashMap;

use async_trait::async_trait;

use super::rule::Candidate;
use crate::kinds::tenant_connection_request::RequestClients;
use cloudlink_cloud::ecl::{TenantConnectionRequestFilter, TenantConnectionRequestRecord};
use cloudlink_cloud::{ApprovalDecision, ApprovalFilter, ApprovalRequest, CloudError};

#[async_trait]
pub trait ApprovalDesk: Send + Sync {
    /// Every pending provider-connectivity approval request these credentials see.
    async fn pending(&self) -> Result<Vec<Candidate>, CloudError>;

    /// `PUT {sss}/approval-requests/{id}`: 409 when it is no longer pending.
    async fn decide(
        &self,
        approval_request_id: &str,
        decision: ApprovalDecision,
    ) -> Result<(), CloudError>;
}

#[async_trait]
impl ApprovalDesk for RequestClients {
    async fn pending(&self) -> Result<Vec<Candidate>, CloudError> {
        let filter = ApprovalFilter {
            status: Some("registered".into()),
            service: Some("provider-connectivity".into()),
        };
        let approvals = self.approvals.list_approvals(&filter).await?;
        if approvals.is_empty() {
            return Ok(Vec::new());
        }
        let mut requests: HashMap<String, TenantConnectionRequestRecord> = self
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
                candidate(approval, request)
            })
            .collect())
    }

    async fn decide(
        &self,
        approval_request_id: &str,
        decision: ApprovalDecision,
    ) -> Result<(), CloudError> {
        self.approvals
            .update_approval(approval_request_id, decision)
            .await
    }
}

/// Pure: the approval request and its tenant connection request (when the owner sees it) as a
/// policy matches them. The network also shows in the request's own POST body, which SSS keeps.
pub fn candidate(
    approval: ApprovalRequest,
    request: Option<TenantConnectionRequestRecord>,
) -> Candidate {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let network_from_action = approval.actions.iter().find_map(|a| {
        a.body
            .pointer("/tenant_connection_request/network_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    });
    let request = request.as_ref();
    Candidate {
        tenant_connection_request_id: request
            .map(|r| r.id.clone())
            .or_else(|| approval.external_request_id.clone())
            .filter(|id| !id.is_empty()),
        name: request.and_then(|r| some(&r.name)),
        requester_tenant_id: request.and_then(|r| some(&r.tenant_id)),
        network_id: request
            .and_then(|r| some(&r.network_id))
            .or(network_from_action),
        registered_time: approval.registered_time.clone(),
        approver: approval.approver,
        status: approval.status,
        approval_request_id: approval.request_id,
    }
}
