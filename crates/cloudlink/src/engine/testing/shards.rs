//! An object that leaves this replica's watch (moved to another shard by its labels) gets no
//! more writes from it, not even from a reconcile that was already running, and is forgotten.

use std::sync::Arc;

use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;

use super::harness::Harness;
use super::widget::{Widget, managed};
use crate::engine::context::{Context, Settings};
use crate::engine::objects::Objects;
use crate::engine::watched::Watched;

/// The harness with the operator's writes (only for watched objects) and a cache the test fills
/// as the watch would.
fn sharded(h: &mut Harness) -> Writer<Widget> {
    let (store, writer) = reflector::store();
    let objects = Arc::new(Objects::default());
    objects.register(store);
    let writes = Arc::new(Watched::new(h.api.clone(), objects.clone()));
    h.ctx = Arc::new(
        Context::with_edges(
            h.cloud.clone(),
            writes,
            h.credentials.clone(),
            Settings::default(),
        )
        .with_objects(objects),
    );
    writer
}

#[tokio::test(start_paused = true)]
async fn a_reconcile_of_an_object_that_left_the_watch_writes_nothing_and_creates_nothing() {
    let mut h = Harness::start();
    let mut watch = sharded(&mut h);
    h.apply(managed("w"));
    // The reconcile was queued while the object was watched; the object moved before it ran.
    let copy = h.object("w");
    watch.apply_watcher_event(&Event::Apply(copy.clone()));
    watch.apply_watcher_event(&Event::Delete(copy.clone()));

    h.reconcile_copy(copy).await;

    assert_eq!(h.writes(), Vec::<String>::new());
    assert_eq!(h.cloud.calls("create"), 0);
    assert!(h.object("w").status.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_watched_object_is_written_and_forgotten_once_it_left() {
    let mut h = Harness::start();
    let mut watch = sharded(&mut h);
    h.apply(managed("w"));
    watch.apply_watcher_event(&Event::Apply(h.object("w")));
    h.reconcile("w").await;
    assert!(h.writes().contains(&"cloud create w".to_owned()));
    let uid = h.object("w").metadata.uid.unwrap();
    assert_eq!(h.ctx.remembered(), std::slice::from_ref(&uid));

    // Moved away: the new shard owns it now (same UID, same id in status).
    let moved = h.object("w");
    watch.apply_watcher_event(&Event::Delete(moved.clone()));
    h.ctx.forget(&[&uid]);
    assert!(h.ctx.remembered().is_empty());
    h.edit("w", |w: &mut Widget| {
        w.spec.resource.as_mut().unwrap().description = "changed".into()
    });
    h.reconcile_copy(h.object("w")).await;
    assert_eq!(
        h.writes(),
        Vec::<String>::new(),
        "no write by the old shard"
    );
    assert_eq!(h.cloud.calls("create"), 1);
}
