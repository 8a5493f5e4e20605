//! When an object is reconciled next: from the phase its reconcile ended in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::adapter::{Adapter, ManagedObject};
use super::context::Context;
use super::outcome::{Phase, Reason};

/// How far resyncs due at one tick are spread.
const TICK_SPREAD: Duration = Duration::from_secs(5);
/// How far the polls due at one tick are spread (at most a tenth of the period): they share the
/// reading the tick's first poll takes ([`in_flight_reading_age`]).
const POLL_SPREAD: Duration = Duration::from_millis(100);

/// How often an object that has just begun to wait for the cloud (a server building, a request
/// registering, a resource being deleted) looks again; the longer it waits, the less often it
/// looks ([`in_flight_period`]). Every in-flight object of a kind looks at the same ticks, so
/// one batched reading per credential serves them all (`engine::readings`): the cloud sees one
/// LIST per tick however many objects are in flight.
pub const IN_FLIGHT_POLL: Duration = Duration::from_millis(250);

/// The longest period between looks of an object that waits for the cloud (the default resync
/// of a Ready object is minutes; a resource in flight is looked at far more often).
const IN_FLIGHT_POLL_MAX: Duration = Duration::from_secs(4);

/// The period of an object that has waited `waited` for the cloud, with the kind's `poll` as the
/// shortest: the longest of `poll`·2^k (up to [`IN_FLIGHT_POLL_MAX`]) that is at most a quarter
/// of the wait so far. The cloud's operation then ends at most a quarter of its own duration
/// (an eighth on average) before the object sees it, whether it takes a second (the emulator)
/// or minutes (a real ECL registration), and the calls it costs grow with the logarithm of its
/// duration until the periods reach the longest. The periods are powers of two times the
/// shortest, so a slower object's ticks are also every faster one's: one reading per tick
/// still serves them all.
pub fn in_flight_period(poll: Duration, waited: Duration) -> Duration {
    let longest = IN_FLIGHT_POLL_MAX.max(poll);
    let mut period = poll.max(Duration::from_millis(1));
    while period.saturating_mul(2) <= longest && period.saturating_mul(8) <= waited {
        period *= 2;
    }
    period
}

/// Since when each object (by UID) has been waiting for the cloud: for [`in_flight_period`].
/// A deletion's wait starts afresh even if the create's wait had not ended.
#[derive(Default)]
pub(super) struct InFlight {
    since: Mutex<HashMap<String, (tokio::time::Instant, bool)>>,
}

impl InFlight {
    /// How long the object has waited, counting from now if it was not waiting.
    fn waited(&self, uid: &str, deleting: bool) -> Duration {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        let entry = since.entry(uid.to_owned()).or_insert((now, deleting));
        if entry.1 != deleting {
            *entry = (now, deleting);
        }
        now - entry.0
    }

    /// The object no longer waits for the cloud (or is gone).
    pub(super) fn done(&self, uid: &str) {
        self.since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }

    pub(super) fn uids(&self) -> Vec<String> {
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        since.keys().cloned().collect()
    }
}

