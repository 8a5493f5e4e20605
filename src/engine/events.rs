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
    by_key: HashMap<Key, Series>,
    prune_at: usize,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    uid: String,
    warning: bool,
    reason: String,
    action: String,
}

struct Series {
    name: String,
    count: i32,
    last: Timestamp,
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

    /// Sends the event in the background; a failure is logged, never returned.
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
        let note: String = note.chars().take(NOTE_CHARS).collect();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = inner.send(regarding, key, note).await {
                tracing::warn!(%error, "cannot publish event");
            }
        });
    }
}

impl Inner {
    async fn send(
        &self,
        regarding: ObjectReference,
        key: Key,
        note: String,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Some((name, count)) = self.repeat_of(&key, now) {
            let series =
                json!({ "series": { "count": count, "lastObservedTime": MicroTime(now) } });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                .await
            {
                Ok(_) => {
                    self.remember(key, name, count, now);
                    return Ok(());
                }
                // The API server dropped the Event meanwhile (its TTL): start a new one.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            action: Some(key.action.clone()),
            reason: Some(key.reason.clone()),
            note: Some(note),
            type_: Some(if key.warning { "Warning" } else { "Normal" }.into()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let created = api.create(&PostParams::default(), &event).await?;
        let name = created.metadata.name.unwrap_or_default();
        self.remember(key, name, 1, now);
        Ok(())
    }

    /// The Event to extend and its next count, if `key` was sent within the series window.
    fn repeat_of(&self, key: &Key, now: Timestamp) -> Option<(String, i32)> {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.by_key
            .get(key)
            .filter(|s| s.last + SERIES_WINDOW > now)
            .map(|s| (s.name.clone(), s.count + 1))
    }

    fn remember(&self, key: Key, name: String, count: i32, now: Timestamp) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.by_key.len() >= sent.prune_at.max(PRUNE_FROM) {
            sent.by_key.retain(|_, s| s.last + SERIES_WINDOW > now);
            sent.prune_at = 2 * sent.by_key.len();
        }
        sent.by_key.insert(
            key,
            Series {
                name,
                count,
                last: now,
            },
        );
    }
}
