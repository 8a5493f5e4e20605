//! One cloud resource, one owner: two objects that name the same resource.

use std::time::Duration;

use super::harness::{Harness, requeue_after};
use super::widget::{Widget, adopting, managed};

/// A managed widget `name` that wants the cloud widget called `wants`.
fn wanting(name: &str, wants: &str) -> Widget {
    let mut widget = managed(name);
    widget.spec.resource.as_mut().unwrap().name = wants.into();
    widget
}

fn assert_conflict_with_a(h: &Harness, name: &str) {
    let message = h.stalled(name, "Conflict");
    assert!(
        message.contains("belongs to cloudlink object default/a"),
        "{message}"
    );
    assert!(h.id(name).is_none(), "the resource is not {name}'s");
}

#[tokio::test(start_paused = true)]
async fn a_second_claimant_is_a_conflict_and_never_touches_the_resource() {
    let h = Harness::start();
    h.cloud.behave(|b| b.one_per_name = true);
    h.apply(managed("a"));
    h.settle("a").await;

    // The cloud keeps one widget per name, and its create answers with a's.
    h.apply(wanting("b", "a"));
    let action = h.reconcile("b").await;

    assert_conflict_with_a(&h, "b");
    // Re-checked at every resync, so that the owner's deletion settles it.
    let after = requeue_after(&action).unwrap();
    assert!(after <= Duration::from_secs(605), "{after:?}");

    h.edit("b", |w| {
        w.spec.resource.as_mut().unwrap().description = "b's".into()
    });
    h.reconcile("b").await;
    assert_conflict_with_a(&h, "b");
    assert_eq!(h.cloud.calls("update"), 0);

    h.delete("b");
    h.settle("b").await;
    assert!(!h.exists("b"));
    let widget = h.cloud.widget("w-1").expect("a's widget stays");
    assert_eq!(widget.description, "");
    assert_eq!(h.cloud.calls("delete"), 0);
    h.reconcile("a").await;
    assert_eq!(h.ready("a").0, "True");
}

#[tokio::test(start_paused = true)]
async fn once_the_owner_is_gone_the_other_object_takes_over() {
    let h = Harness::start();
    h.cloud.behave(|b| b.one_per_name = true);
    h.apply(managed("a"));
    h.settle("a").await;
    h.apply(wanting("b", "a"));
    h.reconcile("b").await;
    assert_conflict_with_a(&h, "b");

    h.delete("a");
    h.settle("a").await;
    h.settle("b").await;

    assert_eq!(h.ready("b").0, "True");
    assert_eq!(h.id("b").as_deref(), Some("w-2"));
    let mark = h.cloud.widget("w-2").unwrap().mark.unwrap();
    assert_eq!(mark.object.as_deref(), Some("default/b"));
}

#[tokio::test(start_paused = true)]
async fn a_resource_another_object_owns_cannot_be_imported() {
    let h = Harness::start();
    h.apply(managed("a"));
    h.settle("a").await;

    h.apply(adopting("b", "w-1"));
    h.reconcile("b").await;

    assert_conflict_with_a(&h, "b");
    assert_eq!(h.cloud.calls("claim"), 0);
    h.delete("b");
    h.reconcile("b").await;
    assert!(!h.exists("b"));
    assert!(h.cloud.widget("w-1").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_resource_that_cannot_be_marked_yet_belongs_to_its_first_claimant() {
    let mut h = Harness::start();
    h.cloud.behave(|b| {
        b.one_per_name = true;
        b.marks_on_create = false;
        b.build_reads = 2;
    });
    h.apply(managed("a"));
    h.reconcile("a").await;
    assert!(
        h.cloud.widget("w-1").unwrap().mark.is_none(),
        "building: no mark yet"
    );

    h.apply(wanting("b", "a"));
    h.reconcile("b").await;
    assert_conflict_with_a(&h, "b");

    h.settle("a").await;
    assert_eq!(h.ready("a").0, "True");
    let mark = h.cloud.widget("w-1").unwrap().mark.unwrap();
    assert_eq!(mark.object.as_deref(), Some("default/a"));

    // The mark in the cloud decides after a restart, when this process's claims are gone.
    h.restart();
    h.reconcile("b").await;
    assert_conflict_with_a(&h, "b");
    assert_eq!(h.cloud.calls("claim"), 1);
}
