//! OpenTelemetry trace export (`--features otel`). When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the spans the log filter lets through — above all
//! `reconcile`, with kind, namespace, name and uid — are sent in batches over OTLP/HTTP (protobuf),
//! with the events logged inside them. The exporter reads the other standard variables itself
//! (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*`, …).

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// The variables that turn export on; the exporter itself reads the same ones for the address.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];
const SERVICE_NAME: &str = "cloudlink";
/// Longest wait for the last spans at exit: a collector that is down must not hold up a rollout.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// The layer that hands spans to the exporter.
pub type Layer<S> = OpenTelemetryLayer<S, SdkTracer>;

/// Sends what is still batched when the operator stops.
pub struct Exporter {
    provider: SdkTracerProvider,
}

/// A layer exporting spans, or `None` when no endpoint is configured. Must be called on the tokio
/// runtime: the batcher is a task on it.
pub fn layer<S>() -> Result<Option<(Layer<S>, Exporter)>, opentelemetry_otlp::ExporterBuildError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    if !endpoint_configured() {
        return Ok(None);
    }
    // reqwest is built with `rustls-no-provider` and the exporter's client (an https endpoint
    // needs it) is built before anything else in the process installs one. Err: one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    // The SDK's default batcher exports from a thread of its own, where the async reqwest client
    // finds no runtime: this one runs on the operator's.
    let processor = BatchSpanProcessor::builder(exporter, Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME));
    Ok(Some((layer, Exporter { provider })))
}

fn endpoint_configured() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|value| !value.is_empty()))
}

/// `service.name` is `cloudlink` unless OTEL_SERVICE_NAME (or `service.name` in
/// OTEL_RESOURCE_ATTRIBUTES) chose another; the other detected attributes are kept.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    // Nobody chose a name when the SDK fell back to its `unknown_service:<executable>`.
    let chosen = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if chosen {
        detected
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    }
}

impl Exporter {
    /// Exports the spans still batched and stops the exporter, waiting at most [`SHUTDOWN_DEADLINE`].
    pub async fn shutdown(self) {
        let provider = self.provider;
        // `shutdown` blocks until the batcher, a task on this runtime, has sent what it holds:
        // wait on a blocking thread so that the runtime's workers stay free to run it.
        let done = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(SHUTDOWN_DEADLINE, done).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "could not export the last spans"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not export the last spans"),
            Err(_) => {
                tracing::warn!(deadline = ?SHUTDOWN_DEADLINE, "gave up exporting the last spans")
            }
        }
    }
}
