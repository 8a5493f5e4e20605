//! Batched observation: a resync reads all of a credential's resources with one LIST per service
//! and serves every object from that reading, instead of one GET per object. Per-object GETs are
//! what exhaust cloud rate limits when thousands of objects resync; a reading costs the same for
//! one object or ten thousand.
//!
//! A reading is shared for `max_age` (each caller says how old a reading it accepts) and taken
//! by one caller while the others wait for it. An id this process changed in the cloud after a
//! reading began is not served from it: the reading may predate the change.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::adapter::AdapterError;

/// One credential's latest reading, locked while it is being taken.
type Slot<O> = Arc<tokio::sync::Mutex<Option<Reading<O>>>>;

/// The latest readings, per credential.
pub struct Readings<K, O> {
    id_of: fn(&O) -> String,
    slots: Mutex<HashMap<K, Slot<O>>>,
    /// When this process last changed each id in the cloud (create, update).
    changed: Mutex<HashMap<String, Instant>>,
}

struct Reading<O> {
    started: Instant,
    finished: Instant,
    outcome: Result<Arc<HashMap<String, O>>, AdapterError>,
}

/// The last reading's resources, handed to the lister of the next one for what they can teach
/// (see `Adapter::list`). Shared, not copied: a reading holds a whole listing.
pub struct Previous<O>(Option<Arc<HashMap<String, O>>>);

impl<O> Previous<O> {
    pub fn iter(&self) -> impl Iterator<Item = &O> {
        self.0.iter().flat_map(|resources| resources.values())
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |resources| resources.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<O> Default for Previous<O> {
    fn default() -> Self {
        Previous(None)
    }
}

/// What a reading says of one id.
#[derive(Debug)]
pub enum Seen<O> {
    /// The reading lists it.
    Listed(O),
    /// The reading cannot answer for it (not listed, or changed since): read it on its own.
    Unknown,
}

/// How long a change is remembered; no reading is used longer than this.
const LONGEST_AGE: Duration = Duration::from_secs(60);
/// Past this many credentials, stale readings are dropped (each holds a whole listing).
const MAX_CREDENTIALS: usize = 64;

impl<K: Clone + Eq + Hash, O: Clone + Send + Sync + 'static> Readings<K, O> {
    pub fn new(id_of: fn(&O) -> String) -> Self {
        Readings {
            id_of,
            slots: Mutex::new(HashMap::new()),
            changed: Mutex::new(HashMap::new()),
        }
    }

    /// `id` as a reading of `credential` no older than `max_age` shows it, taking a new reading
    /// with `list` (given the previous one's resources) when there is none. A failed reading is
    /// shared like a successful one by the callers that waited for it, so a cloud outage costs one
    /// failed LIST, not one per object.
    pub async fn find<F, Fut>(
        &self,
        credential: &K,
        id: &str,
        max_age: Duration,
        list: F,
    ) -> Result<Seen<O>, AdapterError>
    where
        F: FnOnce(Previous<O>) -> Fut,
        Fut: Future<Output = Result<Vec<O>, AdapterError>>,
    {
        let (resources, started) = self.reading(credential, max_age, list).await?;
        if self.changed_after(id, started) {
            return Ok(Seen::Unknown);
        }
        Ok(resources
            .get(id)
            .cloned()
            .map_or(Seen::Unknown, Seen::Listed))
    }

    /// Everything a reading of `credential` no older than `max_age` lists (taken as
    /// [`Readings::find`] takes it), but what this process changed since the reading began:
    /// the reading may predate the change.
    pub async fn all<F, Fut>(
        &self,
        credential: &K,
        max_age: Duration,
        list: F,
    ) -> Result<Vec<O>, AdapterError>
    where
        F: FnOnce(Previous<O>) -> Fut,
        Fut: Future<Output = Result<Vec<O>, AdapterError>>,
    {
        let (resources, started) = self.reading(credential, max_age, list).await?;
        Ok(resources
            .iter()
            .filter(|(id, _)| !self.changed_after(id, started))
            .map(|(_, o)| o.clone())
            .collect())
    }

    /// A reading no older than `max_age` (a new one when there is none), and when it began.
    async fn reading<F, Fut>(
        &self,
        credential: &K,
        max_age: Duration,
        list: F,
    ) -> Result<(Arc<HashMap<String, O>>, Instant), AdapterError>
    where
        F: FnOnce(Previous<O>) -> Fut,
        Fut: Future<Output = Result<Vec<O>, AdapterError>>,
    {
        let max_age = max_age.min(LONGEST_AGE);
        let asked = Instant::now();
        let shared = self.slot(credential);
        let mut slot = shared.lock().await;
        let usable = |reading: &Reading<O>| {
            reading.finished >= asked
                || (reading.started.elapsed() <= max_age && reading.outcome.is_ok())
        };
        if !slot.as_ref().is_some_and(usable) {
            let previous = match slot.take().map(|r| r.outcome) {
                Some(Ok(resources)) => Previous(Some(resources)),
                _ => Previous(None),
            };
            let started = Instant::now();
            let outcome = list(previous).await.map(|resources| {
                Arc::new(
                    resources
                        .into_iter()
                        .map(|o| ((self.id_of)(&o), o))
                        .collect(),
                )
            });
            *slot = Some(Reading {
                started,
                finished: Instant::now(),
                outcome,
            });
            forget_when_stale(&shared, started);
        }
        let reading = slot.as_ref().expect("a reading was just taken");
        Ok((reading.outcome.clone()?, reading.started))
    }

    /// Records that this process just changed `id` in the cloud.
    pub fn changed(&self, id: &str) {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        changed.retain(|_, at| at.elapsed() <= LONGEST_AGE);
        changed.insert(id.to_owned(), Instant::now());
    }

    fn changed_after(&self, id: &str, started: Instant) -> bool {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .is_some_and(|at| *at >= started)
    }

    fn slot(&self, credential: &K) -> Slot<O> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_CREDENTIALS && !slots.contains_key(credential) {
            // Rotated or abandoned credentials: drop the readings nobody could still use.
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |r| {
                    r.as_ref()
                        .is_some_and(|r| r.started.elapsed() <= LONGEST_AGE)
                })
            });
        }
        slots.entry(credential.clone()).or_default().clone()
    }
}

