//! The lifecycle every kind shares (k-orc's order): finalizer → credentials → get by id → import →
//! adoption lookup (if a create may have happened) → create (marked before it is sent) →
//! update → assess → status; and on deletion:
//! delete in the cloud, wait until gone, release the Secret, drop the finalizer.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::adapter::{Adapter, Assessment, ManagedObject};
use super::claim::ensure_owned;
use super::conditions;
use super::context::Context;
use super::deletion;
use super::error::EngineError;
use super::events::EventType;
use super::export;
use super::failure::Failure;
use super::finalizers::FINALIZER;
use super::outcome::{Phase, Reason};
use super::pause;
use super::readings::Seen;
use super::schedule::{in_flight_reading_age, next_action, resync_period};
use super::status;
use crate::api::common::condition::EXPORTED;
use crate::api::common::condition::READY;
use crate::api::common::{ManagementPolicy, ResourceStatus};
use cloudlink_cloud::{CloudSession, SessionKey};

/// The oldest batched reading a resync accepts (less for objects that resync more often): it
/// covers one tick's spread of resyncs and their processing.
const READING_AGE: Duration = Duration::from_secs(15);

pub async fn reconcile<A: Adapter>(
    object: Arc<A::Object>,
    ctx: Arc<Context<A>>,
) -> Result<Action, EngineError> {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "reconcile",
        kind = %A::Object::kind(&()),
        namespace = %object.namespace().unwrap_or_default(),
        name = %object.name_any(),
        uid = %object.uid().unwrap_or_default(),
    );
    let result = reconcile_once(&object, &ctx).instrument(span).await;
    let kind = A::Object::kind(&());
    // Each outcome and when the object comes back: a quiet log then says which object waits for
    // what, instead of only that nothing happens.
    match &result {
        Ok((action, label)) => {
            tracing::debug!(outcome = label, ?action, "reconciled");
            ctx.metrics.reconciled(&kind, label, started.elapsed())
        }
        Err(error) => {
            tracing::debug!(outcome = "error", %error, "reconciled");
            ctx.metrics.reconciled(&kind, "error", started.elapsed())
        }
    }
    result.map(|(action, _)| action)
}

/// One reconcile, and a word for how it ended (for metrics).
async fn reconcile_once<A: Adapter>(
    object: &Arc<A::Object>,
    ctx: &Arc<Context<A>>,
) -> Result<(Action, &'static str), EngineError> {
    let deleting = object.meta().deletion_timestamp.is_some();
    let ours = object.finalizers().iter().any(|f| f == FINALIZER);
    if deleting && !ours {
        return Ok((Action::await_change(), "deleted"));
    }
    if pause::paused(&**object) {
        // Removing the annotation triggers the next reconcile (`pause::trigger`).
        if pause::show_paused(&*ctx.writes, &**object, deleting).await? {
            let note = "paused: no cloud call and no change until the annotation cloudlink.dev/paused is removed";
            ctx.writes
                .publish(object, EventType::Normal, "Paused", "Reconcile", note);
        }
        return Ok((Action::await_change(), "paused"));
    }
    if deleting {
        return deletion::cleanup(&**object, ctx).await;
    }
    ctx.writes.may_act(object).await?;
    if !ours && !finalizer_waits_for_create(&**object, ctx) {
        ctx.writes.add_finalizer(object).await?;
    }
    apply(&**object, ctx).await
}

/// Whether the object's finalizer waits for its first create: a managed object with nothing in
/// the cloud gets it just before the create is sent, as the create's mark (see
/// [`create_or_adopt`]), so that an object that never asks (it waits for an approval, its
/// credentials never worked) costs no write and is deleted at once. Every other object gets it
/// first.
fn finalizer_waits_for_create<A: Adapter>(object: &A::Object, ctx: &Context<A>) -> bool {
    let management = object.management();
    let uid = object.uid().unwrap_or_default();
    management.management_policy == ManagementPolicy::Managed
        && management.import.is_none()
        && object.status().is_none_or(|s| s.id.is_none())
        && ctx.known_id(&uid).is_none()
        && !ctx.create_requested(&uid)
}

/// Whether the object carries cloudlink's finalizer.
fn has_finalizer(object: &impl ResourceExt) -> bool {
    object.finalizers().iter().any(|f| f == FINALIZER)
}

pub fn error_policy<A: Adapter>(
    object: Arc<A::Object>,
    error: &EngineError,
    ctx: Arc<Context<A>>,
) -> Action {
    tracing::warn!(object = %ObjectRef::from(&*object), %error, "reconcile failed");
    Action::requeue(ctx.backoff.failed(&object.uid().unwrap_or_default(), None))
}

