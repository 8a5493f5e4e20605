//! The policy's status after a look. Pure: an unchanged look yields an unchanged status, and so
//! no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::rule::Candidate;
use crate::api::tenant_connection_approval_policy::{
    Decision, PolicyDecision, RECENT_DECISIONS, TenantConnectionApprovalPolicyStatus,
};
use crate::engine::conditions::{self, Desired};
use crate::engine::outcome::Phase;

/// A decision the cloud took, for status and its Event.
pub fn record(candidate: &Candidate, decision: Decision, time: Time) -> PolicyDecision {
    PolicyDecision {
        approval_request_id: candidate.approval_request_id.clone(),
        decision: decision.as_status().to_owned(),
        tenant_connection_request_id: candidate.tenant_connection_request_id.clone(),
        name: candidate.name.clone(),
        requester_tenant_id: candidate.requester_tenant_id.clone(),
        network_id: candidate.network_id.clone(),
        time,
    }
}

/// The status after a look that ended in `phase` and took `decided` (in the order sent): those
/// first, newest first, then the earlier ones, [`RECENT_DECISIONS`] in all.
pub fn next(
    current: Option<&TenantConnectionApprovalPolicyStatus>,
    generation: i64,
    phase: &Phase,
    decided: &[PolicyDecision],
    handled_request: Option<&str>,
    now: &Time,
) -> TenantConnectionApprovalPolicyStatus {
    let current = current.cloned().unwrap_or_default();
    let desired: Vec<Desired> = conditions::standard(phase).into();
    let mut decisions: Vec<PolicyDecision> = decided.iter().rev().cloned().collect();
    decisions.extend(current.decisions);
    decisions.truncate(RECENT_DECISIONS);
    TenantConnectionApprovalPolicyStatus {
        conditions: conditions::merge(&current.conditions, &desired, generation, now),
        observed_generation: generation,
        decisions,
        decided_count: current.decided_count + decided.len() as i64,
        last_handled_reconcile_at: handled_request
            .map(str::to_owned)
            .or(current.last_handled_reconcile_at),
    }
}

/// A sentence for the Event and the log: what was decided, for whom.
pub fn told(decision: &PolicyDecision) -> String {
    let mut text = format!(
        "{} approval request {}",
        decision.decision, decision.approval_request_id
    );
    if let Some(tcr) = &decision.tenant_connection_request_id {
        text += &format!(" (tenant connection request {tcr}");
        if let Some(name) = &decision.name {
            text += &format!(" {name:?}");
        }
        if let Some(tenant) = &decision.requester_tenant_id {
            text += &format!(" from tenant {tenant}");
        }
        if let Some(network) = &decision.network_id {
            text += &format!(" for network {network}");
        }
        text += ")";
    }
    text + ": it matches spec.match"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::condition::READY;
    use crate::engine::outcome::Reason;

    fn time(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    fn decided(ids: std::ops::Range<usize>) -> Vec<PolicyDecision> {
        ids.map(|i| {
            record(
                &Candidate {
                    approval_request_id: format!("ar-{i}"),
                    ..Candidate::default()
                },
                Decision::Approved,
                time("2026-12-04T00:00:00Z"),
            )
        })
        .collect()
    }

    #[test]
    fn decisions_are_newest_first_and_bounded_while_the_count_goes_on() {
        let ready = Phase::ready("applied");
        let now = time("2026-12-04T00:00:00Z");
        let first = next(None, 1, &ready, &decided(0..15), None, &now);
        assert_eq!(first.decided_count, 15);
        assert_eq!(first.decisions[0].approval_request_id, "ar-14");
        let second = next(Some(&first), 1, &ready, &decided(15..25), None, &now);
        assert_eq!(second.decided_count, 25);
        assert_eq!(second.decisions.len(), RECENT_DECISIONS);
        assert_eq!(second.decisions[0].approval_request_id, "ar-24");
        assert_eq!(second.decisions[19].approval_request_id, "ar-5");
    }

    #[test]
    fn a_look_that_changes_nothing_leaves_the_status_as_it_was() {
        let ready = Phase::ready("applied");
        let first = next(
            None,
            2,
            &ready,
            &decided(0..1),
            Some("t1"),
            &time("2026-12-04T00:00:00Z"),
        );
        let again = next(
            Some(&first),
            2,
            &ready,
            &[],
            None,
            &time("2026-12-04T01:00:00Z"),
        );
        assert_eq!(first, again);
    }

    #[test]
    fn a_failure_shows_in_ready_and_keeps_the_decisions() {
        let now = time("2026-12-04T00:00:00Z");
        let first = next(
            None,
            1,
            &Phase::ready("applied"),
            &decided(0..2),
            None,
            &now,
        );
        let stalled = Phase::stalled(Reason::InvalidConfiguration, "Secret x does not exist");
        let after = next(Some(&first), 1, &stalled, &[], None, &now);
        let ready = after.conditions.iter().find(|c| c.type_ == READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "InvalidConfiguration")
        );
        assert_eq!(after.decisions, first.decisions);
    }

    #[test]
    fn the_event_names_the_request_the_tenant_and_the_network() {
        let candidate = Candidate {
            approval_request_id: "ar-1".into(),
            tenant_connection_request_id: Some("tcr-1".into()),
            name: Some("team-a-1".into()),
            requester_tenant_id: Some("t1".into()),
            network_id: Some("n1".into()),
            ..Candidate::default()
        };
        let decision = record(&candidate, Decision::Denied, time("2026-12-04T00:00:00Z"));
        assert_eq!(
            told(&decision),
            "denied approval request ar-1 (tenant connection request tcr-1 \"team-a-1\" from tenant t1 for network n1): it matches spec.match"
        );
    }
}
