//! Waiting is not failing, and what the cloud cannot delete stays.

use kube::runtime::controller::Action;

use super::harness::Harness;
use super::widget::managed;

#[tokio::test(start_paused = true)]
async fn an_object_that_must_wait_writes_nothing_and_warns_nobody() {
    let h = Harness::start();
    h.cloud.behave(|b| b.not_ready = true);
    h.apply(managed("w"));

    let action = h.reconcile("w").await;
    h.reconcile("w").await;

    // At the next 30 s tick, which objects waiting for the same thing share.
    assert!(
        Harness::polls_within(&action, std::time::Duration::from_secs(30)),
        "{action:?}"
    );
    let (ready, reason, message) = h.ready("w");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "AwaitingApproval")
    );
    assert_eq!(message, "waiting for the owner");
    assert_eq!(h.condition("w", "Reconciling").status, "True");
    assert_eq!(h.cloud.calls("create"), 0);
    let status = h.object("w").status.unwrap();
    assert!(
        status.create_requested.is_none(),
        "no create mark while waiting"
    );
    assert!(
        h.events("w").iter().all(|e| !e.warning),
        "{:?}",
        h.events("w")
    );

    h.cloud.behave(|b| b.not_ready = false);
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    assert_eq!(h.cloud.calls("create"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_resource_the_cloud_cannot_delete_is_left_and_the_event_says_why() {
    let h = Harness::start();
    h.cloud.behave(|b| b.undeletable = true);
    h.apply(managed("w"));
    h.settle("w").await;
    let id = h.id("w").unwrap();

    h.delete("w");
    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    assert!(!h.exists("w"));
    assert_eq!(h.cloud.calls("delete"), 0);
    assert!(h.cloud.widget(&id).is_some());
    let detached = h
        .events("w")
        .into_iter()
        .find(|e| e.reason == "Detached")
        .unwrap();
    assert!(
        detached.note.contains("the cloud keeps widgets"),
        "{}",
        detached.note
    );
}

#[tokio::test(start_paused = true)]
async fn a_resource_the_cloud_cannot_delete_needs_no_credentials_to_be_released() {
    let h = Harness::start();
    h.cloud.behave(|b| b.undeletable = true);
    h.apply(managed("w"));
    h.settle("w").await;

    h.credentials.remove_secret(super::widget::SECRET);
    h.delete("w");
    h.reconcile("w").await;

    assert!(!h.exists("w"), "released without reaching the cloud");
    assert_eq!(h.cloud.calls("delete"), 0);
}
