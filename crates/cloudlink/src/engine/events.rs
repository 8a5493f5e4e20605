//! Kubernetes Events about objects (events.k8s.io/v1), sent without holding up the reconcile.
//!
//! A repeat of an event (same object, type, reason and action) within [`SERIES_WINDOW`] updates the
//! first Event's series instead of creating another, as kube's `Recorder` does. Unlike the
//! `Recorder`, which keeps a copy of every Event it sent and scans all of them on each publish,
//! this remembers only what a series update needs (the Event's name, count and time) and drops
//! expired entries in batches: thousands of objects each get an event when they are created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
pub use kube::runtime::events::EventType;
use serde_json::json;

/// How long a repeat joins the first Event's series (kube's `Recorder` uses the same).
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);
/// The fewest remembered events before expired ones are dropped.
const PRUNE_FROM: usize = 1024;
/// Event notes are cut to this many characters (the API server allows 1 kB).
const NOTE_CHARS: usize = 1000;

#[derive(Clone)]
pub struct EventSink {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    controller: String,
    instance: String,
    sent: Mutex<Sent>,
}

#[derive(Default)]
struct Sent {
    by_key: HashMap<Key, Arc<tokio::sync::Mutex<Series>>>,
    prune_at: usize,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    uid: String,
    warning: bool,
    reason: String,
    action: String,
}

/// The Event a key's repeats extend. Sends of one key take turns (its lock), so that two
/// reconciles in a row cannot both create an Event.
#[derive(Default)]
struct Series {
    /// `None` until the first Event is created.
    name: Option<String>,
    count: i32,
    last: Option<Timestamp>,
}

impl EventSink {
    /// `instance` names this replica in `reportingInstance` (the pod's name); the controller's
    /// name when absent.
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Self {
        EventSink {
            inner: Arc::new(Inner {
                client,
                controller: controller.to_owned(),
                instance: instance.unwrap_or_else(|| controller.to_owned()),
                sent: Mutex::new(Sent::default()),
            }),
        }
    }

    /// Sends the event in the background; a failure is logged, never returned. A repeat joins
    /// the first Event's series.
    pub fn publish(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) {
        let key = Key {
            uid: regarding.uid.clone().unwrap_or_default(),
            warning: type_ == EventType::Warning,
            reason: reason.to_owned(),
            action: action.to_owned(),
        };
        let series = self.inner.series(key);
        let event = self.inner.event(regarding, type_, reason, action, note);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut series = series.lock().await;
            if let Err(error) = inner.send(&mut series, event).await {
                tracing::warn!(%error, "cannot publish event");
            }
        });
    }

    /// Like [`EventSink::publish`], but always an Event of its own: a record of one thing done
    /// (a policy's decision on one request), which a series would fold into a count.
    pub fn record(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) {
        let event = self.inner.event(regarding, type_, reason, action, note);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = inner.send(&mut Series::default(), event).await {
                tracing::warn!(%error, "cannot publish event");
            }
        });
    }
}

impl Inner {
    fn event(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) -> Event {
        let now = Timestamp::now();
        Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                namespace: Some(
                    regarding
                        .namespace
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                ),
                ..ObjectMeta::default()
            },
            action: Some(action.to_owned()),
            reason: Some(reason.to_owned()),
            note: Some(note.chars().take(NOTE_CHARS).collect()),
            type_: Some(
                match type_ {
                    EventType::Warning => "Warning",
                    EventType::Normal => "Normal",
                }
                .into(),
            ),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }

    /// The key's series, new when there is none; drops expired ones in batches.
    fn series(&self, key: Key) -> Arc<tokio::sync::Mutex<Series>> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.by_key.len() >= sent.prune_at.max(PRUNE_FROM) {
            let now = Timestamp::now();
            // An entry in use stays; an idle one stays only while its Event can still be extended.
            sent.by_key.retain(|_, series| {
                series.try_lock().map_or(true, |s| {
                    s.last.is_some_and(|last| last + SERIES_WINDOW > now)
                })
            });
            sent.prune_at = 2 * sent.by_key.len();
        }
        sent.by_key.entry(key).or_default().clone()
    }

    /// Extends the series' Event if it is recent, else creates `event`.
    async fn send(&self, series: &mut Series, event: Event) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let recent = series.last.is_some_and(|last| last + SERIES_WINDOW > now);
        if let Some(name) = series.name.as_deref().filter(|_| recent) {
            let count = series.count + 1;
            let patch = json!({ "series": { "count": count, "lastObservedTime": MicroTime(now) } });
            match api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    (series.count, series.last) = (count, Some(now));
                    return Ok(());
                }
                // The API server dropped the Event meanwhile (its TTL): start a new one.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let created = api.create(&PostParams::default(), &event).await?;
        *series = Series {
            name: created.metadata.name,
            count: 1,
            last: Some(now),
        };
        Ok(())
    }
}