/// One pass over a live object.
async fn apply<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
) -> Result<(Action, &'static str), EngineError> {
    let current = object.status().cloned().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    // The user asked for a reconcile now: its read goes to the cloud, not to a batched reading.
    let requested = pause::unhandled_request(object).map(str::to_owned);
    // This process's memory first: the cache may not show its latest status write yet.
    let mut id = ctx.known_id(&uid).or_else(|| current.id.clone());
    let (phase, view, extra) = match converge(object, ctx, &mut id, requested.is_some()).await {
        Ok(Assessment {
            phase,
            view,
            conditions,
        }) => (phase, Some(view), conditions),
        Err(failure) => {
            if failure.is_warning() {
                ctx.writes.publish(
                    object,
                    EventType::Warning,
                    failure.reason().as_str(),
                    "Reconcile",
                    failure.message(),
                );
            }
            (failure.phase(), None, Vec::new())
        }
    };
    let now = Time(jiff::Timestamp::now());
    let generation = object.meta().generation.unwrap_or_default();
    let mut next = status::next(&current, generation, id, view, &phase, &extra, &now);
    if requested.is_some() {
        next.last_handled_reconcile_at = requested;
    }
    publish_export(object, ctx, &mut next, &now).await?;
    status::write(&*ctx.writes, object, &next).await?;
    ctx.metrics.ready(
        &A::Object::kind(&()),
        &uid,
        Some(matches!(phase, Phase::Ready { .. })),
    );
    Ok((next_action(ctx, object, &phase), phase.label()))
}

/// `spec.export`: publishes what `next` shows and records the outcome in the `Exported` condition
/// (absent without `spec.export`).
async fn publish_export<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    next: &mut ResourceStatus<<A::Object as ManagedObject>::CloudView>,
    now: &Time,
) -> Result<(), EngineError> {
    let Some(spec) = &object.management().export else {
        next.conditions.retain(|c| c.type_ != EXPORTED);
        return Ok(());
    };
    let name = &spec.config_map_name;
    let data = A::Object::exported(next);
    let outcome = ctx.writes.export(object, name, &data).await?;
    if outcome == export::Outcome::Foreign && !status::shows(next, EXPORTED, false) {
        let note = export::condition(name, &outcome).message;
        ctx.writes
            .publish(object, EventType::Warning, "ExportRefused", "Export", &note);
    }
    let desired = [export::condition(name, &outcome)];
    next.conditions = conditions::merge(&next.conditions, &desired, next.observed_generation, now);
    Ok(())
}

/// Reads, adopts or creates the cloud resource and brings it in line with the spec.
async fn converge<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    id: &mut Option<String>,
    fresh: bool,
) -> Result<Assessment<<A::Object as ManagedObject>::CloudView>, Failure> {
    let management = object.management();
    let managed = management.management_policy == ManagementPolicy::Managed;
    let resolved = ctx.adapter.resolve(&ctx.objects, object)?;
    let object = resolved.as_ref().unwrap_or(object);
    let (cloud, session) = connect(object, ctx).await?;
    let credential = session.key();

    let observed = match id.clone() {
        Some(known) => match read(object, ctx, &cloud, credential, &known, fresh).await? {
            Some(observed) if managed => owned(object, ctx, &cloud, id, observed).await?,
            Some(observed) => observed,
            None if managed && management.import.is_none() => {
                let note = format!("cloud resource {known} no longer exists; creating it again");
                ctx.writes
                    .publish(object, EventType::Warning, "Recreating", "Create", &note);
                set_id(object, ctx, id, None).await?;
                create_or_adopt(object, ctx, (&cloud, &session), id).await?
            }
            None => {
                return Err(Failure::terminal(
                    Reason::UnrecoverableError,
                    format!(
                        "cloud resource {known} no longer exists; cloudlink does not recreate imported resources: delete this object, or import another id"
                    ),
                ));
            }
        },
        None => match &management.import {
            Some(import) => {
                let observed = ctx.adapter.get(&cloud, object, &import.id).await?.ok_or_else(|| {
                    Failure::terminal(
                        Reason::InvalidConfiguration,
                        format!("spec.import.id {} does not exist in the cloud: correct it or remove spec.import", import.id),
                    )
                })?;
                let observed = if managed {
                    owned(object, ctx, &cloud, id, observed).await?
                } else {
                    observed
                };
                set_id(object, ctx, id, Some(A::id(&observed))).await?;
                let (reason, note) = if managed {
                    (
                        "Adopted",
                        format!(
                            "adopted cloud resource {}; cloudlink manages it from now on",
                            import.id
                        ),
                    )
                } else {
                    (
                        "Observing",
                        format!(
                            "observing cloud resource {}; cloudlink will never change or delete it",
                            import.id
                        ),
                    )
                };
                ctx.writes
                    .publish(object, EventType::Normal, reason, "Import", &note);
                observed
            }
            None if managed => create_or_adopt(object, ctx, (&cloud, &session), id).await?,
            None => {
                return Err(Failure::terminal(
                    Reason::InvalidConfiguration,
                    "spec.import is required when spec.managementPolicy is unmanaged",
                ));
            }
        },
    };

    let observed = if managed {
        match ctx.adapter.update(&cloud, object, &observed).await? {
            Some(updated) => {
                ctx.changed(&A::id(&updated));
                ctx.writes.publish(
                    object,
                    EventType::Normal,
                    "Updated",
                    "Update",
                    &format!("updated cloud resource {}", A::id(&updated)),
                );
                updated
            }
            None => observed,
        }
    } else {
        observed
    };
    Ok(ctx.adapter.assess(object, &observed))
}

