//! Creating the cloud resource exactly once: the first create costs no lookup, and whatever goes
//! wrong after the cloud acted (a crash, a lost answer, a lagging cache) ends with one resource.

use super::cloud::{POLL, State, timeout};
use super::harness::{Harness, requeue_after};
use super::widget::managed;
use crate::engine::finalizers::FINALIZER;

#[tokio::test(start_paused = true)]
async fn a_first_create_is_marked_by_the_finalizer_sent_once_and_costs_no_lookup() {
    let h = Harness::start();
    h.apply(managed("w"));

    let action = h.reconcile("w").await;

    // The finalizer is the create's mark: written before anything reaches the cloud, and the
    // only write before it (the Secret's guard is the Secret's, once).
    assert_eq!(
        h.writes(),
        [
            "verify credentials",
            "add finalizer w",
            "guard secret cloud",
            "cloud create w",
            "event Created w",
            "write status w",
        ]
    );
    assert_eq!(h.cloud.calls("find_own"), 0);
    assert!(Harness::polls_within(&action, POLL), "{action:?}");
    assert_eq!(h.id("w").as_deref(), Some("w-1"));
    let (ready, reason, _) = h.ready("w");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "Progressing"));
    assert!(h.credentials.guarded("cloud"));

    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    let status = h.object("w").status.unwrap();
    assert_eq!(status.resource.unwrap().state, "active");
    assert_eq!(status.observed_generation, 1);
    assert_eq!(h.cloud.calls("create"), 1);
    assert_eq!(h.cloud.widgets().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_the_clouds_create_adopts_the_resource_on_restart() {
    let mut h = Harness::start();
    h.apply(managed("w"));
    // The process dies after the cloud created the widget, before the id reached status.
    h.api.fail_next("write status");
    assert!(h.try_reconcile("w").await.is_err());
    let object = h.object("w");
    assert!(object.status.is_none_or(|s| s.id.is_none()));
    assert_eq!(object.metadata.finalizers.unwrap(), [FINALIZER], "the mark");

    h.restart();
    h.reconcile("w").await;

    assert_eq!(h.cloud.calls("find_own"), 1);
    assert_eq!(h.cloud.calls("create"), 1);
    assert_eq!(h.cloud.widgets().len(), 1);
    assert_eq!(h.id("w").as_deref(), Some("w-1"));
    assert!(h.event_reasons("w").contains(&"Adopted".to_owned()));
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_to_a_create_is_found_instead_of_sent_again() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.cloud.lose_next_answer("create", timeout());

    let action = h.reconcile("w").await;
    let (ready, reason, _) = h.ready("w");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "TransientError")
    );
    assert!(requeue_after(&action).is_some());
    assert_eq!(h.cloud.widgets().len(), 1, "the cloud did create it");
    assert!(h.id("w").is_none());

    h.settle("w").await;

    assert_eq!(h.cloud.calls("create"), 1);
    assert_eq!(h.cloud.widgets().len(), 1);
    assert_eq!(h.id("w").as_deref(), Some("w-1"));
    assert_eq!(h.ready("w").0, "True");
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_mark_sends_no_create() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.api.fail_next("add finalizer");

    h.reconcile("w").await;

    assert_eq!(h.cloud.calls("create"), 0);
    assert_eq!(h.ready("w").1, "TransientError");
    h.settle("w").await;
    assert_eq!(h.cloud.calls("find_own"), 0, "no create was ever marked");
    assert_eq!(h.cloud.calls("create"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stale_copy_of_the_object_does_not_create_again() {
    let h = Harness::start();
    h.apply(managed("w"));
    let before_create = h.object("w");
    h.reconcile("w").await;

    // The controller's cache has not seen the status write yet.
    h.reconcile_copy(before_create).await;

    assert_eq!(h.cloud.calls("create"), 1);
    assert_eq!(h.cloud.calls("find_own"), 0);
    assert_eq!(h.cloud.widgets().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_resource_deleted_out_of_band_is_created_again() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    h.writes();

    h.cloud.vanish("w-1");
    h.reconcile("w").await;

    let writes = h.writes();
    let at = |entry: &str| writes.iter().position(|w| w == entry).unwrap();
    assert!(at("event Recreating w") < at("clear id w"), "{writes:?}");
    assert!(at("clear id w") < at("cloud create w"), "{writes:?}");
    let events = h.events("w");
    let recreating = events.iter().find(|e| e.reason == "Recreating").unwrap();
    assert!(
        recreating.warning && recreating.note.contains("w-1"),
        "{recreating:?}"
    );
    assert_eq!(h.id("w").as_deref(), Some("w-2"));
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    assert_eq!(h.cloud.widgets().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_spec_change_is_carried_to_the_resource() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;

    h.edit("w", |w| {
        w.spec.resource.as_mut().unwrap().description = "blue".into()
    });
    h.reconcile("w").await;

    assert_eq!(h.cloud.calls("update"), 1);
    assert_eq!(h.cloud.widget("w-1").unwrap().description, "blue");
    let status = h.object("w").status.unwrap();
    assert_eq!(status.resource.unwrap().description, "blue");
    assert_eq!(status.observed_generation, 2);
    assert!(h.event_reasons("w").contains(&"Updated".to_owned()));
    assert_eq!(h.cloud.widget("w-1").unwrap().state, State::Active);
}
