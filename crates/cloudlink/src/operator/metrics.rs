//! Prometheus metrics: reconciles by kind and result, their duration, outbound cloud requests by
//! service, operation and status, Keystone tokens issued, and objects by kind and Ready state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::engine::metrics::ReconcileMetrics;
use cloudlink_cloud::{CallMetrics, CallOutcome};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    kind: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CloudLabels {
    service: String,
    operation: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    kind: String,
    ready: String,
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_seconds: Family<KindLabels, Histogram>,
    cloud_requests: Family<CloudLabels, Counter>,
    cloud_request_seconds: Family<KindLabels, Histogram>,
    tokens: Counter,
    objects: Family<ObjectLabels, Gauge>,
    /// Ready state by object, so the gauge can move an object from one state to another.
    readiness: Mutex<HashMap<String, (String, bool)>>,
}

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cloudlink");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_seconds = Family::<KindLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let cloud_requests = Family::<CloudLabels, Counter>::default();
        let cloud_request_seconds = Family::<KindLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let tokens = Counter::default();
        let objects = Family::<ObjectLabels, Gauge>::default();
        registry.register(
            "reconciles",
            "Reconciles by kind and result",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took, by kind",
            reconcile_seconds.clone(),
        );
        registry.register("cloud_requests", "Outbound cloud requests by service, operation and HTTP status (or timeout/connect/invalid)", cloud_requests.clone());
        registry.register(
            "cloud_request_duration_seconds",
            "Time of outbound cloud requests, by service (label kind)",
            cloud_request_seconds.clone(),
        );
        registry.register(
            "keystone_tokens_issued",
            "Keystone tokens obtained",
            tokens.clone(),
        );
        registry.register(
            "objects",
            "Objects by kind and Ready condition",
            objects.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_seconds,
            cloud_requests,
            cloud_request_seconds,
            tokens,
            objects,
            readiness: Mutex::new(HashMap::new()),
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl ReconcileMetrics for Metrics {
    fn reconciled(&self, kind: &str, result: &'static str, elapsed: Duration) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                kind: kind.into(),
                result: result.into(),
            })
            .inc();
        self.reconcile_seconds
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(elapsed.as_secs_f64());
    }

    fn ready(&self, kind: &str, uid: &str, ready: Option<bool>) {
        let mut readiness = self.readiness.lock().unwrap_or_else(|e| e.into_inner());
        let gauge = |kind: &str, ready: bool| {
            self.objects
                .get_or_create(&ObjectLabels {
                    kind: kind.into(),
                    ready: ready.to_string(),
                })
                .clone()
        };
        let previous = match ready {
            Some(now) => readiness.insert(uid.to_owned(), (kind.to_owned(), now)),
            None => readiness.remove(uid),
        };
        if let Some((kind, was)) = &previous {
            gauge(kind, *was).dec();
        }
        if let Some(now) = ready {
            gauge(kind, now).inc();
        }
    }
}

impl CallMetrics for Metrics {
    fn record(&self, service: &str, operation: &str, outcome: CallOutcome, elapsed: Duration) {
        let code = match outcome {
            CallOutcome::Status(status) => status.to_string(),
            CallOutcome::Timeout => "timeout".into(),
            CallOutcome::Connect => "connect".into(),
            CallOutcome::Invalid => "invalid".into(),
        };
        if service == "identity" && outcome == CallOutcome::Status(201) {
            self.tokens.inc();
        }
        self.cloud_requests
            .get_or_create(&CloudLabels {
                service: service.into(),
                operation: operation.into(),
                code,
            })
            .inc();
        self.cloud_request_seconds
            .get_or_create(&KindLabels {
                kind: service.into(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_moves_between_ready_states_and_leaves() {
        let m = Metrics::default();
        m.ready("Cloudpipe", "u1", Some(false));
        m.ready("Cloudpipe", "u1", Some(true));
        m.ready("Cloudpipe", "u2", Some(true));
        let text = m.render();
        assert!(
            text.contains(r#"cloudlink_objects{kind="Cloudpipe",ready="true"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cloudlink_objects{kind="Cloudpipe",ready="false"} 0"#),
            "{text}"
        );
        m.ready("Cloudpipe", "u1", None);
        assert!(
            m.render()
                .contains(r#"cloudlink_objects{kind="Cloudpipe",ready="true"} 1"#)
        );
    }

    #[test]
    fn cloud_calls_are_counted_by_status_and_tokens_by_creation() {
        let m = Metrics::default();
        m.record(
            "identity",
            "issue_token",
            CallOutcome::Status(201),
            Duration::from_millis(3),
        );
        m.record(
            "compute",
            "create_cloudpipe",
            CallOutcome::Status(500),
            Duration::from_millis(3),
        );
        m.record(
            "compute",
            "create_cloudpipe",
            CallOutcome::Timeout,
            Duration::from_millis(3),
        );
        let text = m.render();
        assert!(
            text.contains("cloudlink_keystone_tokens_issued_total 1"),
            "{text}"
        );
        assert!(text.contains(r#"cloudlink_cloud_requests_total{service="compute",operation="create_cloudpipe",code="500"} 1"#), "{text}");
        assert!(text.contains(r#"code="timeout"} 1"#), "{text}");
    }
}
