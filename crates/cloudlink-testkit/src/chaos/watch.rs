//! A watch on a fleet's objects that remembers what they ever showed: error reasons, cloud ids,
//! Ready gained and lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

/// Condition reasons that must never be seen where the scenario promises transparency.
pub const ERROR_REASONS: [&str; 4] = [
    "TransientError",
    "InvalidConfiguration",
    "UnrecoverableError",
    "APIRemoved",
];

/// What a watch saw: every error reason any condition showed, every id each object had.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    /// `name: Type=Reason: message`, first occurrence of each.
    pub errors: BTreeSet<String>,
    /// status.id values by object UID.
    pub ids: BTreeMap<String, BTreeSet<String>>,
    /// Objects (UIDs) that were Ready=True at least once.
    pub ever_ready: BTreeSet<String>,
    /// Times an object went from Ready=True back to Ready=False.
    pub ready_lost: u64,
    ready_now: BTreeMap<String, bool>,
    pub updates: u64,
}

impl Watched {
    fn record(&mut self, object: &Value) {
        self.updates += 1;
        let name = object["metadata"]["name"].as_str().unwrap_or("?");
        for condition in object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reason = condition["reason"].as_str().unwrap_or("");
            if ERROR_REASONS.contains(&reason) {
                let message = condition["message"].as_str().unwrap_or("");
                self.errors.insert(format!(
                    "{name}: {}={reason}: {message}",
                    condition["type"].as_str().unwrap_or("?")
                ));
            }
        }
        let Some(uid) = object["metadata"]["uid"].as_str() else {
            return;
        };
        if let Some(id) = object["status"]["id"].as_str() {
            self.ids
                .entry(uid.to_owned())
                .or_default()
                .insert(id.to_owned());
        }
        let ready =
            crate::scenario::condition_of(object, "Ready").is_some_and(|c| c["status"] == "True");
        if ready {
            self.ever_ready.insert(uid.to_owned());
        }
        if self.ready_now.insert(uid.to_owned(), ready) == Some(true) && !ready {
            self.ready_lost += 1;
        }
    }

    /// Objects that pointed at more than one cloud resource over the run.
    pub fn id_changes(&self) -> usize {
        self.ids.values().filter(|ids| ids.len() > 1).count()
    }
}

pub struct Watch {
    seen: Arc<Mutex<Watched>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// Watches `api`'s objects from now on (aborted when dropped).
    pub(super) fn start(api: Api<DynamicObject>) -> Watch {
        let seen = Arc::new(Mutex::new(Watched::default()));
        let record = seen.clone();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            loop {
                match stream.try_next().await {
                    Ok(Some(object)) => record
                        .lock()
                        .unwrap()
                        .record(&serde_json::to_value(object).unwrap_or_default()),
                    Ok(None) => return,
                    Err(_) => {} // the backoff retries; the API server may be down on purpose
                }
            }
        });
        Watch { seen, task }
    }

    pub fn seen(&self) -> Watched {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
