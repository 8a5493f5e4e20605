//! Per-object exponential backoff with jitter for transient failures. kube-runtime's error policy
//! returns a fixed delay, so the engine counts failures per object itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Delay before retry `failures` (1-based): base·2^(failures-1), capped, with ±20% jitter, and
/// never shorter than what the cloud asked for.
pub fn delay(
    failures: u32,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let capped = exp.min(cap);
    let jittered = capped.mul_f64((1.0 + jitter.clamp(-1.0, 1.0) * 0.2).max(0.0));
    match retry_after {
        Some(asked) if asked > jittered => asked,
        _ => jittered,
    }
}

/// Failure counts by object UID (a name can be reused by a new object, which must not inherit
/// the old one's count); reset when a reconcile of the object succeeds, dropped when it is gone.
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn failed(&self, uid: &str, retry_after: Option<Duration>) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(uid.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        delay(
            *count,
            self.base,
            self.cap,
            retry_after,
            rand::random::<f64>() * 2.0 - 1.0,
        )
    }

    /// The object's reconcile succeeded, or the object is gone: its count starts again.
    pub fn forget(&self, uid: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }

    /// How many objects have failures counted (for tests: nothing stays behind a deleted object).
    pub fn tracked(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_per_failure_up_to_the_cap() {
        let d: Vec<_> = (1..=8)
            .map(|n| delay(n, S, Duration::from_secs(60), None, 0.0).as_secs())
            .collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(
            delay(3, S, Duration::from_secs(60), None, 1.0),
            Duration::from_millis(4800)
        );
        assert_eq!(
            delay(3, S, Duration::from_secs(60), None, -1.0),
            Duration::from_millis(3200)
        );
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(
            delay(
                1,
                S,
                Duration::from_secs(60),
                Some(Duration::from_secs(30)),
                0.0
            ),
            Duration::from_secs(30)
        );
        assert_eq!(
            delay(
                7,
                S,
                Duration::from_secs(60),
                Some(Duration::from_secs(5)),
                0.0
            ),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn counts_are_per_uid_and_forgotten() {
        let backoff = Backoff::new(S, Duration::from_secs(60));
        let first = backoff.failed("uid-1", None);
        let second = backoff.failed("uid-1", None);
        assert!(second > first, "{first:?} then {second:?}");
        assert!(backoff.failed("uid-2", None) <= Duration::from_millis(1200));
        assert_eq!(backoff.tracked(), 2);
        backoff.forget("uid-1");
        backoff.forget("uid-2");
        assert_eq!(backoff.tracked(), 0);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        assert_eq!(
            delay(u32::MAX, S, Duration::from_secs(300), None, 0.0),
            Duration::from_secs(300)
        );
    }
}
