//! Deleting objects: the cloud resource per `spec.onDelete`, then the Secret's guard, then the
//! finalizer; never held for nothing, and never stuck without a way out.

use std::time::Duration;

use super::cloud::{timeout, unavailable};
use super::harness::{Harness, about};
use super::widget::{SECRET, managed};
use crate::api::common::OnDelete;
use crate::engine::schedule::IN_FLIGHT_POLL;

#[tokio::test(start_paused = true)]
async fn deleting_deletes_the_resource_once_and_waits_until_it_is_gone() {
    let h = Harness::start();
    h.cloud.behave(|b| b.delete_reads = 2);
    h.apply(managed("w"));
    h.settle("w").await;
    h.journal.take();

    h.delete("w");
    let action = h.reconcile("w").await;
    assert!(Harness::polls_within(&action, IN_FLIGHT_POLL), "{action:?}");
    let (_, reason, message) = h.ready("w");
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("Progressing", "deleting cloud resource w-1")
    );
    let action = h.reconcile("w").await;
    assert!(Harness::polls_within(&action, IN_FLIGHT_POLL), "{action:?}");
    assert!(h.exists("w"), "held until the resource is gone");

    h.reconcile("w").await;

    assert!(!h.exists("w"));
    assert!(h.cloud.widgets().is_empty());
    assert_eq!(
        h.cloud.calls("delete"),
        1,
        "a deletion under way is not sent again"
    );
    assert_eq!(
        h.writes(),
        [
            "cloud delete w-1",
            "write status w",
            "release secret cloud",
            "remove finalizer w",
            "event Deleted w",
        ]
    );
    assert_eq!(h.ctx.backoff.tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn detach_leaves_the_resource_in_the_cloud() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    h.edit("w", |w| w.spec.management.on_delete = OnDelete::Detach);

    h.delete("w");
    h.reconcile("w").await;

    assert!(!h.exists("w"));
    assert!(h.cloud.widget("w-1").is_some());
    assert_eq!(h.cloud.calls("delete"), 0);
    let detached = h.events("w").pop().unwrap();
    assert_eq!(detached.reason, "Detached");
    assert!(detached.note.contains("w-1"), "{detached:?}");
}

#[tokio::test(start_paused = true)]
async fn a_never_created_object_with_broken_credentials_is_deleted_at_once() {
    let h = Harness::start();
    h.credentials.remove_secret(SECRET);
    h.apply(managed("w"));
    h.reconcile("w").await;
    h.stalled("w", "InvalidConfiguration");
    // Nothing was asked of the cloud, so nothing holds the object.
    assert!(h.object("w").metadata.finalizers.is_none());

    h.delete("w");

    assert!(!h.exists("w"));
    for call in ["get", "list", "find_own", "create", "delete"] {
        assert_eq!(h.cloud.calls(call), 0, "{call}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_deletion_blocked_by_broken_credentials_says_how_out_and_detach_releases_it() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    h.credentials.remove_secret(SECRET);

    h.delete("w");
    h.reconcile("w").await;

    assert!(h.exists("w"));
    let message = h.stalled("w", "InvalidConfiguration");
    assert!(
        message.contains("cannot delete cloud resource w-1"),
        "{message}"
    );
    assert!(message.contains("spec.onDelete: detach"), "{message}");

    h.edit("w", |w| w.spec.management.on_delete = OnDelete::Detach);
    h.reconcile("w").await;

    assert!(!h.exists("w"));
    assert!(h.cloud.widget("w-1").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_deletion_finds_and_deletes_what_a_lost_create_made() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.cloud.lose_next_answer("create", timeout());
    h.reconcile("w").await;
    assert!(h.id("w").is_none());

    h.delete("w");
    h.settle("w").await;

    assert!(!h.exists("w"));
    assert!(h.cloud.widgets().is_empty(), "nothing leaked");
    assert!(h.cloud.calls("find_own") >= 1);
    assert_eq!(h.cloud.calls("delete"), 1);
}

#[tokio::test(start_paused = true)]
async fn the_secret_stays_guarded_while_another_object_uses_it() {
    let h = Harness::start();
    for name in ["a", "b"] {
        h.apply(managed(name));
        h.settle(name).await;
    }

    h.delete("a");
    h.settle("a").await;
    assert!(!h.exists("a"));
    assert!(h.credentials.guarded(SECRET));

    h.delete("b");
    h.settle("b").await;
    assert!(!h.exists("b"));
    assert!(!h.credentials.guarded(SECRET));
}

#[tokio::test(start_paused = true)]
async fn a_deleted_secret_stays_until_every_object_that_needs_it_is_released() {
    let h = Harness::start();
    for name in ["slow", "quick"] {
        h.apply(managed(name));
        h.settle(name).await;
    }
    h.cloud.behave(|b| b.delete_reads = 3);

    // A namespace's deletion deletes everything in it at once.
    for name in ["slow", "quick"] {
        h.delete(name);
    }
    h.credentials.delete_secret(SECRET);
    h.reconcile("slow").await;
    h.cloud.behave(|b| b.delete_reads = 1);
    h.settle("quick").await;
    assert!(!h.exists("quick"));

    h.settle("slow").await;

    assert!(!h.exists("slow"), "{:?}", h.ready("slow"));
    assert!(h.cloud.widgets().is_empty(), "nothing leaked");
    assert!(!h.credentials.guarded(SECRET));
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_while_deleting_is_retried_with_backoff() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    h.cloud.refuse_next("delete", unavailable());

    h.delete("w");
    let action = h.reconcile("w").await;

    assert!(about(&action, Duration::from_secs(1)), "{action:?}");
    assert_eq!(h.ready("w").1, "TransientError");
    h.settle("w").await;
    assert!(!h.exists("w"));
    assert!(h.cloud.widgets().is_empty());
}
