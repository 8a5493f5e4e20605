//! Imported and observed resources, and what a resync costs.

use std::time::Duration;

use kube::runtime::controller::Action;

use super::harness::{Harness, requeue_after};
use super::widget::{adopting, managed, observing};

#[tokio::test(start_paused = true)]
async fn importing_an_id_the_cloud_does_not_have_stalls_without_creating() {
    let h = Harness::start();
    h.apply(adopting("w", "w-404"));

    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    let message = h.stalled("w", "InvalidConfiguration");
    assert!(
        message.contains("spec.import.id w-404 does not exist"),
        "{message}"
    );
    assert_eq!(h.cloud.calls("create"), 0);
    assert!(h.id("w").is_none());
}

#[tokio::test(start_paused = true)]
async fn an_adopted_resource_is_marked_and_never_recreated_once_gone() {
    let h = Harness::start();
    let id = h.cloud.seed("legacy", None);
    h.apply(adopting("w", &id));

    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    assert_eq!(h.id("w"), Some(id.clone()));
    assert!(h.event_reasons("w").contains(&"Adopted".to_owned()));
    let mark = h.cloud.widget(&id).unwrap().mark.unwrap();
    assert_eq!(mark.object.as_deref(), Some("default/w"));

    h.cloud.vanish(&id);
    h.reconcile("w").await;

    let message = h.stalled("w", "UnrecoverableError");
    assert!(
        message.contains("does not recreate imported resources"),
        "{message}"
    );
    assert_eq!(h.cloud.calls("create"), 0);
}

#[tokio::test(start_paused = true)]
async fn an_unmanaged_object_observes_and_never_writes_to_the_cloud() {
    let h = Harness::start();
    let id = h.cloud.seed("theirs", None);
    h.apply(observing("w", &id));

    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    let status = h.object("w").status.unwrap();
    assert_eq!(status.resource.unwrap().name, "theirs");
    assert!(status.create_requested.is_none());
    assert!(h.event_reasons("w").contains(&"Observing".to_owned()));

    h.delete("w");
    h.reconcile("w").await;

    assert!(!h.exists("w"));
    assert!(h.event_reasons("w").contains(&"Detached".to_owned()));
    let widget = h.cloud.widget(&id).expect("the resource stays");
    assert!(widget.mark.is_none(), "never marked: {widget:?}");
    for write in ["create", "update", "claim", "delete"] {
        assert_eq!(h.cloud.calls(write), 0, "{write}");
    }
    assert!(!h.credentials.guarded("cloud"));
}

#[tokio::test(start_paused = true)]
async fn unmanaged_without_an_import_stalls() {
    let h = Harness::start();
    let mut widget = observing("w", "unused");
    widget.spec.management.import = None;
    h.apply(widget);

    h.reconcile("w").await;

    let message = h.stalled("w", "InvalidConfiguration");
    assert!(message.contains("spec.import is required"), "{message}");
    assert_eq!(h.cloud.calls("create"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_steady_resync_reads_once_per_credential_and_writes_nothing() {
    let h = Harness::start();
    for name in ["a", "b", "c"] {
        h.apply(managed(name));
        h.settle(name).await;
    }
    // (Widgets on their way were polled through batched readings too.)
    let (gets, lists) = (h.cloud.calls("get"), h.cloud.calls("list"));
    h.writes();

    for name in ["a", "b", "c"] {
        let action = h.reconcile(name).await;
        // The next resync comes at the next tick of the default period (10 minutes, plus a
        // spread of up to 5 s).
        let after = requeue_after(&action).unwrap();
        assert!(after <= Duration::from_secs(605), "{after:?}");
    }

    assert_eq!(h.cloud.calls("list"), lists + 1);
    assert_eq!(h.cloud.calls("get"), gets);
    assert_eq!(
        h.writes(),
        Vec::<String>::new(),
        "nothing changed, nothing written"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resource_broken_in_the_cloud_stalls_the_object() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.settle("w").await;
    h.cloud.break_widget("w-1");

    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    h.stalled("w", "UnrecoverableError");
}

#[tokio::test(start_paused = true)]
async fn widgets_on_their_way_are_polled_with_one_reading_per_tick_however_many() {
    let h = Harness::start();
    h.cloud.behave(|b| b.build_reads = 3);
    let names = ["a", "b", "c", "d", "e", "f"];
    for name in names {
        h.apply(managed(name));
        h.reconcile(name).await;
    }
    let (gets, lists) = (h.cloud.calls("get"), h.cloud.calls("list"));

    let mut ticks = 0;
    while names.iter().any(|n| h.ready(n).0 != "True") {
        ticks += 1;
        assert!(ticks <= 5, "not Ready after {ticks} ticks");
        for name in names {
            h.reconcile(name).await;
        }
    }

    assert_eq!(h.cloud.calls("list") - lists, ticks, "one LIST per tick");
    assert_eq!(h.cloud.calls("get"), gets, "no widget read on its own");
}
