//! One engine over the fakes, driven as the controller drives it: reconcile the stored object,
//! let the writes land in the store, reconcile the updated copy again.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;

use super::cloud::{FakeAdapter, POLL};
use super::cluster::{FakeApiServer, FakeCredentials, Recorded};
use super::journal::Journal;
use super::widget::{SECRET, Widget};
use crate::engine::context::{Context, Settings};
use crate::engine::error::EngineError;
use crate::engine::reconcile::{error_policy, reconcile};

const NAMESPACE: &str = "default";

pub struct Harness {
    pub cloud: FakeAdapter,
    pub api: Arc<FakeApiServer>,
    pub credentials: Arc<FakeCredentials>,
    pub journal: Journal,
    pub ctx: Arc<Context<FakeAdapter>>,
    /// When each object's last reconcile asked to be reconciled again, on the (paused) clock.
    due: std::sync::Mutex<std::collections::HashMap<String, tokio::time::Instant>>,
}

impl Harness {
    /// An empty cloud and cluster, with the Secret [`SECRET`] in place.
    pub fn start() -> Self {
        let journal = Journal::default();
        let cloud = FakeAdapter::new(journal.clone());
        let api = Arc::new(FakeApiServer::new(journal.clone()));
        let credentials = Arc::new(FakeCredentials::new(api.clone(), journal.clone()));
        credentials.add_secret(SECRET);
        let ctx = context(&cloud, &api, &credentials);
        Harness {
            cloud,
            api,
            credentials,
            journal,
            ctx,
            due: Default::default(),
        }
    }

    /// The operator restarts: the same cluster and cloud, nothing in memory.
    pub fn restart(&mut self) {
        self.ctx = context(&self.cloud, &self.api, &self.credentials);
    }

    pub fn apply(&self, widget: Widget) {
        self.api.create(widget);
    }

    /// The object as the API server has it now.
    pub fn object(&self, name: &str) -> Widget {
        self.api
            .get(NAMESPACE, name)
            .unwrap_or_else(|| panic!("{name} is gone"))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.api.get::<Widget>(NAMESPACE, name).is_some()
    }

    pub fn edit(&self, name: &str, change: impl FnOnce(&mut Widget)) {
        self.api.edit(NAMESPACE, name, change);
    }

    pub fn delete(&self, name: &str) {
        self.api.delete(NAMESPACE, name);
    }

    /// One reconcile of the object as stored; a failure goes through the error policy, as the
    /// controller's does.
    pub async fn reconcile(&self, name: &str) -> Action {
        self.reconcile_copy(self.object(name)).await
    }

    /// One reconcile of `copy`, which may be older than what is stored (a lagging cache). The
    /// (paused) clock first moves on to when the object's last reconcile asked to be looked at
    /// again, as the controller's queue would: a batched reading serves the reconciles of one
    /// tick, not those of the next.
    pub async fn reconcile_copy(&self, copy: Widget) -> Action {
        let name = copy.metadata.name.clone().unwrap_or_default();
        let due = self.due.lock().unwrap().get(&name).copied();
        if let Some(wait) =
            due.and_then(|due| due.checked_duration_since(tokio::time::Instant::now()))
        {
            tokio::time::advance(wait).await;
        }
        let copy = Arc::new(copy);
        let action = match reconcile(copy.clone(), self.ctx.clone()).await {
            Ok(action) => action,
            Err(error) => error_policy(copy, &error, self.ctx.clone()),
        };
        let mut due = self.due.lock().unwrap();
        match requeue_after(&action) {
            Some(after) => due.insert(name, tokio::time::Instant::now() + after),
            None => due.remove(&name),
        };
        action
    }

    pub async fn try_reconcile(&self, name: &str) -> Result<Action, EngineError> {
        reconcile(Arc::new(self.object(name)), self.ctx.clone()).await
    }

    /// Whether `action` is a poll: the next in-flight tick of `poll` (aligned, so that the polls
    /// of one tick share a reading), no later than `poll` and its spread.
    pub fn polls_within(action: &Action, poll: Duration) -> bool {
        requeue_after(action).is_some_and(|after| after <= poll + poll / 10)
    }

