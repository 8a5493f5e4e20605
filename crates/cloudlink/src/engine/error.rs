//! The engine's own errors (the cloud's and the credentials' become conditions, not errors).

/// Failures of the Kubernetes side of a reconcile; retried by the controller's error policy.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}
