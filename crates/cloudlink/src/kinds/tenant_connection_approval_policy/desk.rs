//! The cloud as a policy sees it: the owner's pending approval requests, each with what its
//! tenant connection request tells of the requester, and the decision call. One LIST of approval
//! requests and one of tenant connection requests serve a look, whatever the number of requests.

use async_trait::async_trait;

use super::rule::Candidate;
use crate::kinds::tenant_connection_approval::{
    ObservedApproval, network_requested, with_requests,
};
use crate::kinds::tenant_connection_request::RequestClients;
use cloudlink_cloud::{ApprovalDecision, ApprovalFilter, CloudError};

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
        Ok(with_requests(self, &filter)
            .await?
            .into_iter()
            .map(candidate)
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
/// policy matches them.
pub fn candidate(observed: ObservedApproval) -> Candidate {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let ObservedApproval { approval, request } = observed;
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
            .or_else(|| network_requested(&approval)),
        registered_time: approval.registered_time.clone(),
        approver: approval.approver,
        status: approval.status,
        approval_request_id: approval.request_id,
    }
}
