//! The credentials Secrets objects name, read once and kept until they change, instead of one GET
//! from the API server per reconcile.
//!
//! Only Secrets an object named are kept (not every Secret the watch sees), and each for at most
//! [`LONGEST_KEPT`]. The controllers' Secret watch calls [`SecretCache::forget`] on every change,
//! so a rotated or deleted Secret is read again at once; the time limit bounds how long a change
//! the watch missed (while it was reconnecting) can go unseen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};
use tokio::time::Instant;

const LONGEST_KEPT: Duration = Duration::from_secs(60);
/// Past this many Secrets, the cache starts again (a cluster's objects rarely name more).
const MAX_SECRETS: usize = 256;

type Key = (String, String);

enum Slot {
    /// A GET is under way; its answer is kept only if nothing changed the Secret meanwhile.
    Reading(u64),
    /// `None`: the Secret did not exist.
    Read(Option<Arc<Secret>>, Instant),
}

pub struct SecretCache {
    client: Client,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_name: HashMap<Key, Slot>,
    next_ticket: u64,
}

impl SecretCache {
    pub fn new(client: Client) -> Self {
        SecretCache {
            client,
            slots: Mutex::new(Slots::default()),
        }
    }

    /// Secret `name` in `namespace`, `None` if it does not exist.
    pub async fn get(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<Secret>>, kube::Error> {
        let key = (namespace.to_owned(), name.to_owned());
        let ticket = {
            let mut slots = self.lock();
            if let Some(Slot::Read(secret, at)) = slots.by_name.get(&key)
                && at.elapsed() < LONGEST_KEPT
            {
                return Ok(secret.clone());
            }
            if slots.by_name.len() >= MAX_SECRETS {
                slots.by_name.clear();
            }
            slots.next_ticket += 1;
            let ticket = slots.next_ticket;
            slots.by_name.insert(key.clone(), Slot::Reading(ticket));
            ticket
        };
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = api.get_opt(name).await?.map(|mut secret| {
            // Kept for up to a minute: without what the engine never reads (managedFields, and
            // kubectl's last-applied copy, which holds the Secret's data a second time).
            secret.managed_fields_mut().clear();
            secret
                .annotations_mut()
                .remove("kubectl.kubernetes.io/last-applied-configuration");
            Arc::new(secret)
        });
        let mut slots = self.lock();
        // A change reported during the GET removed (or replaced) this ticket: the answer may
        // predate the change, so it serves this caller only.
        if matches!(slots.by_name.get(&key), Some(Slot::Reading(t)) if *t == ticket) {
            slots
                .by_name
                .insert(key, Slot::Read(secret.clone(), Instant::now()));
        }
        Ok(secret)
    }

    /// The Secret changed (or may have): the next `get` reads it from the API server.
    pub fn forget(&self, namespace: &str, name: &str) {
        let mut slots = self.lock();
        if !slots.by_name.is_empty() {
            slots
                .by_name
                .remove(&(namespace.to_owned(), name.to_owned()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}
