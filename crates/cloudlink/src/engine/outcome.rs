//! What one reconcile concluded about an object, in the vocabulary of its conditions.

use std::time::Duration;

/// Condition reasons: categories of action (what the user or operator should do), not descriptions
/// of what broke. The message says what broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The cloud resource matches the spec.
    Success,
    /// cloudlink is working on it; nothing to do but wait.
    Progressing,
    /// The request waits for the network owner's approval.
    AwaitingApproval,
    /// The cloud or the network failed for now; cloudlink retries with backoff.
    TransientError,
    /// The spec, the Secret or the credentials are wrong: fix them.
    InvalidConfiguration,
    /// The cloud resource is in a state cloudlink cannot repair (ERROR, denied, deleted out of band
    /// while imported…): act on the cloud side, or recreate the object.
    UnrecoverableError,
    /// The cloud no longer offers the API (Nova answers 410 for os-cloudpipe since Pike).
    ApiRemoved,
    /// Another object owns the cloud resource this one names: delete one of them.
    Conflict,
    /// The user paused the object: remove the annotation to resume.
    Paused,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Success => "Success",
            Reason::Progressing => "Progressing",
            Reason::AwaitingApproval => "AwaitingApproval",
            Reason::TransientError => "TransientError",
            Reason::InvalidConfiguration => "InvalidConfiguration",
            Reason::UnrecoverableError => "UnrecoverableError",
            Reason::ApiRemoved => "APIRemoved",
            Reason::Conflict => "Conflict",
            Reason::Paused => "Paused",
        }
    }
}

/// Where the object stands after a reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Done: Ready=True. Looked at again after the resync period, or after `recheck` when
    /// something may still change soon (a request waiting for its approval).
    Ready {
        message: String,
        recheck: Option<Duration>,
    },
    /// Not done, and cloudlink will look again after `poll`: Ready=False, Reconciling=True.
    Progressing {
        reason: Reason,
        message: String,
        poll: Duration,
    },
    /// Failed for now; retried with backoff: Ready=False, Reconciling=True (TransientError).
    Retrying {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Cannot go on without a change of spec, Secret or cloud: Ready=False, Stalled=True.
    Stalled { reason: Reason, message: String },
}

impl Phase {
    pub fn ready(message: impl Into<String>) -> Self {
        Phase::Ready {
            message: message.into(),
            recheck: None,
        }
    }

    /// Ready, but looked at again after `recheck` rather than the resync period: something may
    /// still change soon (a request waiting for its approval).
    pub fn ready_rechecked_after(message: impl Into<String>, recheck: Duration) -> Self {
        Phase::Ready {
            message: message.into(),
            recheck: Some(recheck),
        }
    }

    pub fn progressing(reason: Reason, message: impl Into<String>, poll: Duration) -> Self {
        Phase::Progressing {
            reason,
            message: message.into(),
            poll,
        }
    }

    pub fn stalled(reason: Reason, message: impl Into<String>) -> Self {
        Phase::Stalled {
            reason,
            message: message.into(),
        }
    }

    /// One word for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Phase::Ready { .. } => "ready",
            Phase::Progressing { .. } => "progressing",
            Phase::Retrying { .. } => "retrying",
            Phase::Stalled { .. } => "stalled",
        }
    }
}
