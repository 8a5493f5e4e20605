//! Deleting an object: its cloud resource first (per `spec.onDelete`), then the Secret's guard,
//! then the finalizer. Nothing is held for no reason: an object that provably never reached the
//! cloud is released at once, whatever its credentials; one that did and cannot delete its
//! resource says what blocks it and how to get out (fix it, or `spec.onDelete: detach`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::adapter::{Adapter, CloudDeletion, ManagedObject};
use super::claim::owner_for_deletion;
use super::context::Context;
use super::error::EngineError;
use super::events::EventType;
use super::failure::Failure;
use super::outcome::{Phase, Reason};
use super::ownership::Owner;
use super::reconcile::{Listing, reading};
use super::schedule::{IN_FLIGHT_POLL, in_flight_reading_age, next_action};
use super::status;
use super::writes::ObjectWrites;
use crate::api::common::{ManagementPolicy, OnDelete};

/// Where the object's cloud resource stands, as far as its deletion goes.
enum InCloud {
    /// Gone (or never found).
    Gone,
    /// Being deleted.
    Going(String),
    /// Another object owns it: it stays.
    Owned(String, Owner),
}

/// What happened to the cloud resource when the object was released.
enum Released {
    Deleted,
    Kept,
    /// The cloud cannot delete it (see `Adapter::deletion`).
    Permanent(&'static str),
    NeverCreated,
    LeftToOwner(String, Owner),
}

pub(super) async fn cleanup<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
) -> Result<(Action, &'static str), EngineError> {
    let management = object.management();
    let deletes = management.management_policy == ManagementPolicy::Managed
        && management.on_delete == OnDelete::Delete;
    let released = if let CloudDeletion::Impossible(why) = ctx.adapter.deletion() {
        Released::Permanent(why)
    } else if !deletes {
        Released::Kept
    } else if never_reached_cloud(object, ctx) {
        Released::NeverCreated
    } else {
        match delete_in_cloud(object, ctx).await {
            Ok(InCloud::Gone) => Released::Deleted,
            Ok(InCloud::Owned(id, owner)) => Released::LeftToOwner(id, owner),
            Ok(InCloud::Going(id)) => {
                let phase = Phase::progressing(
                    Reason::Progressing,
                    format!("deleting cloud resource {id}"),
                    IN_FLIGHT_POLL,
                );
                write_phase(&*ctx.writes, object, &phase).await?;
                return Ok((next_action(ctx, object, &phase), "deleting"));
            }
            Err(waiting @ Failure::Waiting { .. }) => {
                let phase = waiting.phase();
                write_phase(&*ctx.writes, object, &phase).await?;
                return Ok((next_action(ctx, object, &phase), "deleting"));
            }
            Err(failure) => {
                let failure = blocked(object, ctx, failure);
                ctx.writes.publish(
                    object,
                    EventType::Warning,
                    failure.reason().as_str(),
                    "Delete",
                    failure.message(),
                );
                let phase = failure.phase();
                write_phase(&*ctx.writes, object, &phase).await?;
                return Ok((next_action(ctx, object, &phase), phase.label()));
            }
        }
    };
    let (reason, note) = describe(object, ctx, &released);
    release(object, ctx).await?;
    ctx.writes
        .publish(object, EventType::Normal, reason, "Delete", &note);
    Ok((Action::await_change(), "deleted"))
}

/// An object never reached the cloud if it has no id (in status or in this process's memory)
/// and no create can have been asked for it. Such an object has nothing to delete, so broken
/// credentials must not hold it. An object that creates its resource gets cloudlink's finalizer
/// only as the mark of its first create, so one that never asked is deleted by the API server
/// without cloudlink; what is left here is an import that never got its id recorded (the
/// resource existed before the object and stays).
fn never_reached_cloud<A: Adapter>(object: &A::Object, ctx: &Context<A>) -> bool {
    let uid = object.uid().unwrap_or_default();
    // Without an import, cloudlink puts its finalizer on just before it sends a create (the
    // create's mark): such an object being cleaned up may have a resource in the cloud.
    object.management().import.is_some()
        && object
            .status()
            .is_none_or(|s| s.id.is_none() && s.create_requested.is_none())
        && ctx.known_id(&uid).is_none()
        && !ctx.create_requested(&uid)
}

/// A deletion that cannot go on: what blocks it, and the two ways out.
fn blocked<A: Adapter>(object: &A::Object, ctx: &Context<A>, failure: Failure) -> Failure {
    let id = ctx
        .known_id(&object.uid().unwrap_or_default())
        .or_else(|| object.status().and_then(|s| s.id.clone()))
        .map(|id| format!("cloud resource {id}"))
        .unwrap_or_else(|| "the cloud resource an earlier create may have made".into());
    failure.map_message(|message| {
        format!(
            "cannot delete {id}: {message}. Fix that (cloudlink retries as soon as the object or its Secret changes), or set spec.onDelete: detach to release this object and leave the resource in the cloud"
        )
    })
}

