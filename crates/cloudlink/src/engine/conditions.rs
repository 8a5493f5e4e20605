//! Pure condition bookkeeping: from a [`Phase`] to kstatus-shaped conditions (`Ready`,
//! `Reconciling`, `Stalled`), keeping `lastTransitionTime` when a condition's status did not change
//! so that an unchanged object produces an unchanged status (and no write).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::outcome::{Phase, Reason};
use crate::api::common::condition::{READY, RECONCILING, STALLED};

/// A condition as the adapter or the engine wants it, before bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: Reason,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Desired {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// The three standard conditions for a phase.
pub fn standard(phase: &Phase) -> [Desired; 3] {
    match phase {
        Phase::Ready { message, .. } => [
            Desired::new(READY, true, Reason::Success, message.clone()),
            Desired::new(RECONCILING, false, Reason::Success, "nothing to do"),
            Desired::new(STALLED, false, Reason::Success, "nothing to do"),
        ],
        Phase::Progressing {
            reason, message, ..
        } => [
            Desired::new(READY, false, *reason, message.clone()),
            Desired::new(RECONCILING, true, *reason, message.clone()),
            Desired::new(STALLED, false, *reason, "making progress"),
        ],
        Phase::Retrying { message, .. } => [
            Desired::new(READY, false, Reason::TransientError, message.clone()),
            Desired::new(
                RECONCILING,
                true,
                Reason::TransientError,
                format!("retrying with backoff: {message}"),
            ),
            Desired::new(STALLED, false, Reason::TransientError, "retrying"),
        ],
        Phase::Stalled { reason, message } => [
            Desired::new(READY, false, *reason, message.clone()),
            Desired::new(
                RECONCILING,
                false,
                *reason,
                "waiting for a change of spec, Secret or cloud",
            ),
            Desired::new(STALLED, true, *reason, message.clone()),
        ],
    }
}

/// Merges `desired` into `current`: each desired condition replaces the one of its type, keeping
/// `lastTransitionTime` when its status is unchanged; conditions of other types are kept as they are.
pub fn merge(
    current: &[Condition],
    desired: &[Desired],
    generation: i64,
    now: &Time,
) -> Vec<Condition> {
    let mut merged: Vec<Condition> = current
        .iter()
        .filter(|c| !desired.iter().any(|d| d.type_ == c.type_))
        .cloned()
        .collect();
    for d in desired {
        let status = if d.status { "True" } else { "False" }.to_owned();
        let previous = current.iter().find(|c| c.type_ == d.type_);
        let last_transition_time = match previous {
            Some(p) if p.status == status => p.last_transition_time.clone(),
            _ => now.clone(),
        };
        merged.push(Condition {
            type_: d.type_.to_owned(),
            status,
            reason: d.reason.as_str().to_owned(),
            message: d.message.clone(),
            observed_generation: Some(generation),
            last_transition_time,
        });
    }
    merged.sort_by(|a, b| a.type_.cmp(&b.type_));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn time(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    fn find<'a>(conditions: &'a [Condition], t: &str) -> &'a Condition {
        conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn ready_is_true_and_the_abnormal_conditions_false() {
        let c = merge(
            &[],
            &standard(&Phase::ready("ok")),
            3,
            &time("2026-01-01T00:00:00Z"),
        );
        assert_eq!(find(&c, READY).status, "True");
        assert_eq!(find(&c, READY).reason, "Success");
        assert_eq!(find(&c, RECONCILING).status, "False");
        assert_eq!(find(&c, STALLED).status, "False");
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
    }

    #[test]
    fn stalled_sets_stalled_and_clears_reconciling() {
        let phase = Phase::stalled(Reason::ApiRemoved, "gone");
        let c = merge(&[], &standard(&phase), 1, &time("2026-01-01T00:00:00Z"));
        assert_eq!(
            (
                find(&c, STALLED).status.as_str(),
                find(&c, STALLED).reason.as_str()
            ),
            ("True", "APIRemoved")
        );
        assert_eq!(find(&c, RECONCILING).status, "False");
        assert_eq!(find(&c, READY).status, "False");
    }

    #[test]
    fn retrying_is_reconciling_with_transient_error() {
        let phase = Phase::Retrying {
            message: "503".into(),
            retry_after: None,
        };
        let c = merge(&[], &standard(&phase), 1, &time("2026-01-01T00:00:00Z"));
        assert_eq!(
            (
                find(&c, RECONCILING).status.as_str(),
                find(&c, RECONCILING).reason.as_str()
            ),
            ("True", "TransientError")
        );
        assert_eq!(find(&c, STALLED).status, "False");
    }

    #[test]
    fn transition_time_is_kept_while_the_status_stays_and_moves_when_it_flips() {
        let t0 = time("2026-01-01T00:00:00Z");
        let t1 = time("2026-01-01T00:05:00Z");
        let progressing =
            Phase::progressing(Reason::Progressing, "building", Duration::from_secs(1));
        let first = merge(&[], &standard(&progressing), 1, &t0);
        let again = merge(&first, &standard(&progressing), 1, &t1);
        assert_eq!(
            first, again,
            "the same phase twice must give the same conditions"
        );
        let ready = merge(&again, &standard(&Phase::ready("ok")), 1, &t1);
        assert_eq!(find(&ready, READY).last_transition_time, t1);
        assert_eq!(
            find(&ready, STALLED).last_transition_time,
            t0,
            "Stalled stayed False"
        );
    }

    #[test]
    fn conditions_of_other_types_survive() {
        let t0 = time("2026-01-01T00:00:00Z");
        let approved = [Desired::new(
            "Approved",
            false,
            Reason::AwaitingApproval,
            "waiting",
        )];
        let with_approved = merge(&[], &approved, 1, &t0);
        let c = merge(&with_approved, &standard(&Phase::ready("ok")), 1, &t0);
        assert_eq!(find(&c, "Approved").reason, "AwaitingApproval");
        assert_eq!(c.len(), 4);
    }
}
