//! The user's levers: pausing an object and asking for a reconcile now.

use kube::runtime::controller::Action;

use super::harness::Harness;
use super::widget::managed;
use crate::api::common::annotation::{FLUX_RECONCILE_REQUESTED_AT, PAUSED, RECONCILE_REQUESTED_AT};

fn annotate(h: &Harness, name: &str, key: &str, value: Option<&str>) {
    h.edit(name, |w| {
        let annotations = w.metadata.annotations.get_or_insert_with(Default::default);
        match value {
            Some(value) => annotations.insert(key.to_owned(), value.to_owned()),
            None => annotations.remove(key),
        };
    });
}

#[tokio::test(start_paused = true)]
async fn a_paused_object_makes_no_cloud_call_and_only_says_it_is_paused() {
    let h = Harness::start();
    h.apply(managed("w"));
    annotate(&h, "w", PAUSED, Some("true"));

    let action = h.reconcile("w").await;
    h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    assert!(h.cloud.widgets().is_empty());
    let paused = h.condition("w", "Paused");
    assert_eq!(
        (paused.status.as_str(), paused.reason.as_str()),
        ("True", "Paused")
    );
    assert!(
        paused.message.contains("cloudlink.dev/paused"),
        "{}",
        paused.message
    );
    // One status write and one Event, not one per reconcile; no finalizer: nothing to clean up.
    assert_eq!(h.writes(), ["write status w", "event Paused w"]);

    annotate(&h, "w", PAUSED, None);
    h.settle("w").await;

    assert_eq!(h.ready("w").0, "True");
    assert_eq!(h.cloud.widgets().len(), 1);
    let status = h.object("w").status.unwrap();
    assert!(!status.conditions.iter().any(|c| c.type_ == "Paused"));
}

#[tokio::test(start_paused = true)]
async fn pausing_a_ready_object_keeps_its_status_and_holds_its_deletion() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    let id = h.id("w").unwrap();
    annotate(&h, "w", PAUSED, Some("true"));
    h.reconcile("w").await;
    let (get, list) = (h.cloud.calls("get"), h.cloud.calls("list"));

    h.delete("w");
    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    assert!(h.exists("w"), "the finalizer stays while paused");
    assert!(h.cloud.widget(&id).is_some());
    assert_eq!((h.cloud.calls("get"), h.cloud.calls("list")), (get, list));
    assert_eq!(
        h.ready("w").0,
        "True",
        "the last reconcile's conditions stay"
    );
    let paused = h.condition("w", "Paused");
    assert!(
        paused.message.contains("deletion waits"),
        "{}",
        paused.message
    );

    annotate(&h, "w", PAUSED, None);
    h.settle("w").await;

    assert!(!h.exists("w"));
    assert!(h.cloud.widget(&id).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_requested_reconcile_reads_the_cloud_once_per_token() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    // A resync is served by the credential's batched reading, not by the object's own GET.
    h.reconcile("w").await;
    let gets = h.cloud.calls("get");

    annotate(
        &h,
        "w",
        RECONCILE_REQUESTED_AT,
        Some("2026-12-03T10:00:00Z"),
    );
    h.reconcile("w").await;

    assert_eq!(h.cloud.calls("get"), gets + 1);
    let handled = h.object("w").status.unwrap().last_handled_reconcile_at;
    assert_eq!(handled.as_deref(), Some("2026-12-03T10:00:00Z"));

    h.reconcile("w").await;
    assert_eq!(
        h.cloud.calls("get"),
        gets + 1,
        "a handled token reads nothing more"
    );

    // Flux's annotation is read when cloudlink's is absent.
    annotate(&h, "w", RECONCILE_REQUESTED_AT, None);
    annotate(&h, "w", FLUX_RECONCILE_REQUESTED_AT, Some("flux-1"));
    h.reconcile("w").await;
    assert_eq!(h.cloud.calls("get"), gets + 2);
    let handled = h.object("w").status.unwrap().last_handled_reconcile_at;
    assert_eq!(handled.as_deref(), Some("flux-1"));
}