/// Empties the slot once the reading taken at `started` can no longer be served (no caller accepts
/// one older than [`LONGEST_AGE`]): between resyncs it would hold a whole listing for nothing (at
/// 10,000 requests, 19 MB of the operator's 81 MB heap, heaptrack). The next lister then has no
/// previous reading to learn from, which costs a Cloudpipe reading one server GET.
fn forget_when_stale<O: Send + Sync + 'static>(slot: &Slot<O>, started: Instant) {
    let slot = Arc::downgrade(slot);
    tokio::spawn(async move {
        tokio::time::sleep_until(started + LONGEST_AGE).await;
        if let Some(slot) = slot.upgrade() {
            let mut slot = slot.lock().await;
            if slot.as_ref().is_some_and(|r| r.started == started) {
                *slot = None;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudlink_cloud::CloudError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn readings() -> Readings<&'static str, (String, u32)> {
        Readings::new(|o: &(String, u32)| o.0.clone())
    }

    fn listing(
        calls: &AtomicUsize,
        value: u32,
    ) -> impl Future<Output = Result<Vec<(String, u32)>, AdapterError>> + '_ {
        calls.fetch_add(1, Ordering::SeqCst);
        async move { Ok(vec![("a".to_owned(), value), ("b".to_owned(), value)]) }
    }

    /// What a reading of `credential` no older than 10 s shows of `id`; a new reading lists `value`.
    async fn seen(
        r: &Readings<&'static str, (String, u32)>,
        credential: &'static str,
        id: &str,
        calls: &AtomicUsize,
        value: u32,
    ) -> Option<u32> {
        let age = Duration::from_secs(10);
        listed(
            r.find(&credential, id, age, |_| listing(calls, value))
                .await
                .unwrap(),
        )
    }

    fn listed(seen: Seen<(String, u32)>) -> Option<u32> {
        match seen {
            Seen::Listed((_, v)) => Some(v),
            Seen::Unknown => None,
        }
    }

    #[tokio::test]
    async fn one_reading_serves_every_id_while_fresh() {
        let (r, calls) = (readings(), AtomicUsize::new(0));
        assert_eq!(seen(&r, "cred", "a", &calls, 1).await, Some(1));
        assert_eq!(seen(&r, "cred", "b", &calls, 2).await, Some(1));
        assert_eq!(seen(&r, "cred", "missing", &calls, 3).await, None);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another credential has its own reading.
        assert_eq!(seen(&r, "other", "a", &calls, 4).await, Some(4));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_reading_is_taken_again_and_the_lister_sees_the_previous_one() {
        let (r, calls) = (readings(), AtomicUsize::new(0));
        let age = Duration::from_secs(10);
        r.find(&"cred", "a", age, |_| listing(&calls, 1))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(11)).await;
        let mut previous_len = 0;
        let seen = r
            .find(&"cred", "a", age, |previous| {
                previous_len = previous.len();
                listing(&calls, 2)
            })
            .await
            .unwrap();
        assert_eq!(
            (listed(seen), previous_len, calls.load(Ordering::SeqCst)),
            (Some(2), 2, 2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reading_no_caller_can_use_any_more_is_let_go() {
        let (r, calls) = (readings(), AtomicUsize::new(0));
        let age = Duration::from_secs(10);
        let previous_after = |wait: Duration| {
            let (r, calls) = (&r, &calls);
            async move {
                r.find(&"cred", "a", age, |_| listing(calls, 1))
                    .await
                    .unwrap();
                tokio::time::sleep(wait).await;
                let mut previous_len = None;
                r.find(&"cred", "a", age, |previous| {
                    previous_len = Some(previous.len());
                    listing(calls, 2)
                })
                .await
                .unwrap();
                previous_len.expect("a new reading was taken")
            }
        };
        // Kept while a caller may still accept it (none accepts one older than LONGEST_AGE)...
        assert_eq!(
            previous_after(LONGEST_AGE - Duration::from_secs(1)).await,
            2
        );
        // ...and gone after: a listing is not held between resyncs.
        assert_eq!(
            previous_after(LONGEST_AGE + Duration::from_secs(1)).await,
            0
        );
    }

    #[tokio::test]
    async fn an_id_changed_after_the_reading_began_is_not_served_from_it() {
        let (r, calls) = (readings(), AtomicUsize::new(0));
        let age = Duration::from_secs(10);
        r.find(&"cred", "a", age, |_| listing(&calls, 1))
            .await
            .unwrap();
        r.changed("a");
        assert_eq!(seen(&r, "cred", "a", &calls, 2).await, None);
        assert_eq!(seen(&r, "cred", "b", &calls, 2).await, Some(1));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_reading_and_one_failure() {
        let r = Arc::new(readings());
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut waiting = Vec::new();
        for _ in 0..8 {
            let (r, calls, gate) = (r.clone(), calls.clone(), gate.clone());
            waiting.push(tokio::spawn(async move {
                r.find(&"cred", "a", Duration::from_secs(10), |_| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    gate.notified().await;
                    Err::<Vec<(String, u32)>, _>(AdapterError::Cloud(CloudError::Config(
                        "cloud down".into(),
                    )))
                })
                .await
            }));
        }
        tokio::task::yield_now().await;
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for task in waiting {
            let answer = tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("a caller waited for a second reading");
            assert!(answer.unwrap().is_err());
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the callers queued behind a failed reading share its failure"
        );
        // A caller arriving afterwards tries again.
        let fresh = AtomicUsize::new(0);
        assert_eq!(seen(&r, "cred", "a", &fresh, 5).await, Some(5));
    }
}
