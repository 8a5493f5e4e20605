//! Runs the engine for one kind: watches the kind (in one namespace or all, and only the objects
//! matching `--watch-label-selector`: see `operator::shard`) and the Secrets its objects name, so
//! that a created or changed Secret brings a stalled object back at once.
//!
//! The Secret watch asks for metadata only: a cluster's Secrets (Helm keeps every release in one,
//! often hundreds of KB) are none of cloudlink's business, and their contents would cost memory
//! in proportion to them. The one Secret an object names is read on its own (`secrets.rs`).
//! (A Secret written with client-side `kubectl apply` carries a copy of its content in an
//! annotation, which is metadata: it passes through the mapper and is dropped with the event.)
//!
//! With shards, a Secret carries no shard label, so every shard sees every Secret's name; but a
//! shard reads (GETs) and guards only the Secrets its own objects name: the mapper looks in this
//! shard's cache only, and reconciles read the Secret of the object at hand. Likewise the
//! ConfigMaps of `spec.export` are read and written for this shard's objects only, and never
//! watched. A Secret used by objects of two shards carries one `credentials-in-use` finalizer:
//! when one shard lifts it (its last user went), the other shard's Secret watch sees the change and
//! reconciles its users, whose reconciles put it back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};

use super::adapter::{Adapter, ManagedObject};
use super::context::Context;
use super::credentials::needs_secret;
use super::error::EngineError;
use super::finalizers::FINALIZER;
use super::pause;
use super::reconcile::{error_policy, reconcile};

/// Which objects a controller watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct Watch<'a> {
    /// One namespace, or every namespace (`None`).
    pub namespace: Option<&'a str>,
    /// A label selector (`--watch-label-selector`), or every object (`None`).
    pub selector: Option<&'a str>,
}

impl Watch<'_> {
    /// The watcher's configuration for cloudlink's own kinds.
    pub fn config(&self) -> watcher::Config {
        let config = watcher::Config::default().any_semantic();
        match self.selector {
            Some(selector) => config.labels(selector),
            None => config,
        }
    }
}

/// Reconciles objects of `A::Object` until the process is asked to stop (SIGTERM or SIGINT):
/// then no new reconcile starts, and running ones finish. `synced` is called once the objects
/// have been listed.
pub async fn run<A: Adapter>(
    client: Client,
    ctx: Arc<Context<A>>,
    watch: Watch<'_>,
    concurrency: u16,
    synced: Box<dyn FnOnce() + Send>,
) {
    let namespace = watch.namespace;
    // An Api of PartialObjectMeta asks for metadata only, for the LIST and the WATCH.
    let (objects, secrets): (Api<A::Object>, Api<PartialObjectMeta<Secret>>) = match namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    // What triggers a reconcile: `pause::trigger`. The cache still sees every update.
    let (store, writer) = reflector::store();
    let watched = watcher::watcher(objects, watch.config()).modify(slim);
    let changes = reflector(writer, watched)
        .inspect_ok(forget_what_left(ctx.clone()))
        .default_backoff()
        .touched_objects()
        .predicate_filter(pause::trigger, Default::default());
    let controller = Controller::for_stream(changes, store.clone());
    ctx.objects.register(store.clone());
    let listed = Arc::new(AtomicBool::new(false));
    count_secret_users(&ctx, store.clone(), listed.clone());
    // Names are all the mapper needs, and each event is dropped once mapped: nothing of the
    // Secrets is kept.
    let secret_changes = watcher::watcher(secrets, watcher::Config::default().any_semantic())
        .default_backoff()
        .touched_objects();
    report_when_listed(store.clone(), move || {
        listed.store(true, Ordering::SeqCst);
        synced();
    });
    let credentials = ctx.credentials.clone();
    controller
        .with_config(controller::Config::default().concurrency(concurrency))
        .watches_stream(secret_changes, move |secret: PartialObjectMeta<Secret>| {
            let (namespace, name) = (secret.namespace(), secret.name_any());
            // Before the objects are queued: their reconciles must read the new content.
            credentials.secret_changed(namespace.as_deref().unwrap_or_default(), &name);
            store
                .state()
                .into_iter()
                .filter(|o| {
                    o.namespace() == namespace
                        && o.management().cloud_credentials_ref.secret_name == name
                })
                .map(|o| ObjectRef::from(&*o))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(shutdown_signal())
        .run(reconcile_watched::<A>, error_policy::<A>, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile error");
            }
        })
        .await;
}