    /// Reconciles until the engine no longer polls: the object is settled one way or another
    /// (or gone). Returns the last action.
    pub async fn settle(&self, name: &str) -> Action {
        for _ in 0..10 {
            let action = self.reconcile(name).await;
            // However long it has waited: the longest in-flight period.
            let longest = crate::engine::schedule::in_flight_period(POLL, Duration::MAX);
            let polling = Self::polls_within(&action, longest);
            if !polling || !self.exists(name) {
                return action;
            }
        }
        panic!("{name} did not settle in 10 reconciles");
    }

    /// The Ready condition's status, reason and message.
    pub fn ready(&self, name: &str) -> (String, String, String) {
        let c = self.condition(name, "Ready");
        (c.status, c.reason, c.message)
    }

    /// Asserts that `name` is Stalled for `reason` (not Ready, not Reconciling) and returns the
    /// message it shows.
    pub fn stalled(&self, name: &str, reason: &str) -> String {
        let (ready, shown, message) = self.ready(name);
        assert_eq!(
            (ready.as_str(), shown.as_str()),
            ("False", reason),
            "{message}"
        );
        assert_eq!(self.condition(name, "Stalled").status, "True");
        assert_eq!(self.condition(name, "Reconciling").status, "False");
        message
    }

    /// The object's condition `type_`.
    pub fn condition(&self, name: &str, type_: &str) -> Condition {
        let object = self.object(name);
        let conditions = object.status.map(|s| s.conditions).unwrap_or_default();
        conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("{name} has no condition {type_}"))
    }

    /// `status.id` of the object.
    pub fn id(&self, name: &str) -> Option<String> {
        self.object(name).status.and_then(|s| s.id)
    }

    /// The reasons of the Events about `name`, in order.
    pub fn event_reasons(&self, name: &str) -> Vec<String> {
        self.events(name).into_iter().map(|e| e.reason).collect()
    }

    pub fn events(&self, name: &str) -> Vec<Recorded> {
        let events = self.api.events();
        events.into_iter().filter(|e| e.object == name).collect()
    }

    /// The journal since the last look, without the cloud's reads (for tests about writes).
    pub fn writes(&self) -> Vec<String> {
        let reads = ["cloud get", "cloud list", "cloud find_own"];
        let entries = self.journal.take().into_iter();
        entries
            .filter(|e| !reads.iter().any(|r| e.starts_with(r)))
            .collect()
    }
}

fn context(
    cloud: &FakeAdapter,
    api: &Arc<FakeApiServer>,
    credentials: &Arc<FakeCredentials>,
) -> Arc<Context<FakeAdapter>> {
    Arc::new(Context::with_edges(
        cloud.clone(),
        api.clone(),
        credentials.clone(),
        Settings::default(),
    ))
}

/// When the controller runs the object's reconcile again (`None`: only on a change). kube's
/// `Action` keeps the delay private and shows it only through `Debug`.
pub fn requeue_after(action: &Action) -> Option<Duration> {
    let shown = format!("{action:?}");
    let inner = shown.split("Some(").nth(1)?.split(')').next()?;
    let units = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)];
    let (number, scale) = units
        .iter()
        .find_map(|(unit, scale)| Some((inner.strip_suffix(unit)?, scale)))?;
    Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
}

/// Whether `action` requeues within the backoff's ±20% jitter of `expected`.
pub fn about(action: &Action, expected: Duration) -> bool {
    requeue_after(action)
        .is_some_and(|after| after >= expected.mul_f64(0.8) && after <= expected.mul_f64(1.2))
}

#[test]
fn requeue_after_reads_what_the_action_holds() {
    assert_eq!(requeue_after(&Action::await_change()), None);
    for delay in [
        Duration::from_millis(1500),
        Duration::from_micros(250),
        Duration::from_secs(600),
    ] {
        let read = requeue_after(&Action::requeue(delay)).unwrap();
        assert!(read.abs_diff(delay) < Duration::from_micros(1), "{read:?}");
    }
}
