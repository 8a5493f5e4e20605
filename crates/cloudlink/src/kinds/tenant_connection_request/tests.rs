//! The request's pure decisions: what its cloud states mean, and what an update sends.

use super::*;
use crate::engine::outcome::{Phase, Reason};

fn request(status: &str) -> ObservedRequest {
    ObservedRequest {
        request: ecl::TenantConnectionRequestRecord {
            id: "r1".into(),
            status: status.into(),
            name: "n".into(),
            tenant_id_other: "other".into(),
            approval_request_id: Some("req1".into()),
            tags: BTreeMap::from([
                (OWNER_TAG.to_owned(), "uid-1".to_owned()),
                ("team".to_owned(), "a".to_owned()),
            ]),
            ..Default::default()
        },
        approval: None,
    }
}

#[test]
fn registered_is_ready_and_awaiting_approval() {
    let (phase, approved) = phase(&request("registered"));
    assert!(matches!(phase, Phase::Ready { .. }), "{phase:?}");
    assert_eq!(
        (approved.status, approved.reason),
        (false, Reason::AwaitingApproval)
    );
    assert!(
        approved.message.contains("req1"),
        "the message names the approval request: {}",
        approved.message
    );
}

#[test]
fn approved_sets_approved_true() {
    let (phase, approved) = phase(&request("approved"));
    assert!(matches!(phase, Phase::Ready { .. }));
    assert_eq!((approved.status, approved.reason), (true, Reason::Success));
}

#[test]
fn denied_and_cancelled_stall() {
    for status in ["denied", "cancelled", "unavailable"] {
        let (phase, approved) = phase(&request(status));
        assert!(
            matches!(
                phase,
                Phase::Stalled {
                    reason: Reason::UnrecoverableError,
                    ..
                }
            ),
            "{status}"
        );
        assert!(!approved.status);
    }
}

#[test]
fn creating_is_progressing_and_not_yet_awaiting_approval() {
    let (phase, approved) = phase(&request("creating"));
    assert!(matches!(phase, Phase::Progressing { .. }));
    assert_eq!(approved.reason, Reason::Progressing);
}

#[test]
fn only_changed_fields_are_updated_and_the_owner_tag_survives() {
    let current = request("registered").request;
    let same_tags = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
    assert_eq!(changes(Some("n"), None, &same_tags, &current), None);
    let update = changes(Some("renamed"), None, &same_tags, &current).unwrap();
    assert_eq!(
        (
            update.name.as_deref(),
            update.description.as_deref(),
            update.tags.as_ref()
        ),
        (Some("renamed"), None, None)
    );
    let new_tags = BTreeMap::from([("team".to_owned(), "b".to_owned())]);
    let update = changes(None, None, &new_tags, &current).unwrap();
    assert_eq!(
        update.tags.unwrap().get(OWNER_TAG).map(String::as_str),
        Some("uid-1")
    );
}

#[test]
fn the_view_hides_cloudlinks_own_tag() {
    let v = view(&request("registered").request);
    assert_eq!(
        v.tags,
        BTreeMap::from([("team".to_owned(), "a".to_owned())])
    );
    assert_eq!(v.approval_request_id.as_deref(), Some("req1"));
}
