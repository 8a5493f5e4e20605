//! One look of a policy: the pending requests, the rule, the decisions sent.

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::desk::ApprovalDesk;
use super::rule::{self, Candidate};
use super::status::record;
use crate::api::tenant_connection_approval_policy::{
    PolicyDecision, TenantConnectionApprovalPolicySpec,
};
use crate::api::{TenantConnectionApproval, TenantConnectionRequest};
use crate::engine::adapter::AdapterError;
use crate::engine::failure::Failure;
use crate::engine::objects::Objects;
use crate::engine::readings::Readings;
use cloudlink_cloud::{ApprovalDecision, SessionKey};

/// What a look did.
pub struct Look {
    /// Decisions the cloud took, in the order sent.
    pub decided: Vec<PolicyDecision>,
    /// More requests matched than one look decides: look again at once.
    pub more: bool,
    /// Why the look stopped early (the decisions before it stand).
    pub failure: Option<Failure>,
}

/// Lists the pending requests (from a listing of this credential no older than `max_age`),
/// and decides those the rule picks.
pub async fn look(
    spec: &TenantConnectionApprovalPolicySpec,
    desk: &dyn ApprovalDesk,
    credential: &SessionKey,
    readings: &Readings<SessionKey, Candidate>,
    objects: &Objects,
    max_age: Duration,
) -> Look {
    let listed = readings
        .all(credential, max_age, |_| async {
            desk.pending().await.map_err(AdapterError::from)
        })
        .await;
    let candidates = match listed {
        Ok(candidates) => candidates,
        Err(e) => {
            return Look {
                decided: Vec::new(),
                more: false,
                failure: Some(e.into()),
            };
        }
    };
    let (chosen, more) = rule::choose(&spec.rule, &candidates, &decided_elsewhere(objects));
    let decision = match spec.decision {
        crate::api::tenant_connection_approval::Decision::Approved => ApprovalDecision::Approve,
        crate::api::tenant_connection_approval::Decision::Denied => ApprovalDecision::Deny,
    };
    let mut look = Look {
        decided: Vec::new(),
        more,
        failure: None,
    };
    for candidate in chosen {
        let id = &candidate.approval_request_id;
        // Whatever the answer, the listing no longer tells this request's state.
        readings.changed(id);
        match desk.decide(id, decision).await {
            Ok(()) => look.decided.push(record(
                candidate,
                spec.decision,
                Time(jiff::Timestamp::now()),
            )),
            // Decided by someone else meanwhile (another policy, an approval, the console), or
            // withdrawn: nothing to do, and nothing of ours to record.
            Err(e) if e.status() == Some(409) || e.is_not_found() => {
                tracing::debug!(approval_request = %id, error = %e, "no longer pending");
            }
            Err(e) => {
                look.failure = Some(e.into());
                look.more = false;
                break;
            }
        }
    }
    look
}

