//! What the engine reports about each reconcile to the operator's metrics.

use std::time::Duration;

pub trait ReconcileMetrics: Send + Sync {
    /// A reconcile of a `kind` object ended with `result` (ready, progressing, retrying, stalled,
    /// deleting, deleted, error).
    fn reconciled(&self, kind: &str, result: &'static str, elapsed: Duration);
    /// The object's Ready condition is now `ready`; `None` once the object is gone.
    fn ready(&self, kind: &str, uid: &str, ready: Option<bool>);
}

/// For contexts without metrics (tests).
pub struct NoMetrics;

impl ReconcileMetrics for NoMetrics {
    fn reconciled(&self, _: &str, _: &'static str, _: Duration) {}
    fn ready(&self, _: &str, _: &str, _: Option<bool>) {}
}