/// The create, preceded by the adoption lookup whenever an earlier create may have reached the
/// cloud. The mark is written before the request (Stackable's rule), and is cloudlink's
/// finalizer itself: an object without an id that carries it (or whose create this process
/// sent, or that an earlier version marked in `status.createRequested`) may have a resource in
/// the cloud, and looks for it first. A crash after the cloud created the resource therefore
/// always leaves a trace, a deletion always finds the resource, and an object that never asked
/// costs no lookup and one write fewer than a separate mark.
async fn create_or_adopt<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    (cloud, session): (&A::Cloud, &CloudSession),
    id: &mut Option<String>,
) -> Result<A::Observed, Failure> {
    let uid = object.uid().unwrap_or_default();
    let marked = has_finalizer(object) || ctx.create_requested(&uid);
    let asked_before = marked
        || object
            .status()
            .is_some_and(|s| s.create_requested.is_some());
    if asked_before && let Some(found) = ctx.adapter.find_own(cloud, object).await? {
        let found = owned(object, ctx, cloud, id, found).await?;
        let found_id = A::id(&found);
        set_id(object, ctx, id, Some(found_id.clone())).await?;
        let note = format!(
            "found cloud resource {found_id}, created by an earlier attempt for this object; adopted it instead of creating another"
        );
        ctx.writes
            .publish(object, EventType::Normal, "Adopted", "Create", &note);
        return Ok(found);
    }
    ctx.adapter.ready_to_create(cloud, object).await?;
    // The credentials must work before a create is marked: a mark whose request never left
    // (Keystone unreachable, a wrong password) would make the object look as if it had reached
    // the cloud, and hold its deletion.
    ctx.credentials.verify(session).await?;
    if !marked {
        ctx.writes.add_finalizer(object).await?;
        // From now on the Secret must outlive the object's resource.
        let namespace = object.namespace().unwrap_or_default();
        ctx.credentials
            .session_in_use(&namespace, &object.management().cloud_credentials_ref)
            .await?;
    }
    ctx.remember_create_request(&uid, true);
    let created = ctx.adapter.create(cloud, object).await?;
    let new_id = created.id;
    ctx.changed(&new_id);
    set_id(object, ctx, id, Some(new_id.clone())).await?;
    let resource = match created.resource {
        Some(resource) => resource,
        None => ctx
            .adapter
            .get(cloud, object, &new_id)
            .await?
            .ok_or_else(|| {
                Failure::transient(format!(
                    "created cloud resource {new_id}, but the cloud does not show it yet"
                ))
            })?,
    };
    // A create can answer with a resource that already existed (Nova's cloudpipe create is
    // idempotent per project): it is only this object's if nobody owns it.
    let resource = owned(object, ctx, cloud, id, resource).await?;
    ctx.writes.publish(
        object,
        EventType::Normal,
        "Created",
        "Create",
        &format!("created cloud resource {new_id}"),
    );
    Ok(resource)
}

/// [`ensure_owned`], and a resource that belongs to another object is not this object's id.
async fn owned<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    cloud: &A::Cloud,
    id: &mut Option<String>,
    observed: A::Observed,
) -> Result<A::Observed, Failure> {
    match ensure_owned(ctx, cloud, object, observed).await {
        Ok(observed) => Ok(observed),
        Err(conflict) => {
            if id.is_some() {
                set_id(object, ctx, id, None).await?;
            }
            Err(conflict)
        }
    }
}

