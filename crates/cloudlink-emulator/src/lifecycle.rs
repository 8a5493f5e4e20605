//! The timing of the asynchronous steps: how long each takes, and the timeline of transitions
//! still to come (`World::advance` applies the ones that are due).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// How long the asynchronous steps take.
#[derive(Clone, Copy, Debug)]
pub struct Lifecycle {
    pub server_build: Duration,
    pub server_delete: Duration,
    /// `creating` → `registering` (the approval request id is assigned).
    pub tcr_registering: Duration,
    /// `registering` → `registered` (the SSS approval request becomes visible).
    pub tcr_registered: Duration,
    pub auto_approve_after: Option<Duration>,
    /// After this an unanswered approval request is `expired` and its TCR `unavailable`.
    pub approval_deadline: Duration,
    /// A tenant connection's `creating` → `active`.
    pub tc_active: Duration,
    /// A deleted tenant connection's `deleting` → gone.
    pub tc_delete: Duration,
}

/// A transition to apply to the world, naming the resource it concerns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    ServerBuilt(String),
    ServerGone(String),
    TcrRegistering(String),
    TcrRegistered(String),
    AutoApprove(String),
    ApprovalExpired(String),
    TcActive(String),
    TcGone(String),
}

/// Transitions still to come, earliest first; among simultaneous ones, the one scheduled first.
#[derive(Default)]
pub struct Timeline(BinaryHeap<Reverse<(Instant, u64, Event)>>);

impl Timeline {
    /// `sequence` orders events due at the same instant (the world's running count).
    pub fn schedule(&mut self, at: Instant, sequence: u64, event: Event) {
        self.0.push(Reverse((at, sequence, event)));
    }

    /// The earliest event due by `now`, with the instant it was due.
    pub fn next_due(&mut self, now: Instant) -> Option<(Instant, Event)> {
        if self.0.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
            self.0.pop().map(|Reverse((at, _, event))| (at, event))
        } else {
            None
        }
    }
}
