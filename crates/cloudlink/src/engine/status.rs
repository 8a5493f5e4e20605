//! Writing status: once per reconcile, only when it differs from what the object already shows;
//! before a create, the mark that one is being sent; and the forgetting of a vanished id.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::adapter::ManagedObject;
use super::conditions::{self, Desired};
use super::outcome::Phase;
use super::writes::{ObjectWrites, StatusPatch};
use crate::api::common::ResourceStatus;
use crate::api::common::condition::PAUSED;

/// Pure: the status an object should show after a reconcile that ended in `phase`.
/// `view` is `None` when nothing was read from the cloud this time (the previous view is kept).
pub fn next<V: Clone + PartialEq>(
    current: &ResourceStatus<V>,
    generation: i64,
    id: Option<String>,
    view: Option<V>,
    phase: &Phase,
    extra: &[Desired],
    now: &Time,
) -> ResourceStatus<V> {
    let mut desired = conditions::standard(phase).to_vec();
    desired.extend_from_slice(extra);
    let view_changed = view.is_some() && view != current.resource;
    let mut conditions = conditions::merge(&current.conditions, &desired, generation, now);
    // A reconcile runs only on an object that is not paused (see `pause.rs`).
    conditions.retain(|c| c.type_ != PAUSED);
    ResourceStatus {
        id,
        resource: view.or_else(|| current.resource.clone()),
        conditions,
        observed_generation: generation,
        // Moves only when the cloud's answer changed: a steady resync must not write status.
        last_sync_time: if view_changed {
            Some(now.clone())
        } else {
            current.last_sync_time.clone()
        },
        create_requested: current.create_requested.clone(),
        last_handled_reconcile_at: current.last_handled_reconcile_at.clone(),
    }
}

/// Patches `status` if it differs from what `object` shows. Returns whether it wrote.
pub async fn write<K: ManagedObject>(
    writes: &dyn ObjectWrites<K>,
    object: &K,
    status: &ResourceStatus<K::CloudView>,
) -> Result<bool, kube::Error> {
    let unchanged = object.status().is_some_and(|current| current == status);
    if unchanged {
        return Ok(false);
    }
    writes
        .patch_status(object, &StatusPatch::Whole(status))
        .await?;
    Ok(true)
}

/// Clears `status.id` at once, when its resource turned out to be gone (it is created again next).
pub async fn clear_id<K: ManagedObject>(
    writes: &dyn ObjectWrites<K>,
    object: &K,
) -> Result<(), kube::Error> {
    writes.patch_status(object, &StatusPatch::ClearId).await
}

/// Pure: whether `status` already shows condition `type_` with `status_`.
pub fn shows<V>(status: &ResourceStatus<V>, type_: &str, status_: bool) -> bool {
    let wanted = if status_ { "True" } else { "False" };
    status
        .conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == wanted)
}