/// What the engine does when an object leaves the watch: nothing to the object (kube's controller
/// drops its queued reconciles, as the object is no longer in the cache), only forgetting what
/// this process kept about it (`Context::forget`). With a label selector, an object whose labels
/// stop matching is reported deleted although it lives on: it moved to another shard, which
/// reconciles it from then on, adopting its resource by `status.id`. A relist (after a watch
/// error) reports no deletion, only a fresh listing: then whatever no cache of the kind holds (the
/// context is shared by the kind's controllers of every watched namespace) is forgotten.
fn forget_what_left<A: Adapter>(ctx: Arc<Context<A>>) -> impl FnMut(&watcher::Event<A::Object>) {
    move |event| match event {
        watcher::Event::Delete(object) => {
            if let Some(uid) = object.uid() {
                ctx.forget(&[&uid]);
            }
        }
        watcher::Event::InitDone => {
            let live: std::collections::HashSet<String> = ctx
                .objects
                .all::<A::Object>()
                .iter()
                .filter_map(|o| o.uid())
                .collect();
            let left: Vec<String> = ctx
                .remembered()
                .into_iter()
                .filter(|uid| !live.contains(uid))
                .collect();
            ctx.forget(&left.iter().map(String::as_str).collect::<Vec<_>>());
        }
        _ => {}
    }
}

/// The engine's reconcile, and what shards need around it: the wait of [`create_on_its_way`]
/// before, and forgetting an object that left the watch while it was reconciled after.
async fn reconcile_watched<A: Adapter>(
    object: Arc<A::Object>,
    ctx: Arc<Context<A>>,
) -> Result<Action, EngineError> {
    if let Some(wait) = create_on_its_way(&*object, &ctx) {
        tracing::info!(
            object = %ObjectRef::from(&*object),
            "another replica may still be creating this object's resource: looking for it in {}s",
            wait.as_secs()
        );
        return Ok(Action::requeue(wait));
    }
    let result = reconcile(object.clone(), ctx.clone()).await;
    let uid = object.uid().unwrap_or_default();
    if !ctx.objects.holds::<A::Object>(
        &object.namespace().unwrap_or_default(),
        &object.name_any(),
        &uid,
    ) {
        // What the reconcile learnt about an object that is no longer ours must not outlive it.
        ctx.forget(&[&uid]);
    }
    result
}

/// With shards, how long to wait before reconciling an object that another replica marked for a
/// create (cloudlink's finalizer without `status.id`, or an earlier version's
/// `status.createRequested`) and that this process did not send a create for: it moved here while
/// the other shard's create was on its way, and a lookup now could miss the resource and create a
/// second one. The create has at most the cloud calls' deadline. The finalizer carries no time,
/// so the wait counts from when this process first saw the object so marked (which is after the
/// move, so after the other shard sent its create); an earlier version's mark counts from its
/// own time, and never beyond that deadline from now (the other replica's clock may be ahead).
fn create_on_its_way<A: Adapter>(object: &A::Object, ctx: &Context<A>) -> Option<Duration> {
    let deadline = ctx.settings.shard_takeover?;
    let uid = object.uid().unwrap_or_default();
    let status = object.status();
    if status.is_some_and(|s| s.id.is_some())
        || ctx.known_id(&uid).is_some()
        || ctx.create_requested(&uid)
        || object.management().import.is_some()
    {
        return None;
    }
    let elapsed = if let Some(marked) = status.and_then(|s| s.create_requested.as_ref()) {
        Duration::try_from(jiff::Timestamp::now().duration_since(marked.0)).unwrap_or_default()
    } else if object.finalizers().iter().any(|f| f == FINALIZER) {
        ctx.first_seen_marked_elsewhere(&uid).elapsed()
    } else {
        return None;
    };
    deadline
        .checked_sub(elapsed)
        .filter(|d| !d.is_zero())
        .map(|left| left.min(deadline))
}

/// Lets the credentials bookkeeping ask this kind's cache which Secrets its live objects use.
fn count_secret_users<A: Adapter>(
    ctx: &Context<A>,
    store: reflector::Store<A::Object>,
    listed: Arc<AtomicBool>,
) {
    ctx.credentials
        .count_users(Box::new(move |namespace, secret, except_uid| {
            !listed.load(Ordering::SeqCst)
                || store.state().iter().any(|o| {
                    o.namespace().as_deref() == Some(namespace)
                        && o.uid().as_deref() != Some(except_uid)
                        && needs_secret(o.meta(), &o.management().cloud_credentials_ref, secret)
                })
        }));
}

/// What a controller's cache keeps of an object: all but managedFields and kubectl's copy of the
/// last applied manifest, which are much of an object's size and which no controller reads.
pub fn slim<K: ResourceExt>(object: &mut K) {
    object.managed_fields_mut().clear();
    object
        .annotations_mut()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
}

/// Calls `listed` once `store` holds the first listing of its objects.
pub fn report_when_listed<K>(store: reflector::Store<K>, listed: impl FnOnce() + Send + 'static)
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    tokio::spawn(async move {
        // kube-runtime's readiness signal wakes only the last task that waited on it (a oneshot
        // receiver keeps one waker), and the controller waits on it too: ask again every 100 ms
        // instead of waiting once. Once the store is ready, every ask answers at once.
        loop {
            match tokio::time::timeout(
                std::time::Duration::from_millis(100),
                store.wait_until_ready(),
            )
            .await
            {
                Ok(Ok(())) => return listed(),
                Ok(Err(_)) => return,
                Err(_) => continue,
            }
        }
    });
}

/// Resolves when the process is asked to stop (SIGTERM or SIGINT).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
