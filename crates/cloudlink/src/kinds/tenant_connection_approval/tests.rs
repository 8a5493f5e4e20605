//! The approval's pure decisions.

use super::ObservedApproval;
use super::assessment::{phase, view};
use crate::api::tenant_connection_approval::Decision;
use crate::engine::outcome::{Phase, Reason};
use cloudlink_cloud::ApprovalRequest;
use cloudlink_cloud::ecl::TenantConnectionRequestRecord;

fn observed(status: &str) -> ObservedApproval {
    ObservedApproval {
        approval: ApprovalRequest {
            request_id: "req1".into(),
            external_request_id: Some("tcr1".into()),
            status: status.into(),
            approver: true,
            approval_deadline: Some("2026-12-10 09:00:00".into()),
            ..Default::default()
        },
        request: Some(TenantConnectionRequestRecord {
            id: "tcr1".into(),
            status: "registered".into(),
            tenant_id: "requester".into(),
            network_id: "net".into(),
            ..Default::default()
        }),
    }
}

fn stalled_message(phase: Phase) -> String {
    match phase {
        Phase::Stalled {
            reason: Reason::UnrecoverableError,
            message,
        } => message,
        other => panic!("expected Stalled, got {other:?}"),
    }
}

#[test]
fn the_wanted_decision_is_ready_and_a_pending_one_is_progressing() {
    assert!(matches!(
        phase(Some(Decision::Approved), &observed("approved")),
        Phase::Ready { .. }
    ));
    assert!(matches!(
        phase(Some(Decision::Denied), &observed("denied")),
        Phase::Ready { .. }
    ));
    assert!(matches!(
        phase(Some(Decision::Approved), &observed("registered")),
        Phase::Progressing { .. }
    ));
}

#[test]
fn what_can_no_longer_be_decided_stalls_and_says_why() {
    let other = stalled_message(phase(Some(Decision::Approved), &observed("denied")));
    assert!(other.contains("already denied"), "{other}");
    let cancelled = stalled_message(phase(Some(Decision::Approved), &observed("cancelled")));
    assert!(
        cancelled.contains("cancelled by the requester"),
        "{cancelled}"
    );
    let expired = stalled_message(phase(Some(Decision::Denied), &observed("expired")));
    assert!(
        expired.contains("expired at 2026-12-10 09:00:00"),
        "{expired}"
    );
}

#[test]
fn an_observed_approval_is_ready_whatever_its_status() {
    assert!(matches!(
        phase(None, &observed("registered")),
        Phase::Ready { .. }
    ));
}

#[test]
fn the_view_names_the_request_the_requester_and_the_network() {
    let shown = view(&observed("registered"));
    assert_eq!(shown.status.as_deref(), Some("registered"));
    assert_eq!(shown.tenant_connection_request_id.as_deref(), Some("tcr1"));
    assert_eq!(
        shown.tenant_connection_request_status.as_deref(),
        Some("registered")
    );
    assert_eq!(shown.requester_tenant_id.as_deref(), Some("requester"));
    assert_eq!(shown.network_id.as_deref(), Some("net"));
}

#[test]
fn only_the_listed_namespaces_are_granted() {
    use super::reference::grants;
    use crate::api::TenantConnectionRequest;
    let mut request: TenantConnectionRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest",
        "metadata": {"name": "r", "namespace": "team-a",
                     "annotations": {"cloudlink.dev/approval-namespaces": "owners, network-ops"}},
        "spec": {"cloudCredentialsRef": {"secretName": "s", "cloudName": "c"}}
    }))
    .unwrap();
    assert!(grants(&request, "owners"));
    assert!(grants(&request, "network-ops"));
    assert!(!grants(&request, "network"));
    request.metadata.annotations = None;
    assert!(!grants(&request, "owners"));
}
