//! Applies the ownership rules (`ownership.rs`) wherever a reconcile comes by a cloud resource.

use super::adapter::Adapter;
use super::context::Context;
use super::failure::Failure;
use super::outcome::Reason;
use super::ownership::{Decision, Owner, decide};

/// Makes sure `observed` is `object`'s before cloudlink acts on it: marks it if nobody has, and
/// refuses it (`Conflict`) if another object owns it. Called wherever a managed object comes by
/// its resource (read by id, created, found after a crash, imported), once per reconcile.
pub(super) async fn ensure_owned<A: Adapter>(
    ctx: &Context<A>,
    cloud: &A::Cloud,
    object: &A::Object,
    observed: A::Observed,
) -> Result<A::Observed, Failure> {
    let me = Owner::of(object);
    let id = A::id(&observed);
    let mark = ctx.adapter.owner(&observed);
    match decide(&me, mark.as_ref(), ctx.claims.holder(&id).as_ref()) {
        Decision::Taken(owner) => Err(conflict(&id, &owner)),
        Decision::Owned => {
            // Remembered so that a stale reading without the mark still counts as ours.
            let _ = ctx.claims.claim(&id, &me);
            Ok(observed)
        }
        Decision::Claim => {
            if let Err(first) = ctx.claims.claim(&id, &me) {
                return Err(conflict(&id, &first));
            }
            match ctx.adapter.claim(cloud, &observed, &me).await? {
                Some(marked) => {
                    ctx.changed(&id);
                    Ok(marked)
                }
                None => Ok(observed),
            }
        }
    }
}

/// Who owns `observed` as far as this process knows, for a deletion: never claims in the cloud
/// (a resource being deleted needs no mark), but records the claim here so that nobody else
/// takes the resource while it goes.
pub(super) fn owner_for_deletion<A: Adapter>(
    ctx: &Context<A>,
    object: &A::Object,
    observed: &A::Observed,
) -> Option<Owner> {
    let me = Owner::of(object);
    let id = A::id(observed);
    let mark = ctx.adapter.owner(observed);
    match decide(&me, mark.as_ref(), ctx.claims.holder(&id).as_ref()) {
        Decision::Taken(owner) => Some(owner),
        Decision::Owned | Decision::Claim => ctx.claims.claim(&id, &me).err(),
    }
}

fn conflict(id: &str, owner: &Owner) -> Failure {
    Failure::terminal(
        Reason::Conflict,
        format!(
            "cloud resource {id} belongs to {}; this object will neither change nor delete it. Delete one of the two objects, or recreate this one with spec.managementPolicy: unmanaged and spec.import.id: {id} to only observe it",
            owner.describe()
        ),
    )
}