/// Records a cloud id in memory; the reconcile's status write persists it with everything else.
/// A crash before that write loses nothing: a create was marked before it was sent, and the
/// adoption lookup finds its resource again. Forgetting an id is written at once, so that a
/// failed status write cannot bring back the id of a resource that is gone.
async fn set_id<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    id: &mut Option<String>,
    new: Option<String>,
) -> Result<(), Failure> {
    let uid = object.uid().unwrap_or_default();
    ctx.remember_id(&uid, new.as_deref());
    if new.is_none() {
        status::clear_id(&*ctx.writes, object).await?;
        if let Some(old) = id.as_deref() {
            ctx.claims.release(old, &uid);
        }
    }
    *id = new;
    Ok(())
}

/// The object's resource, by id: from the credential's batched reading on a resync, and while
/// the resource is on its way (polling at the in-flight ticks); with its own GET for a new spec,
/// an id the reading does not list, or a `fresh` read the user asked for.
async fn read<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    cloud: &A::Cloud,
    credential: &SessionKey,
    id: &str,
    fresh: bool,
) -> Result<Option<A::Observed>, Failure> {
    let max_age = if fresh || !observed_spec(object) {
        None
    } else if settled(object) {
        Some(READING_AGE.min(resync_period(ctx, object) / 2))
    } else {
        // Polls come at the in-flight ticks: the first poll of a tick takes the reading, the
        // others of the same tick share it.
        Some(in_flight_reading_age())
    };
    let Some(max_age) = max_age else {
        tracing::debug!(%id, "new spec or asked for; reading it on its own");
        return Ok(ctx.adapter.get(cloud, object, id).await?);
    };
    Ok(
        match reading(ctx, Listing::Full, cloud, credential, id, max_age).await? {
            Some(observed) => Some(observed),
            None => ctx.adapter.get(cloud, object, id).await?,
        },
    )
}

/// Which batched reading: the full one ([`Adapter::list`]), or a deletion's
/// ([`Adapter::probe_list`]).
#[derive(Clone, Copy)]
pub(super) enum Listing {
    Full,
    Probe,
}

/// `id` as a batched reading of the credential's resources no older than `max_age` shows it;
/// `None` when the reading cannot answer for it (its own read must).
pub(super) async fn reading<A: Adapter>(
    ctx: &Context<A>,
    listing: Listing,
    cloud: &A::Cloud,
    credential: &SessionKey,
    id: &str,
    max_age: Duration,
) -> Result<Option<A::Observed>, Failure> {
    let reading = match listing {
        Listing::Full => {
            ctx.readings
                .find(credential, id, max_age, |previous| async move {
                    ctx.adapter.list(cloud, &previous).await
                })
                .await
        }
        Listing::Probe => {
            ctx.probes
                .find(credential, id, max_age, |previous| async move {
                    ctx.adapter.probe_list(cloud, &previous).await
                })
                .await
        }
    };
    match reading {
        Ok(Seen::Listed(observed)) => Ok(Some(observed)),
        Ok(Seen::Unknown) => {
            tracing::debug!(%id, "not in the credential's reading; reading it on its own");
            Ok(None)
        }
        // Only a cloud that is failing now is worth waiting for; a LIST the credential may not
        // make (or the cloud does not offer) leaves each object to its own GET.
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            tracing::debug!(error = %e, "cannot list the credential's resources; reading the object's own");
            Ok(None)
        }
    }
}

/// Whether the engine's last status describes the object's current spec.
fn observed_spec<K: ManagedObject>(object: &K) -> bool {
    object.status().is_some_and(|status| {
        status.observed_generation == object.meta().generation.unwrap_or_default()
    })
}

/// Whether the engine has acted on the object's current spec and found it Ready: its reconciles
/// are then resyncs, which a batched reading can serve.
fn settled<K: ManagedObject>(object: &K) -> bool {
    observed_spec(object)
        && object.status().is_some_and(|status| {
            status
                .conditions
                .iter()
                .any(|c| c.type_ == READY && c.status == "True")
        })
}

/// The object's session. The Secret is guarded (`credentials::SECRET_FINALIZER`) from the moment
/// the object has cloudlink's finalizer, which lifts the guard when it goes: an object that has
/// not asked the cloud for anything yet needs neither.
async fn connect<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
) -> Result<(A::Cloud, CloudSession), Failure> {
    let namespace = object.namespace().unwrap_or_default();
    let reference = &object.management().cloud_credentials_ref;
    let session = if finalizer_waits_for_create(object, ctx) && !has_finalizer(object) {
        ctx.credentials.session(&namespace, reference).await?
    } else {
        ctx.credentials
            .session_in_use(&namespace, reference)
            .await?
    };
    Ok((ctx.adapter.connect(&session), session))
}
