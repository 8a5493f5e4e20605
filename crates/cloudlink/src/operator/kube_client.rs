//! The Kubernetes client: kube's own stack, over sockets with `TCP_NODELAY`.
//!
//! kube connects with a hyper `HttpConnector` left at its default, Nagle's algorithm on
//! (kube-rs/kube#2056). A small write that follows another unacknowledged one (a request body after
//! its headers, a TLS record after the previous one) then waits for the API server's delayed ACK,
//! 40 ms on Linux: docs/benchmarks.md saw single-object gaps of either about 5 or about 50 ms.
//! kube has no switch for it, so [`from_config`] builds what `ClientBuilder::try_from(Config)` of
//! kube-client 5.0 builds (src/client/builder.rs, `make_generic_builder`, with cloudlink's kube
//! features: rustls, no gzip, no proxy support) and differs only in the connector's `set_nodelay`.
//! Re-read that function when kube is upgraded.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ConfigExt};
use kube::{Client, Config};
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// As `kube::Client::try_default`: the configuration from the environment (in-cluster or kubeconfig).
pub async fn infer() -> kube::Result<Client> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    from_config(config)
}

/// As `kube::Client::try_from(config)`, with no-delay sockets.
pub fn from_config(config: Config) -> kube::Result<Client> {
    if config.proxy_url.is_some() {
        // Built without kube's proxy features, kube refuses a proxy with an error that names the
        // feature: let it say so.
        return Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let mut connector = TimeoutConnector::new(config.rustls_https_connector_with_connector(http)?);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);

    let retry = config
        .default_retry
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .layer(trace_layer())
        .map_err(BoxError::from)
        .service(http_client);
    // kube also records when an exec plugin's client certificate expires (`Client::valid_until`);
    // it cannot be read from outside kube, and cloudlink never asks for it.
    Ok(Client::new(service, config.default_namespace))
}

/// kube's spans and events, under kube's target, so that log filters such as
/// `kube_client=debug` select them as before.
const TARGET: &str = "kube_client::client::builder";

/// kube's `TraceLayer`, as in `make_generic_builder` (attribute names follow OpenTelemetry's
/// semantic conventions).
fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&Request<Body>) -> Span + Clone,
    impl Fn(&Request<Body>, &Span) + Clone,
    impl Fn(&Response<Incoming>, Duration, &Span) + Clone,
    (),
    impl Fn(Option<&HeaderMap>, Duration, &Span) + Clone,
    impl Fn(ServerErrorsFailureClass, Duration, &Span) + Clone,
> {
    TraceLayer::new_for_http()
        .make_span_with(|req: &Request<Body>| {
            tracing::debug_span!(
                target: TARGET,
                "HTTP",
                http.method = %req.method(),
                http.url = %req.uri(),
                http.status_code = tracing::field::Empty,
                otel.name = req.extensions().get::<&'static str>().unwrap_or(&"HTTP"),
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
            )
        })
        .on_request(|_: &Request<Body>, _: &Span| tracing::debug!(target: TARGET, "requesting"))
        .on_response(|res: &Response<Incoming>, _: Duration, span: &Span| {
            let status = res.status();
            span.record("http.status_code", status.as_u16());
            if status.is_client_error() || status.is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
        })
        .on_body_chunk(())
        .on_eos(|_: Option<&HeaderMap>, _: Duration, _: &Span| {
            tracing::debug!(target: TARGET, "stream closed")
        })
        .on_failure(|class: ServerErrorsFailureClass, _: Duration, span: &Span| {
            span.record("otel.status_code", "ERROR");
            match class {
                ServerErrorsFailureClass::StatusCode(status) => {
                    span.record("http.status_code", status.as_u16());
                    tracing::error!(target: TARGET, "failed with status {}", status)
                }
                ServerErrorsFailureClass::Error(err) => {
                    tracing::error!(target: TARGET, "failed with error {}", err)
                }
            }
        })
}
