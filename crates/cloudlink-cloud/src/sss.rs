//! ECL SSS (v1) approval requests: how a tenant connection request gets approved.
//!
//! The network's owner approves or denies, the requester may cancel, each with
//! `PUT {sss}/approval-requests/{id}` and `{"status": …}` (204), and only while the approval
//! request is `registered`. Show returns the object bare, not wrapped in a key; an answer
//! wrapped in `approval_request` is accepted too.

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::error::CloudError;
use super::serde_util::{de_bool, de_opt_string, de_string, null_as_default};
use super::session::{CloudSession, Endpoint, Service, require_id, set_params};

/// SSS's catalog URL already ends in `/api/v1.0`.
const SSS: Service = Service {
    service_type: "sss",
    version_prefix: |_| &[],
};

/// SSS approval requests.
#[async_trait]
pub trait ApprovalApi: Send + Sync {
    /// The token's project: this tenant.
    async fn project_id(&self) -> Result<String, CloudError>;

    /// `GET /approval-requests[?status=…&service=…]`.
    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
    ) -> Result<Vec<ApprovalRequest>, CloudError>;

    /// `GET /approval-requests/{request_id}`.
    async fn show_approval(&self, request_id: &str) -> Result<ApprovalRequest, CloudError>;

    /// `PUT /approval-requests/{request_id}` with `{"status": "approved" | "denied" | "cancelled"}`.
    async fn update_approval(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
    ) -> Result<(), CloudError>;
}

/// What a tenant may do with an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApprovalDecision {
    /// By the approver (the network's owner).
    Approve,
    /// By the approver.
    Deny,
    /// By the requester.
    Cancel,
}