/// Deletes the object's cloud resource if it is the object's to delete.
async fn delete_in_cloud<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
) -> Result<InCloud, Failure> {
    let namespace = object.namespace().unwrap_or_default();
    // No Secret guard here: the object is going away, and its guard is what kept the Secret.
    let session = ctx
        .credentials
        .session(&namespace, &object.management().cloud_credentials_ref)
        .await?;
    let cloud = ctx.adapter.connect(&session);
    let resolved = ctx.adapter.resolve(&ctx.objects, object)?;
    let object = resolved.as_ref().unwrap_or(object);
    let known = ctx
        .known_id(&object.uid().unwrap_or_default())
        .or_else(|| object.status().and_then(|s| s.id.clone()));
    // A deletion in progress polls at the in-flight ticks, from the credential's batched
    // reading; only what the reading does not list is read on its own (absence from a listing
    // never counts as gone: a resource is gone when the cloud says 404).
    let observed = match known {
        Some(id) => match reading(
            ctx,
            Listing::Probe,
            &cloud,
            session.key(),
            &id,
            in_flight_reading_age(),
        )
        .await?
        {
            Some(listed) => Some(listed),
            None => ctx.adapter.probe(&cloud, object, &id).await?,
        },
        // A crash between the create and the status write leaves no id: look for it.
        None => ctx.adapter.find_own(&cloud, object).await?,
    };
    let Some(observed) = observed else {
        return Ok(InCloud::Gone);
    };
    let id = A::id(&observed);
    if let Some(owner) = owner_for_deletion(ctx, object, &observed) {
        return Ok(InCloud::Owned(id, owner));
    }
    if !ctx.adapter.deleting(&observed) {
        let sent = ctx.adapter.delete(&cloud, &observed).await;
        // Readings taken before the DELETE no longer tell this resource's state.
        ctx.changed(&id);
        match sent {
            Err(e) if e.is_not_found() => return Ok(InCloud::Gone),
            other => other?,
        }
    }
    Ok(InCloud::Going(id))
}

/// Lifts the Secret's guard if no other object uses it, drops the finalizer, and forgets
/// everything this process kept about the object.
async fn release<A: Adapter>(object: &A::Object, ctx: &Context<A>) -> Result<(), EngineError> {
    let namespace = object.namespace().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    let secret = &object.management().cloud_credentials_ref.secret_name;
    ctx.credentials
        .release_secret(&namespace, secret, &uid)
        .await?;
    ctx.writes.remove_finalizer(object).await?;
    if let Some(id) = ctx.known_id(&uid) {
        ctx.claims.release(&id, &uid);
    }
    if let Some(id) = object.status().and_then(|s| s.id.as_deref()) {
        ctx.claims.release(id, &uid);
    }
    ctx.remember_id(&uid, None);
    ctx.remember_create_request(&uid, false);
    ctx.backoff.forget(&uid);
    ctx.in_flight.done(&uid);
    ctx.metrics.ready(&A::Object::kind(&()), &uid, None);
    Ok(())
}

/// The Event that says what became of the cloud resource.
fn describe<A: Adapter>(
    object: &A::Object,
    ctx: &Context<A>,
    released: &Released,
) -> (&'static str, String) {
    let id = object
        .status()
        .and_then(|s| s.id.clone())
        .or_else(|| ctx.known_id(&object.uid().unwrap_or_default()))
        .unwrap_or_else(|| "(none)".into());
    match released {
        Released::Deleted => ("Deleted", format!("deleted cloud resource {id}")),
        Released::Kept => ("Detached", format!("left cloud resource {id} in the cloud")),
        Released::Permanent(why) => (
            "Detached",
            format!("left cloud resource {id} as it is: {why}"),
        ),
        Released::NeverCreated => (
            "Released",
            "released without touching the cloud: this object never created anything there".into(),
        ),
        Released::LeftToOwner(id, owner) => (
            "Detached",
            format!(
                "left cloud resource {id} in the cloud: it belongs to {}",
                owner.describe()
            ),
        ),
    }
}

/// A status write that changes only the standard conditions (used while deleting).
async fn write_phase<K: ManagedObject>(
    writes: &dyn ObjectWrites<K>,
    object: &K,
    phase: &Phase,
) -> Result<(), kube::Error> {
    let current = object.status().cloned().unwrap_or_default();
    let now = Time(jiff::Timestamp::now());
    let next = status::next(
        &current,
        object.meta().generation.unwrap_or_default(),
        current.id.clone(),
        None,
        phase,
        &[],
        &now,
    );
    status::write(writes, object, &next).await.map(|_| ())
}
