//! When an object is reconciled next: from the phase its reconcile ended in.

use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::adapter::{Adapter, ManagedObject};
use super::context::Context;
use super::outcome::{Phase, Reason};

/// How far resyncs due at one tick are spread.
const TICK_SPREAD: Duration = Duration::from_secs(5);

/// The requeue after a reconcile that ended in `phase`; a retry's backoff grows, any other
/// outcome resets it.
pub(super) fn next_action<A: Adapter>(
    ctx: &Context<A>,
    object: &A::Object,
    phase: &Phase,
) -> Action {
    let uid = object.uid().unwrap_or_default();
    match phase {
        Phase::Retrying { retry_after, .. } => {
            return Action::requeue(ctx.backoff.failed(&uid, *retry_after));
        }
        _ => ctx.backoff.forget(&uid),
    }
    match phase {
        Phase::Ready {
            recheck: Some(soon),
            ..
        } => Action::requeue(until_next_tick(*soon)),
        Phase::Ready { recheck: None, .. } => {
            Action::requeue(until_next_tick(resync_period(ctx, object)))
        }
        Phase::Progressing { poll, .. } => Action::requeue(*poll),
        // The owner's deletion settles a conflict without any change to this object.
        Phase::Stalled {
            reason: Reason::Conflict,
            ..
        } => Action::requeue(until_next_tick(resync_period(ctx, object))),
        Phase::Stalled { .. } | Phase::Retrying { .. } => Action::await_change(),
    }
}

pub(super) fn resync_period<A: Adapter>(ctx: &Context<A>, object: &A::Object) -> Duration {
    object.management().resync().unwrap_or(ctx.settings.resync)
}

/// The wait until the next multiple of `period` since the Unix epoch, plus up to
/// [`TICK_SPREAD`]. Objects on the same period resync together, so one batched reading of the
/// cloud serves them all (the reading is what protects the cloud, not a random spread); the
/// small spread keeps their reconciles from reaching the API server in one instant.
fn until_next_tick(period: Duration) -> Duration {
    let period_ms = period.as_millis().max(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let wait =
        Duration::from_millis(u64::try_from(period_ms - now_ms % period_ms).unwrap_or(u64::MAX));
    wait + TICK_SPREAD.min(period / 10).mul_f64(rand::random::<f64>())
}