/// The approval requests and tenant connection requests an explicit `TenantConnectionApproval`
/// names, by id or by reference (as the controllers' caches hold them).
fn decided_elsewhere(objects: &Objects) -> HashSet<String> {
    let mut ids = HashSet::new();
    for approval in objects.all::<TenantConnectionApproval>() {
        let status = approval.status.as_ref();
        let view = status.and_then(|s| s.resource.as_ref());
        let spec = approval.spec.resource.as_ref();
        let referenced = spec.and_then(|r| r.request_ref.as_ref()).and_then(|r| {
            let namespace = r.namespace.clone().or_else(|| approval.namespace())?;
            objects
                .get::<TenantConnectionRequest>(&namespace, &r.name)?
                .status?
                .id
        });
        ids.extend(
            [
                status.and_then(|s| s.id.clone()),
                view.and_then(|v| v.tenant_connection_request_id.clone()),
                spec.and_then(|r| r.approval_request_id.clone()),
                spec.and_then(|r| r.tenant_connection_request_id.clone()),
                referenced,
            ]
            .into_iter()
            .flatten(),
        );
    }
    ids
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::api::common::CloudCredentialsRef;
    use crate::api::tenant_connection_approval::Decision;
    use crate::api::tenant_connection_approval_policy::MatchRule;
    use cloudlink_cloud::CloudError;

    /// A cloud with pending requests; `refuse` answers a decision with that status.
    #[derive(Default)]
    struct FakeDesk {
        pending: Vec<Candidate>,
        refuse: Mutex<Vec<(String, u16)>>,
        lists: AtomicUsize,
        decided: Mutex<Vec<(String, ApprovalDecision)>>,
    }

    #[async_trait]
    impl ApprovalDesk for FakeDesk {
        async fn pending(&self) -> Result<Vec<Candidate>, CloudError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            Ok(self.pending.clone())
        }

        async fn decide(&self, id: &str, decision: ApprovalDecision) -> Result<(), CloudError> {
            let refused = self
                .refuse
                .lock()
                .unwrap()
                .iter()
                .find(|(r, _)| r == id)
                .map(|r| r.1);
            match refused {
                Some(409) => Err(CloudError::Conflict {
                    request: format!("PUT approval-requests/{id}"),
                    message: "already approved".into(),
                }),
                Some(status) => Err(CloudError::Server {
                    request: format!("PUT approval-requests/{id}"),
                    status,
                    message: "boom".into(),
                }),
                None => {
                    self.decided.lock().unwrap().push((id.to_owned(), decision));
                    Ok(())
                }
            }
        }
    }

    fn pending(id: &str, tenant: &str) -> Candidate {
        Candidate {
            approval_request_id: id.into(),
            status: "registered".into(),
            approver: true,
            tenant_connection_request_id: Some(format!("tcr-{id}")),
            name: Some(format!("req-{id}")),
            requester_tenant_id: Some(tenant.into()),
            network_id: Some("n1".into()),
            registered_time: Some(format!("2026-12-04 00:00:0{id}")),
        }
    }

    fn spec(decision: Decision, tenants: &[&str]) -> TenantConnectionApprovalPolicySpec {
        TenantConnectionApprovalPolicySpec {
            cloud_credentials_ref: CloudCredentialsRef {
                secret_name: "owner".into(),
                cloud_name: "ecl".into(),
            },
            decision,
            rule: MatchRule {
                requester_tenant_ids: tenants.iter().map(|t| t.to_string()).collect(),
                ..MatchRule::default()
            },
            interval: None,
        }
    }

    fn credential() -> SessionKey {
        SessionKey::from_clouds_yaml(
            "clouds:\n  ecl:\n    auth:\n      auth_url: https://keystone.example/v3\n      username: u\n      password: p\n      project_id: p1\n      user_domain_id: default\n",
            "ecl",
            None,
        )
        .unwrap()
    }

    fn readings() -> Readings<SessionKey, Candidate> {
        Readings::new(|c: &Candidate| c.approval_request_id.clone())
    }

    const FRESH: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn policies_of_one_credential_share_one_listing_and_never_decide_twice() {
        let desk = FakeDesk {
            pending: vec![pending("1", "t1"), pending("2", "t2"), pending("3", "t1")],
            ..FakeDesk::default()
        };
        let (readings, objects, key) = (readings(), Objects::default(), credential());
        let approve_t1 = spec(Decision::Approved, &["t1"]);
        let deny_t2 = spec(Decision::Denied, &["t2"]);

        let first = look(&approve_t1, &desk, &key, &readings, &objects, FRESH).await;
        let second = look(&deny_t2, &desk, &key, &readings, &objects, FRESH).await;
        let again = look(&approve_t1, &desk, &key, &readings, &objects, FRESH).await;

        assert_eq!(
            desk.lists.load(Ordering::SeqCst),
            1,
            "one listing served all three looks"
        );
        let ids = |l: &Look| {
            l.decided
                .iter()
                .map(|d| d.approval_request_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&first), ["1", "3"]);
        assert_eq!(ids(&second), ["2"]);
        assert!(
            again.decided.is_empty(),
            "a request this process decided is not offered again"
        );
        assert_eq!(
            *desk.decided.lock().unwrap(),
            [
                ("1".to_owned(), ApprovalDecision::Approve),
                ("3".to_owned(), ApprovalDecision::Approve),
                ("2".to_owned(), ApprovalDecision::Deny)
            ]
        );
    }

    #[tokio::test]
    async fn a_request_decided_elsewhere_meanwhile_is_skipped_without_a_record() {
        let desk = FakeDesk {
            pending: vec![pending("1", "t1"), pending("2", "t1")],
            refuse: Mutex::new(vec![("1".into(), 409)]),
            ..FakeDesk::default()
        };
        let look = look(
            &spec(Decision::Approved, &["t1"]),
            &desk,
            &credential(),
            &readings(),
            &Objects::default(),
            FRESH,
        )
        .await;
        assert_eq!(look.decided.len(), 1);
        assert_eq!(look.decided[0].approval_request_id, "2");
        assert!(look.failure.is_none());
    }

    #[tokio::test]
    async fn a_cloud_failure_stops_the_look_and_keeps_what_was_decided() {
        let desk = FakeDesk {
            pending: vec![pending("1", "t1"), pending("2", "t1"), pending("3", "t1")],
            refuse: Mutex::new(vec![("2".into(), 503)]),
            ..FakeDesk::default()
        };
        let look = look(
            &spec(Decision::Approved, &["t1"]),
            &desk,
            &credential(),
            &readings(),
            &Objects::default(),
            FRESH,
        )
        .await;
        assert_eq!(look.decided.len(), 1);
        assert!(matches!(look.failure, Some(Failure::Transient { .. })));
        assert_eq!(
            desk.decided.lock().unwrap().len(),
            1,
            "nothing sent after the failure"
        );
    }
}
