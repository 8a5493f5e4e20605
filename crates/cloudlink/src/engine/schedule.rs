//! When an object is reconciled next: from the phase its reconcile ended in.

use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::adapter::{Adapter, ManagedObject};
use super::context::Context;
use super::outcome::{Phase, Reason};

/// How far resyncs due at one tick are spread.
const TICK_SPREAD: Duration = Duration::from_secs(5);
/// How far the polls due at one tick are spread: less than the age of a reading they may share
/// (half an in-flight tick), so that one reading serves the whole tick.
const POLL_SPREAD: Duration = Duration::from_millis(100);

/// How often an object waiting for the cloud (a server building, a request registering, a
/// resource being deleted) looks again. Every in-flight object of a kind looks at the same
/// ticks, so one batched reading per credential serves them all (`engine::readings`): the cloud
/// sees one LIST per tick however many objects are in flight, and an object sees its resource's
/// change half a tick after the cloud made it, on average.
pub const IN_FLIGHT_POLL: Duration = Duration::from_millis(500);

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
        } => Action::requeue(until_next_tick(*soon, TICK_SPREAD)),
        Phase::Ready { recheck: None, .. } => {
            Action::requeue(until_next_tick(resync_period(ctx, object), TICK_SPREAD))
        }
        Phase::Progressing { poll, .. } => Action::requeue(until_next_tick(*poll, POLL_SPREAD)),
        // The owner's deletion settles a conflict without any change to this object.
        Phase::Stalled {
            reason: Reason::Conflict,
            ..
        } => Action::requeue(until_next_tick(resync_period(ctx, object), TICK_SPREAD)),
        Phase::Stalled { .. } | Phase::Retrying { .. } => Action::await_change(),
    }
}

pub(super) fn resync_period<A: Adapter>(ctx: &Context<A>, object: &A::Object) -> Duration {
    object.management().resync().unwrap_or(ctx.settings.resync)
}

/// The wait until the next multiple of `period` since the Unix epoch, plus up to `spread` (and
/// a tenth of the period). Objects on the same period resync together, so one batched reading of the
/// cloud serves them all (the reading is what protects the cloud, not a random spread); the
/// small spread keeps their reconciles from reaching the API server in one instant.
fn until_next_tick(period: Duration, spread: Duration) -> Duration {
    let period_ms = period.as_millis().max(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let wait =
        Duration::from_millis(u64::try_from(period_ms - now_ms % period_ms).unwrap_or(u64::MAX));
    wait + spread.min(period / 10).mul_f64(rand::random::<f64>())
}
