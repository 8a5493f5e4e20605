//! How a failed step ends a reconcile: retried with backoff, or stalled until something changes.

use std::time::Duration;

use super::adapter::AdapterError;
use super::credentials::CredentialsError;
use super::outcome::{Phase, Reason};
use cloudlink_cloud::CloudError;

#[derive(Debug)]
pub enum Failure {
    /// Waiting may help: retried with per-object backoff, at least `retry_after`.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Only a change of spec, Secret or cloud helps.
    Terminal { reason: Reason, message: String },
    /// Nothing failed: the step waits for something outside the object (see
    /// `AdapterError::Waiting`); looked at again after `poll`, without a Warning Event.
    Waiting {
        reason: Reason,
        message: String,
        poll: Duration,
    },
}

impl Failure {
    pub fn terminal(reason: Reason, message: impl Into<String>) -> Self {
        Failure::Terminal {
            reason,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Failure::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn phase(&self) -> Phase {
        match self {
            Failure::Transient {
                message,
                retry_after,
            } => Phase::Retrying {
                message: message.clone(),
                retry_after: *retry_after,
            },
            Failure::Terminal { reason, message } => Phase::stalled(*reason, message.clone()),
            Failure::Waiting {
                reason,
                message,
                poll,
            } => Phase::progressing(*reason, message.clone(), *poll),
        }
    }

    pub fn reason(&self) -> Reason {
        match self {
            Failure::Transient { .. } => Reason::TransientError,
            Failure::Terminal { reason, .. } | Failure::Waiting { reason, .. } => *reason,
        }
    }

    /// The same failure, told differently (with what it blocks and the ways out).
    pub fn map_message(self, tell: impl FnOnce(&str) -> String) -> Self {
        match self {
            Failure::Transient {
                message,
                retry_after,
            } => Failure::Transient {
                message: tell(&message),
                retry_after,
            },
            Failure::Terminal { reason, message } => Failure::Terminal {
                reason,
                message: tell(&message),
            },
            waiting @ Failure::Waiting { .. } => waiting,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Transient { message, .. }
            | Failure::Terminal { message, .. }
            | Failure::Waiting { message, .. } => message,
        }
    }

    /// Whether it is worth a Warning Event: waiting is not a failure.
    pub fn is_warning(&self) -> bool {
        !matches!(self, Failure::Waiting { .. })
    }
}

/// The engine's classification of cloud errors. 409 is retried: the resources here conflict with
/// states that settle (a request still in use, a server still building), unlike k-orc's clouds.
impl From<CloudError> for Failure {
    fn from(error: CloudError) -> Self {
        let message = error.to_string();
        if error.is_gone() {
            return Failure::terminal(Reason::ApiRemoved, message);
        }
        if error.is_transient()
            || matches!(
                error,
                CloudError::Conflict { .. } | CloudError::InvalidResponse { .. }
            )
        {
            return Failure::Transient {
                message,
                retry_after: error.retry_after(),
            };
        }
        match error {
            CloudError::NotFound { .. } | CloudError::HttpStatus { .. } => {
                Failure::terminal(Reason::UnrecoverableError, message)
            }
            _ => Failure::terminal(Reason::InvalidConfiguration, message),
        }
    }
}

/// A spec the cloud cannot satisfy stalls until the spec changes; the message names the field.
impl From<AdapterError> for Failure {
    fn from(error: AdapterError) -> Self {
        match error {
            AdapterError::Spec { .. } => {
                Failure::terminal(Reason::InvalidConfiguration, error.to_string())
            }
            AdapterError::Cloud(error) => error.into(),
            AdapterError::Waiting {
                reason,
                message,
                poll,
            } => Failure::Waiting {
                reason,
                message,
                poll,
            },
        }
    }
}

impl From<CredentialsError> for Failure {
    fn from(error: CredentialsError) -> Self {
        if error.is_transient() {
            Failure::transient(error.to_string())
        } else {
            Failure::terminal(Reason::InvalidConfiguration, error.to_string())
        }
    }
}

impl From<kube::Error> for Failure {
    fn from(error: kube::Error) -> Self {
        Failure::transient(format!("Kubernetes API: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> String {
        "POST http://cloud/os-cloudpipe".into()
    }

    #[test]
    fn cloud_errors_are_classified_by_what_helps() {
        let cases: Vec<(CloudError, Reason)> = vec![
            (
                CloudError::Gone {
                    request: req(),
                    message: "x".into(),
                },
                Reason::ApiRemoved,
            ),
            (
                CloudError::Server {
                    request: req(),
                    status: 500,
                    message: "x".into(),
                },
                Reason::TransientError,
            ),
            (
                CloudError::RateLimited {
                    request: req(),
                    message: "x".into(),
                    retry_after: None,
                },
                Reason::TransientError,
            ),
            (
                CloudError::Timeout {
                    request: req(),
                    after: Duration::from_secs(1),
                },
                Reason::TransientError,
            ),
            (
                CloudError::Conflict {
                    request: req(),
                    message: "x".into(),
                },
                Reason::TransientError,
            ),
            (
                CloudError::Unauthorized {
                    request: req(),
                    message: "x".into(),
                },
                Reason::InvalidConfiguration,
            ),
            (
                CloudError::Forbidden {
                    request: req(),
                    message: "x".into(),
                },
                Reason::InvalidConfiguration,
            ),
            (
                CloudError::BadRequest {
                    request: req(),
                    message: "x".into(),
                },
                Reason::InvalidConfiguration,
            ),
            (
                CloudError::NotFound {
                    request: req(),
                    message: "x".into(),
                },
                Reason::UnrecoverableError,
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(Failure::from(error.clone()).reason(), reason, "{error:?}");
        }
    }

    #[test]
    fn a_spec_the_cloud_cannot_satisfy_stalls_naming_the_field() {
        let failure = Failure::from(AdapterError::spec(
            "spec.resource.vpn.publicIp",
            "\"x\" is not an IP address",
        ));
        assert_eq!(failure.reason(), Reason::InvalidConfiguration);
        assert!(matches!(failure, Failure::Terminal { .. }));
        assert_eq!(
            failure.message(),
            "spec.resource.vpn.publicIp: \"x\" is not an IP address"
        );
        // A cloud error inside keeps the cloud's classification.
        let cloud = CloudError::Server {
            request: req(),
            status: 503,
            message: "x".into(),
        };
        assert_eq!(
            Failure::from(AdapterError::from(cloud)).reason(),
            Reason::TransientError
        );
    }

    #[test]
    fn retry_after_reaches_the_phase() {
        let error = CloudError::RateLimited {
            request: req(),
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        match Failure::from(error).phase() {
            Phase::Retrying {
                retry_after,
                message,
            } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
                assert!(message.contains("429"), "{message}");
            }
            other => panic!("expected Retrying, got {other:?}"),
        }
    }
}
