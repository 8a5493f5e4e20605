//! What the engine tells whoever watches it (the operator's metrics) about each reconcile.

use std::time::Duration;

pub trait ReconcileObserver: Send + Sync {
    /// A reconcile of a `kind` object ended with `result` (ready, progressing, retrying, stalled,
    /// deleting, deleted, error).
    fn reconciled(&self, kind: &str, result: &'static str, elapsed: Duration);
    /// The object's Ready condition is now `ready`; `None` once the object is gone.
    fn ready(&self, kind: &str, uid: &str, ready: Option<bool>);
}

/// For contexts nobody watches (tests).
pub struct Unobserved;

impl ReconcileObserver for Unobserved {
    fn reconciled(&self, _: &str, _: &'static str, _: Duration) {}
    fn ready(&self, _: &str, _: &str, _: Option<bool>) {}
}
