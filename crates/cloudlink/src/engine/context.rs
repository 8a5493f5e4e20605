//! What every reconcile of a kind shares: the kind's adapter, the Kubernetes writes, credentials,
//! backoff and settings. Tests build one with their own adapter, writes or settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;

use super::adapter::Adapter;
use super::backoff::Backoff;
use super::credentials::{Credentials, Sessions};
use super::metrics::{NoMetrics, ReconcileMetrics};
use super::objects::Objects;
use super::ownership::Claims;
use super::readings::Readings;
use super::schedule::InFlight;
use super::writes::{KubeWrites, ObjectWrites};
use cloudlink_cloud::SessionKey;

/// Engine settings, from `cloudlink run`'s flags.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often a Ready object is re-read from the cloud, unless its spec says otherwise.
    pub resync: Duration,
    /// First retry delay after a transient error; doubles per failure up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// With shards: how long a create sent by another replica may still be on its way to the
    /// cloud (the cloud calls' deadline). An object that moved here from another shard while
    /// that shard was creating its resource waits this long before looking for the resource, so
    /// that it finds it instead of creating a second one.
    pub shard_takeover: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            resync: Duration::from_secs(600),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            shard_takeover: None,
        }
    }
}

pub struct Context<A: Adapter> {
    pub adapter: A,
    /// Everything the engine writes to Kubernetes about the kind's objects.
    pub writes: Arc<dyn ObjectWrites<A::Object>>,
    pub credentials: Arc<dyn Credentials>,
    pub backoff: Backoff,
    pub settings: Settings,
    pub metrics: Arc<dyn ReconcileMetrics>,
    /// Every running kind's objects, for references between objects.
    pub objects: Arc<Objects>,
    /// Cloud ids this process created, adopted or imported, by object UID; status gets them with
    /// the reconcile's status write. They win over the object's status: the controller's cache can
    /// lag behind our own writes, and a reconcile that read the stale copy would look for the
    /// resource again (or read a vanished one and create it again).
    known_ids: Mutex<HashMap<String, String>>,
    /// Objects (by UID) this process has sent a create for: as with `known_ids`, the cache may
    /// not show the finalizer (the create's mark) yet when the object is reconciled again.
    create_requests: Mutex<std::collections::HashSet<String>>,
    /// With shards: when this process first saw an object that another replica marked for a
    /// create (see `controller::create_on_its_way`).
    marked_elsewhere: Mutex<HashMap<String, tokio::time::Instant>>,
    /// The latest batched reading of each credential's resources (resyncs are served from it).
    pub(super) readings: Readings<SessionKey, A::Observed>,
    /// The same for deletions in progress, read with [`Adapter::probe_list`].
    pub(super) probes: Readings<SessionKey, A::Observed>,
    /// Which object claimed which cloud resource first, until the resource carries its mark.
    pub(super) claims: Claims,
    /// Since when each object has been waiting for the cloud (how often it polls).
    pub(super) in_flight: InFlight,
}

impl<A: Adapter> Context<A> {
    /// The context of the operator: writes go to the API server behind `client`.
    pub fn new(client: Client, adapter: A, sessions: Arc<Sessions>, settings: Settings) -> Self {
        Self::with_edges(
            adapter,
            Arc::new(KubeWrites::new(client)),
            sessions,
            settings,
        )
    }

    /// A context with the given Kubernetes writes and credentials.
    pub fn with_edges(
        adapter: A,
        writes: Arc<dyn ObjectWrites<A::Object>>,
        credentials: Arc<dyn Credentials>,
        settings: Settings,
    ) -> Self {
        Context {
            backoff: Backoff::new(settings.base_backoff, settings.max_backoff),
            adapter,
            writes,
            credentials,
            settings,
            metrics: Arc::new(NoMetrics),
            objects: Arc::new(Objects::default()),
            known_ids: Mutex::new(HashMap::new()),
            create_requests: Mutex::new(std::collections::HashSet::new()),
            marked_elsewhere: Mutex::new(HashMap::new()),
            readings: Readings::new(A::id),
            probes: Readings::new(A::id),
            claims: Claims::default(),
            in_flight: InFlight::default(),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn ReconcileMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The objects every kind's controllers share (see `objects.rs`).
    pub fn with_objects(mut self, objects: Arc<Objects>) -> Self {
        self.objects = objects;
        self
    }

    pub(super) fn known_id(&self, uid: &str) -> Option<String> {
        self.known_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(uid)
            .cloned()
    }

    pub(super) fn remember_id(&self, uid: &str, id: Option<&str>) {
        let mut ids = self.known_ids.lock().unwrap_or_else(|e| e.into_inner());
        match id {
            Some(id) => ids.insert(uid.to_owned(), id.to_owned()),
            None => ids.remove(uid),
        };
    }

    /// Drops everything this process keeps about the objects with these UIDs, once its watch no
    /// longer shows them: deleted, or moved to another shard by their labels. A moved object is
    /// another shard's now, which may recreate its resource under a new id; were it to come back,
    /// an id remembered here would win over its status and point at a resource that is gone.
    /// Its claims go too: the mark in the cloud names the object's UID, which the other shard
    /// shares, so nobody reports a `Conflict` for it.
    pub fn forget(&self, uids: &[&str]) {
        let kind = <A::Object as kube::Resource>::kind(&());
        for uid in uids {
            self.remember_id(uid, None);
            self.remember_create_request(uid, false);
            self.marked_elsewhere
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(*uid);
            self.claims.release_all(uid);
            self.backoff.forget(uid);
            self.in_flight.done(uid);
            self.metrics.ready(&kind, uid, None);
        }
    }

    /// The UIDs of the objects this process keeps something about.
    pub fn remembered(&self) -> Vec<String> {
        let mut uids: std::collections::BTreeSet<String> = self
            .known_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        uids.extend(
            self.create_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        uids.extend(self.claims.claimants());
        uids.extend(self.in_flight.uids());
        uids.into_iter().collect()
    }

    /// When this process first saw the object marked for a create by another replica.
    pub(super) fn first_seen_marked_elsewhere(&self, uid: &str) -> tokio::time::Instant {
        *self
            .marked_elsewhere
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(uid.to_owned())
            .or_insert_with(tokio::time::Instant::now)
    }

    /// This process just changed cloud resource `id`: no reading taken before tells its state.
    pub(super) fn changed(&self, id: &str) {
        self.readings.changed(id);
        self.probes.changed(id);
    }

    pub(super) fn create_requested(&self, uid: &str) -> bool {
        self.create_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(uid)
    }

    pub(super) fn remember_create_request(&self, uid: &str, requested: bool) {
        let mut requests = self
            .create_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if requested {
            requests.insert(uid.to_owned());
        } else {
            requests.remove(uid);
        }
    }
}
