//! The user's two levers on one object, both annotations: pause it (no cloud call, no change but
//! the `Paused` condition) and ask for a reconcile now (read the cloud at once, outside the
//! resync tick). The controller's trigger lets changes of these annotations through (the
//! generation does not move on an annotation).

use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource, ResourceExt};

use super::adapter::ManagedObject;
use super::conditions::{self, Desired};
use super::outcome::Reason;
use super::writes::{ObjectWrites, StatusPatch};
use crate::api::common::annotation::{FLUX_RECONCILE_REQUESTED_AT, PAUSED, RECONCILE_REQUESTED_AT};
use crate::api::common::condition::PAUSED as PAUSED_CONDITION;

/// Pure: whether the object is paused.
pub fn paused(object: &impl ResourceExt) -> bool {
    object
        .annotations()
        .get(PAUSED)
        .is_some_and(|value| value == "true")
}

/// Pure: the reconcile the user asked for, if any: cloudlink's annotation, else Flux's.
pub fn requested(object: &impl ResourceExt) -> Option<&str> {
    let annotations = object.annotations();
    annotations
        .get(RECONCILE_REQUESTED_AT)
        .or_else(|| annotations.get(FLUX_RECONCILE_REQUESTED_AT))
        .map(String::as_str)
}

/// Pure: whether a reconcile was asked for that status does not show as handled.
pub fn unhandled_request<K: ManagedObject>(object: &K) -> Option<&str> {
    let handled = object
        .status()
        .and_then(|s| s.last_handled_reconcile_at.as_deref());
    requested(object).filter(|token| Some(*token) != handled)
}

/// What the controller reacts to: a new spec or a deletion (both move `metadata.generation`), or
/// a change of the user's annotations; not the engine's own status and finalizer writes (polling
/// is driven by each reconcile's requeue, so self-triggered reconciles would only repeat cloud
/// calls).
pub fn trigger<K: Resource>(object: &K) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    object.meta().generation.hash(&mut hasher);
    let annotations = object.meta().annotations.as_ref();
    for key in [PAUSED, RECONCILE_REQUESTED_AT, FLUX_RECONCILE_REQUESTED_AT] {
        annotations.and_then(|a| a.get(key)).hash(&mut hasher);
    }
    Some(hasher.finish())
}

/// Shows that the object is paused, and nothing else: the rest of its status stays as the last
/// reconcile left it. Writes only when the condition is not shown yet; returns whether it wrote.
pub async fn show_paused<K: ManagedObject>(
    writes: &dyn ObjectWrites<K>,
    object: &K,
    deleting: bool,
) -> Result<bool, kube::Error> {
    let message = if deleting {
        format!(
            "paused by annotation {PAUSED}=\"true\": the deletion waits, and nothing is deleted in the cloud, until the annotation is removed"
        )
    } else {
        format!(
            "paused by annotation {PAUSED}=\"true\": cloudlink makes no cloud call and no change for this object until the annotation is removed"
        )
    };
    let current = object.status().cloned().unwrap_or_default();
    let shown = current
        .conditions
        .iter()
        .any(|c| c.type_ == PAUSED_CONDITION && c.status == "True" && c.message == message);
    if shown {
        return Ok(false);
    }
    let desired = [Desired::new(
        PAUSED_CONDITION,
        true,
        Reason::Paused,
        message,
    )];
    let generation = current.observed_generation;
    let now = Time(jiff::Timestamp::now());
    let mut status = current;
    status.conditions = conditions::merge(&status.conditions, &desired, generation, &now);
    writes
        .patch_status(object, &StatusPatch::Whole(&status))
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn annotated(pairs: &[(&str, &str)]) -> ConfigMap {
        let mut object = ConfigMap::default();
        object.metadata.annotations = Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        object
    }

    #[test]
    fn only_true_pauses() {
        assert!(paused(&annotated(&[(PAUSED, "true")])));
        assert!(!paused(&annotated(&[(PAUSED, "false")])));
        assert!(!paused(&annotated(&[(PAUSED, "yes")])));
        assert!(!paused(&annotated(&[])));
    }

    #[test]
    fn cloudlinks_request_wins_over_fluxs() {
        let both = annotated(&[
            (RECONCILE_REQUESTED_AT, "a"),
            (FLUX_RECONCILE_REQUESTED_AT, "b"),
        ]);
        assert_eq!(requested(&both), Some("a"));
        let flux = annotated(&[(FLUX_RECONCILE_REQUESTED_AT, "b")]);
        assert_eq!(requested(&flux), Some("b"));
        assert_eq!(requested(&annotated(&[])), None);
    }

    #[test]
    fn the_trigger_moves_with_the_users_annotations_not_others() {
        let base = trigger(&annotated(&[]));
        assert_ne!(trigger(&annotated(&[(PAUSED, "true")])), base);
        assert_ne!(trigger(&annotated(&[(RECONCILE_REQUESTED_AT, "1")])), base);
        assert_ne!(
            trigger(&annotated(&[(FLUX_RECONCILE_REQUESTED_AT, "1")])),
            base
        );
        assert_eq!(trigger(&annotated(&[("team", "a")])), base);
        let mut newer = annotated(&[]);
        newer.metadata.generation = Some(2);
        assert_ne!(trigger(&newer), base);
    }
}
