//! The engine writes only about objects its own watch still shows.
//!
//! An object leaves a replica's watch when its labels stop matching `--watch-label-selector`
//! (it moved to another shard) or when it is deleted; the watch then reports it deleted and the
//! controller drops it from its cache, and no new reconcile of it starts here. A reconcile that
//! was already running when the object left would still write: its status (which another shard
//! now owns), the finalizer that marks a create (and then the create itself), the exported
//! ConfigMap. [`Watched`] refuses each of these writes once the object is gone from the caches,
//! so a shard that lost an object makes no write about it after its watch said so, and never
//! starts a create for it. Every first cloud create is preceded by the finalizer write (its
//! mark), so refusing that write is what keeps the old shard from creating.
//!
//! Events are let through for an object being deleted: the last one (`Deleted`, `Detached`)
//! is sent once the finalizer is gone, when the object may have left the cache already.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use kube::ResourceExt;
use kube::core::Status;

use super::adapter::ManagedObject;
use super::events::EventType;
use super::export;
use super::objects::Objects;
use super::writes::{ObjectWrites, StatusPatch};

/// [`ObjectWrites`] that refuses writes about objects the running controllers no longer hold.
pub struct Watched<W: ?Sized> {
    inner: Arc<W>,
    objects: Arc<Objects>,
}

impl<W: ?Sized> Watched<W> {
    pub fn new(inner: Arc<W>, objects: Arc<Objects>) -> Self {
        Watched { inner, objects }
    }

    /// Whether this very object (same UID: not a namesake created since) is still watched here.
    fn holds<K: ManagedObject>(&self, object: &K) -> bool {
        self.objects.holds::<K>(
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
            object.uid().as_deref().unwrap_or_default(),
        )
    }

    fn check<K: ManagedObject>(&self, object: &K) -> Result<(), kube::Error> {
        if self.holds(object) {
            return Ok(());
        }
        tracing::info!(
            namespace = %object.namespace().unwrap_or_default(),
            name = %object.name_any(),
            "not writing: the object left this replica's watch (deleted, or moved to another shard by its labels)"
        );
        Err(left(object))
    }
}

/// The error a refused write returns: the reconcile stops there, and its retry finds no object.
fn left<K: ManagedObject>(object: &K) -> kube::Error {
    kube::Error::Api(
        Status::failure(
            &format!(
                "{} left this replica's watch (deleted, or its labels no longer match --watch-label-selector): another shard owns it now",
                object.name_any()
            ),
            "NotWatched",
        )
        .with_code(409)
        .boxed(),
    )
}

#[async_trait]
impl<K: ManagedObject, W: ObjectWrites<K> + ?Sized> ObjectWrites<K> for Watched<W> {
    async fn may_act(&self, object: &K) -> Result<(), kube::Error> {
        self.check(object)
    }

    async fn add_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        self.check(object)?;
        self.inner.add_finalizer(object).await
    }

    async fn remove_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        self.check(object)?;
        self.inner.remove_finalizer(object).await
    }

    async fn patch_status(
        &self,
        object: &K,
        patch: &StatusPatch<'_, K::CloudView>,
    ) -> Result<(), kube::Error> {
        self.check(object)?;
        self.inner.patch_status(object, patch).await
    }

    fn publish(&self, object: &K, type_: EventType, reason: &str, action: &str, note: &str) {
        if object.meta().deletion_timestamp.is_some() || self.holds(object) {
            self.inner.publish(object, type_, reason, action, note);
        }
    }

    async fn export(
        &self,
        object: &K,
        name: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<export::Outcome, kube::Error> {
        self.check(object)?;
        self.inner.export(object, name, data).await
    }
}