/// The requeue after a reconcile that ended in `phase`; a retry's backoff grows, any other
/// outcome resets it.
pub(super) fn next_action<A: Adapter>(
    ctx: &Context<A>,
    object: &A::Object,
    phase: &Phase,
) -> Action {
    let uid = object.uid().unwrap_or_default();
    match phase {
        // A failed look does not end the wait for the cloud.
        Phase::Retrying { retry_after, .. } => {
            return Action::requeue(ctx.backoff.failed(&uid, *retry_after));
        }
        Phase::Progressing { .. } => ctx.backoff.forget(&uid),
        _ => {
            ctx.backoff.forget(&uid);
            ctx.in_flight.done(&uid);
        }
    }
    match phase {
        Phase::Ready {
            recheck: Some(soon),
            ..
        } => Action::requeue(until_next_tick(*soon, TICK_SPREAD)),
        Phase::Ready { recheck: None, .. } => {
            Action::requeue(until_next_tick(resync_period(ctx, object), TICK_SPREAD))
        }
        Phase::Progressing { poll, .. } => {
            let waited = ctx
                .in_flight
                .waited(&uid, object.meta().deletion_timestamp.is_some());
            Action::requeue(until_next_tick(
                in_flight_period(*poll, waited),
                POLL_SPREAD,
            ))
        }
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

/// The wait until the next multiple of `period` on the tick clock, plus up to `spread` (and a
/// tenth of the period). Objects on the same period resync together, so one batched reading of
/// the cloud serves them all (the reading is what protects the cloud, not a random spread); the
/// small spread keeps their reconciles from reaching the API server in one instant.
fn until_next_tick(period: Duration, spread: Duration) -> Duration {
    let period_ms = period.as_millis().max(1);
    let now_ms = tick_clock().as_millis();
    let wait =
        Duration::from_millis(u64::try_from(period_ms - now_ms % period_ms).unwrap_or(u64::MAX));
    wait + spread.min(period / 10).mul_f64(rand::random::<f64>())
}

/// How old a reading an in-flight poll accepts: one taken since the current in-flight tick began.
/// The first poll of a tick takes a new reading and every later poll of the tick shares it, also
/// the polls that a busy tick delays past their due time (a fixed age would make them read
/// again), so the cloud sees one LIST per tick however many objects are due.
pub(super) fn in_flight_reading_age() -> Duration {
    let tick_ms = IN_FLIGHT_POLL.as_millis().max(1);
    let into_tick = tick_clock().as_micros() % (tick_ms * 1000);
    Duration::from_micros(u64::try_from(into_tick).unwrap_or(u64::MAX))
}

/// The time on which ticks fall: tokio's clock (the one requeues are counted on, which the engine's
/// tests pause and move on), from a point an hour before the process first asked, so that every
/// object of the process counts from the same point.
fn tick_clock() -> Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(|| {
        let now = std::time::Instant::now();
        now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
    });
    tokio::time::Instant::now()
        .into_std()
        .saturating_duration_since(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_wait_is_looked_at_less_often_the_longer_it_lasts() {
        let periods: Vec<u128> = [0, 900, 2_000, 4_000, 8_000, 16_000, 60_000, 3_600_000]
            .map(|waited| in_flight_period(IN_FLIGHT_POLL, waited * MS).as_millis())
            .to_vec();
        assert_eq!(periods, [250, 250, 500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn a_period_is_at_most_a_quarter_of_the_wait_and_divides_the_longer_ones() {
        for waited in (0..40_000).step_by(37) {
            let period = in_flight_period(IN_FLIGHT_POLL, waited * MS);
            assert!(
                period <= IN_FLIGHT_POLL.max(waited * MS / 4),
                "{waited} ms: {period:?}"
            );
            // Every period's ticks are ticks of the shortest: one reading serves all of them.
            assert_eq!(period.as_millis() % IN_FLIGHT_POLL.as_millis(), 0);
            assert!((period.as_millis() / IN_FLIGHT_POLL.as_millis()).is_power_of_two());
        }
    }

    #[test]
    fn a_kinds_longer_poll_is_kept() {
        let poll = Duration::from_secs(30);
        assert_eq!(in_flight_period(poll, Duration::ZERO), poll);
        assert_eq!(in_flight_period(poll, Duration::from_secs(3600)), poll);
    }

    #[tokio::test(start_paused = true)]
    async fn an_in_flight_reading_is_good_for_the_rest_of_its_tick() {
        // Ticks are counted in whole milliseconds: a tick's start is within one of them.
        let about = |age: Duration, expected: u32| age.abs_diff(MS * expected) < MS;
        // At a tick's start, only a reading taken now will do.
        tokio::time::sleep(until_next_tick(IN_FLIGHT_POLL, Duration::ZERO)).await;
        assert!(about(in_flight_reading_age(), 0));
        tokio::time::advance(MS * 180).await;
        assert!(about(in_flight_reading_age(), 180));
        // The next tick asks for a new one.
        tokio::time::advance(MS * 100).await;
        assert!(about(in_flight_reading_age(), 30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deletion_waits_afresh_after_a_create_that_waited() {
        let in_flight = InFlight::default();
        assert_eq!(in_flight.waited("a", false), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(in_flight.waited("a", false), Duration::from_secs(10));
        assert_eq!(in_flight.waited("a", true), Duration::ZERO);
        in_flight.done("a");
        assert!(in_flight.uids().is_empty());
    }
}
