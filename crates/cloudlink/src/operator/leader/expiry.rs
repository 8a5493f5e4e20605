//! When may a candidate take another replica's Lease? Not by reading its `renewTime`: the holder
//! wrote that with its own clock, which may be skewed by any amount from ours. As client-go does,
//! a candidate remembers the last Lease record it read and when, on its own monotonic clock, it saw
//! that record change; a holder that left the record unchanged for the Lease's duration is gone.
//! (The Lease API documents `leaseDurationSeconds` the same way: measured against the time of the
//! last *observed* renewal.)

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::LeaseSpec;

/// What this replica may do with the Lease it just read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// We hold it: renew.
    Ours,
    /// Nobody holds it (never taken, or released): take it.
    Free,
    /// Its holder has not changed it for the Lease's duration: take it over.
    Expired,
    /// Someone else holds it and changed it recently: wait.
    Held,
}

/// The last Lease record this replica saw and when it first saw it in this form.
#[derive(Debug, Default)]
pub struct Observer {
    last: Option<(LeaseSpec, Instant)>,
}

impl Observer {
    /// Notes `record` as read (or written by us) at `now`. The clock restarts only when the record
    /// differs from the last one seen: a holder that renews writes a new `renewTime` every time,
    /// whatever its clock says.
    pub fn see(&mut self, record: &LeaseSpec, now: Instant) {
        if self.last.as_ref().is_none_or(|(seen, _)| seen != record) {
            self.last = Some((record.clone(), now));
        }
    }

    /// Notes `record` as read at `now` and judges it.
    pub fn judge(
        &mut self,
        record: &LeaseSpec,
        identity: &str,
        default_duration: Duration,
        now: Instant,
    ) -> Claim {
        self.see(record, now);
        let since = self.last.as_ref().map_or(now, |(_, since)| *since);
        judge(record, since, now, identity, default_duration)
    }
}

/// The decision alone: `record` was last seen to change at `since`; it is now `now` (both on this
/// replica's monotonic clock). The record's own timestamps play no part.
pub fn judge(
    record: &LeaseSpec,
    since: Instant,
    now: Instant,
    identity: &str,
    default_duration: Duration,
) -> Claim {
    match record.holder_identity.as_deref() {
        None | Some("") => Claim::Free,
        Some(holder) if holder == identity => Claim::Ours,
        Some(_) if now.saturating_duration_since(since) >= held_for(record, default_duration) => {
            Claim::Expired
        }
        Some(_) => Claim::Held,
    }
}

/// The duration the holder announced; a record without a usable one still names a holder that may
/// be alive, so it gets our own duration rather than none.
fn held_for(record: &LeaseSpec, default_duration: Duration) -> Duration {
    record
        .lease_duration_seconds
        .and_then(|seconds| u64::try_from(seconds).ok())
        .filter(|&seconds| seconds > 0)
        .map_or(default_duration, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    const ME: &str = "cloudlink-me";
    const DURATION: Duration = Duration::from_secs(15);

    fn held_by(holder: &str, renewed: jiff::Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(renewed)),
            acquire_time: Some(MicroTime(renewed)),
            lease_transitions: Some(3),
            ..Default::default()
        }
    }

    /// The same holder, renewed with clocks a day ahead, exact, and a day behind ours.
    fn skews() -> Vec<jiff::Timestamp> {
        let now = jiff::Timestamp::now();
        let day = jiff::SignedDuration::from_hours(24);
        vec![now + day, now, now - day]
    }

    #[test]
    fn an_unchanged_foreign_record_expires_after_its_duration_whatever_its_renew_time_says() {
        let start = Instant::now();
        for renewed in skews() {
            let record = held_by("other", renewed);
            let mut observer = Observer::default();
            let at = |seconds| start + Duration::from_secs(seconds);
            assert_eq!(observer.judge(&record, ME, DURATION, at(0)), Claim::Held);
            assert_eq!(observer.judge(&record, ME, DURATION, at(14)), Claim::Held);
            assert_eq!(
                observer.judge(&record, ME, DURATION, at(15)),
                Claim::Expired,
                "renewTime {renewed}"
            );
        }
    }

    #[test]
    fn a_record_that_keeps_changing_never_expires_whatever_its_renew_time_says() {
        let start = Instant::now();
        for renewed in skews() {
            let mut observer = Observer::default();
            // Renewed every 5 s by a live holder; its clock says whatever it says.
            for step in 0..20 {
                let record = held_by("other", renewed + jiff::SignedDuration::from_secs(step));
                let now = start + Duration::from_secs(5 * step as u64);
                assert_eq!(
                    observer.judge(&record, ME, DURATION, now),
                    Claim::Held,
                    "renewTime {renewed}, step {step}"
                );
            }
        }
    }

    #[test]
    fn any_change_of_the_record_restarts_the_clock() {
        let start = Instant::now();
        let renewed = jiff::Timestamp::now();
        let mut observer = Observer::default();
        let first = held_by("other", renewed);
        assert_eq!(observer.judge(&first, ME, DURATION, start), Claim::Held);
        // A new holder took it with the same renewTime (its clock lags): a change all the same.
        let successor = held_by("third", renewed);
        let later = start + Duration::from_secs(10);
        assert_eq!(observer.judge(&successor, ME, DURATION, later), Claim::Held);
        assert_eq!(
            observer.judge(&successor, ME, DURATION, later + Duration::from_secs(14)),
            Claim::Held
        );
        assert_eq!(
            observer.judge(&successor, ME, DURATION, later + DURATION),
            Claim::Expired
        );
    }

    #[test]
    fn the_decision_uses_only_the_local_observation_time() {
        let since = Instant::now();
        for renewed in skews() {
            let record = held_by("other", renewed);
            assert_eq!(judge(&record, since, since, ME, DURATION), Claim::Held);
            assert_eq!(
                judge(&record, since, since + DURATION, ME, DURATION),
                Claim::Expired
            );
        }
    }

    #[test]
    fn ours_and_free_records_need_no_waiting() {
        let now = Instant::now();
        for renewed in skews() {
            assert_eq!(
                judge(&held_by(ME, renewed), now, now, ME, DURATION),
                Claim::Ours
            );
            let mut released = held_by("", renewed);
            assert_eq!(judge(&released, now, now, ME, DURATION), Claim::Free);
            released.holder_identity = None;
            assert_eq!(judge(&released, now, now, ME, DURATION), Claim::Free);
        }
    }

    #[test]
    fn the_holders_announced_duration_counts_and_a_missing_one_is_ours() {
        let since = Instant::now();
        let mut record = held_by("other", jiff::Timestamp::now());
        record.lease_duration_seconds = Some(60);
        assert_eq!(
            judge(&record, since, since + DURATION, ME, DURATION),
            Claim::Held
        );
        assert_eq!(
            judge(
                &record,
                since,
                since + Duration::from_secs(60),
                ME,
                DURATION
            ),
            Claim::Expired
        );
        for unusable in [None, Some(0), Some(-5)] {
            record.lease_duration_seconds = unusable;
            assert_eq!(
                judge(
                    &record,
                    since,
                    since + Duration::from_secs(14),
                    ME,
                    DURATION
                ),
                Claim::Held
            );
            assert_eq!(
                judge(&record, since, since + DURATION, ME, DURATION),
                Claim::Expired
            );
        }
    }

    #[test]
    fn a_clock_reading_before_the_observation_does_not_panic() {
        let now = Instant::now();
        let record = held_by("other", jiff::Timestamp::now());
        assert_eq!(
            judge(&record, now + DURATION, now, ME, DURATION),
            Claim::Held
        );
    }
}