impl ApprovalDecision {
    /// The status value the API expects.
    pub fn as_status(self) -> &'static str {
        match self {
            ApprovalDecision::Approve => "approved",
            ApprovalDecision::Deny => "denied",
            ApprovalDecision::Cancel => "cancelled",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    pub status: Option<String>,
    pub service: Option<String>,
}

/// An approval request (eclcloud's `ApprovalRequest`). Times are `"YYYY-MM-DD hh:mm:ss"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApprovalRequest {
    #[serde(deserialize_with = "de_string")]
    pub request_id: String,
    #[serde(deserialize_with = "de_opt_string")]
    pub external_request_id: Option<String>,
    #[serde(deserialize_with = "de_string")]
    pub approver_type: String,
    #[serde(deserialize_with = "de_string")]
    pub approver_id: String,
    #[serde(deserialize_with = "de_string")]
    pub request_user_id: String,
    #[serde(deserialize_with = "de_string")]
    pub service: String,
    #[serde(deserialize_with = "null_as_default")]
    pub actions: Vec<ApprovalAction>,
    #[serde(deserialize_with = "null_as_default")]
    pub descriptions: Vec<ApprovalDescription>,
    /// The caller made the request.
    #[serde(deserialize_with = "de_bool")]
    pub request_user: bool,
    /// The caller may approve it.
    #[serde(deserialize_with = "de_bool")]
    pub approver: bool,
    #[serde(deserialize_with = "de_opt_string")]
    pub approval_deadline: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub approval_expire: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub registered_time: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub updated_time: Option<String>,
    /// registered, approved, denied, cancelled, expired.
    #[serde(deserialize_with = "de_string")]
    pub status: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApprovalAction {
    #[serde(deserialize_with = "de_string")]
    pub service: String,
    #[serde(deserialize_with = "de_string")]
    pub region: String,
    #[serde(deserialize_with = "de_string")]
    pub api_path: String,
    #[serde(deserialize_with = "de_string")]
    pub method: String,
    /// An object for provider-connectivity, a JSON *string* for the network service.
    pub body: serde_json::Value,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApprovalDescription {
    #[serde(deserialize_with = "de_string")]
    pub lang: String,
    #[serde(deserialize_with = "de_string")]
    pub text: String,
}

#[derive(Deserialize)]
struct List {
    approval_requests: Vec<ApprovalRequest>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Shown {
    Wrapped { approval_request: ApprovalRequest },
    Bare(ApprovalRequest),
}

/// [`ApprovalApi`] over a [`CloudSession`].
#[derive(Clone, Debug)]
pub struct SssClient {
    sss: Endpoint,
}

impl SssClient {
    pub fn new(session: &CloudSession) -> Self {
        SssClient {
            sss: Endpoint::new(session, SSS),
        }
    }
}

const COLLECTION: &str = "approval-requests";

#[async_trait]
impl ApprovalApi for SssClient {
    async fn project_id(&self) -> Result<String, CloudError> {
        self.sss.session().project_id().await
    }

    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
    ) -> Result<Vec<ApprovalRequest>, CloudError> {
        let r = self
            .sss
            .request("list_approval_requests", Method::GET, &[COLLECTION])
            .query(set_params([
                ("status", filter.status.as_deref()),
                ("service", filter.service.as_deref()),
            ]))
            .send()
            .await?;
        Ok(r.json::<List>("a list ({\"approval_requests\": [...]})")?
            .approval_requests)
    }

    async fn show_approval(&self, request_id: &str) -> Result<ApprovalRequest, CloudError> {
        let id = require_id("approval request", request_id)?;
        let r = self
            .sss
            .request("show_approval_request", Method::GET, &[COLLECTION, id])
            .send()
            .await?;
        let shown = match r
            .json::<Shown>("an approval request ({\"request_id\": ..., \"status\": ...})")?
        {
            Shown::Wrapped { approval_request } => approval_request,
            Shown::Bare(a) => a,
        };
        if shown.request_id.is_empty() && shown.status.is_empty() {
            return Err(CloudError::invalid(
                &r.request,
                "the answer has neither request_id nor status",
            ));
        }
        Ok(shown)
    }

    async fn update_approval(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
    ) -> Result<(), CloudError> {
        let id = require_id("approval request", request_id)?;
        self.sss
            .request("update_approval_request", Method::PUT, &[COLLECTION, id])
            .body(serde_json::json!({ "status": decision.as_status() }))
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
    fn the_api_root_is_the_catalog_url() {
        let root = url::Url::parse("http://h/sss/api/v1.0").unwrap();
        assert_eq!(SSS.prefix_of(&root).to_vec(), Vec::<&str>::new());
    }

    #[test]
    fn reads_bare_and_wrapped() {
        let a = json!({"request_id": "req0000012345", "external_request_id": "b3f7", "approver_type": "tenant_owner",
            "approver_id": "t2", "request_user_id": "ecid1", "service": "provider-connectivity",
            "actions": [{"service": "provider-connectivity", "region": "jp1", "api_path": "/v2.0/tenant_connection_requests",
                         "method": "POST", "body": {"tenant_connection_request": {"network_id": "n"}}},
                        {"service": "network", "body": "{\"a\": 1}"}],
            "descriptions": [{"lang": "en", "text": "tenant connection request"}],
            "request_user": false, "approver": true, "approval_deadline": "2026-12-01 09:00:00", "approval_expire": null,
            "registered_time": "2026-11-24 09:00:00", "updated_time": null, "status": "registered"});
        let Shown::Bare(bare) = serde_json::from_value(a.clone()).unwrap() else {
            panic!("bare")
        };
        assert_eq!(bare.request_id, "req0000012345");
        assert!(bare.approver && !bare.request_user);
        assert_eq!(bare.actions.len(), 2);
        assert!(bare.actions[1].body.is_string());
        assert_eq!(bare.approval_expire, None);
        let Shown::Wrapped { approval_request } =
            serde_json::from_value(json!({"approval_request": a})).unwrap()
        else {
            panic!("wrapped")
        };
        assert_eq!(approval_request, bare);
    }

    #[test]
    fn decisions() {
        assert_eq!(ApprovalDecision::Approve.as_status(), "approved");
        assert_eq!(ApprovalDecision::Deny.as_status(), "denied");
        assert_eq!(ApprovalDecision::Cancel.as_status(), "cancelled");
    }
}
