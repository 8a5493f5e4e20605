//! The operator's own HTTP endpoints: `/metrics`, `/healthz` (the process serves), `/readyz`
//! (every controller has listed its objects once, so reconciles act on a complete picture).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::metrics::Metrics;

/// Counts controllers whose caches are still filling. A replica waiting for the leader Lease is
/// ready too: it is healthy, and a rollout of several replicas must not wait for it.
pub struct Readiness {
    pending: AtomicUsize,
    standby: AtomicBool,
}

impl Readiness {
    pub fn new(controllers: usize) -> Self {
        Readiness {
            pending: AtomicUsize::new(controllers),
            standby: AtomicBool::new(false),
        }
    }

    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::SeqCst);
    }

    pub fn synced(&self) {
        let _ = self
            .pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    pub fn is_ready(&self) -> bool {
        self.standby.load(Ordering::SeqCst) || self.pending.load(Ordering::SeqCst) == 0
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
}

/// Serves on an already bound listener (binding early turns a taken port into a startup error).
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
) {
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(s): State<Shared>| async move { s.metrics.render() }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(s): State<Shared>| async move {
                if s.readiness.is_ready() {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "caches are syncing")
                }
            }),
        )
        .with_state(Shared { metrics, readiness });
    tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics, /healthz and /readyz");
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "the metrics endpoint stopped");
    }
}
