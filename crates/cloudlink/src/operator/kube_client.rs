//! The Kubernetes client: kube's own stack, over sockets with `TCP_NODELAY`.
//!
//! kube connects with a hyper `HttpConnector` left at its default, Nagle's algorithm on
//! (kube-rs/kube#2056). A small write that follows another unacknowledged one (a TLS record after
//! the previous one) then waits for the API server's delayed ACK, 40 ms on Linux. In the
//! benchmark's single-object latency run, no-delay on the benchmark's own client (the testkit
//! builds it here too) took about 40 ms off most samples; no-delay on the operator's client alone
//! changed nothing measurable there, so for the operator this is prevention, not a measured gain.
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

/// As `kube::Client::try_default`: the configuration from the environment (in-cluster or
/// kubeconfig), sending `user_agent` (kube sends none, and the audit log then cannot tell who
/// wrote what).
pub async fn infer(user_agent: &str) -> kube::Result<Client> {
    let mut config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    let value = hyper::header::HeaderValue::from_str(user_agent)
        .map_err(|e| kube::Error::HttpError(e.into()))?;
    config.headers.push((hyper::header::USER_AGENT, value));
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
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_request(on_request)
                .on_response(on_response)
                .on_body_chunk(())
                .on_eos(on_eos)
                .on_failure(on_failure),
        )
        .map_err(BoxError::from)
        .service(http_client);
    // kube also records when an exec plugin's client certificate expires (`Client::valid_until`);
    // it cannot be read from outside kube, and cloudlink never asks for it.
    Ok(Client::new(service, config.default_namespace))
}

/// kube's spans and events, under kube's target, so that log filters such as
/// `kube_client=debug` select them as before.
const TARGET: &str = "kube_client::client::builder";

// kube's `TraceLayer` callbacks, as in `make_generic_builder` (attribute names follow
// OpenTelemetry's semantic conventions).

fn span(req: &Request<Body>) -> Span {
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
}

fn on_request(_: &Request<Body>, _: &Span) {
    tracing::debug!(target: TARGET, "requesting");
}

fn on_response(res: &Response<Incoming>, _: Duration, span: &Span) {
    let status = res.status();
    span.record("http.status_code", status.as_u16());
    if status.is_client_error() || status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

fn on_eos(_: Option<&HeaderMap>, _: Duration, _: &Span) {
    tracing::debug!(target: TARGET, "stream closed");
}

fn on_failure(class: ServerErrorsFailureClass, _: Duration, span: &Span) {
    span.record("otel.status_code", "ERROR");
    match class {
        ServerErrorsFailureClass::StatusCode(status) => {
            span.record("http.status_code", status.as_u16());
            tracing::error!(target: TARGET, "failed with status {}", status);
        }
        ServerErrorsFailureClass::Error(err) => {
            tracing::error!(target: TARGET, "failed with error {}", err);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A client built by `build` asks a local server for `/version`; returns whether the client's
    /// end of that connection has TCP_NODELAY, read from the socket itself.
    async fn nodelay_of(build: fn(Config) -> kube::Result<Client>) -> Option<bool> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let (mut socket, peer) = listener.accept().await.expect("accept");
            let mut request = [0; 4096];
            let _ = socket.read(&mut request).await.expect("request");
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                .await
                .expect("answer");
            (socket, peer.port())
        });
        let client = build(Config::new(url.parse().expect("url"))).expect("client");
        let request = Request::get("/version").body(Vec::new()).expect("request");
        let answer = client.request_text(request).await.expect("answer");
        assert_eq!(answer, "{}");
        // The connection stays open in the client's pool, and the server's socket is kept.
        let (_socket, port) = server.await.expect("server");
        nodelay_of_local_port(port)
    }

    /// TCP_NODELAY of this process's IPv4 TCP socket bound to `port`, if it has one.
    fn nodelay_of_local_port(port: u16) -> Option<bool> {
        let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
        fds.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .find(|&fd| local_port(fd) == Some(port))
            .map(|fd| {
                let mut value: libc::c_int = 0;
                let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                // SAFETY: `value` and `len` are valid for writes and `len` is value's size.
                let ok = unsafe {
                    libc::getsockopt(
                        fd,
                        libc::IPPROTO_TCP,
                        libc::TCP_NODELAY,
                        (&raw mut value).cast(),
                        &mut len,
                    )
                };
                assert_eq!(ok, 0, "getsockopt(TCP_NODELAY)");
                value != 0
            })
    }

    fn local_port(fd: i32) -> Option<u16> {
        // SAFETY: a zeroed sockaddr_in is valid; getsockname writes at most `len` bytes into it
        // and fails (without writing) on descriptors that are not sockets.
        let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let ok = unsafe { libc::getsockname(fd, (&raw mut address).cast(), &mut len) };
        (ok == 0 && i32::from(address.sin_family) == libc::AF_INET)
            .then(|| u16::from_be(address.sin_port))
    }

    #[tokio::test]
    async fn the_client_sends_without_waiting_for_acks() {
        assert_eq!(nodelay_of(from_config).await, Some(true));
    }

    /// Why this module exists. When kube sets TCP_NODELAY itself (kube-rs/kube#2056), this fails:
    /// then `from_config` can give way to `Client::try_from`.
    #[tokio::test]
    async fn kube_client_leaves_nagle_on() {
        assert_eq!(nodelay_of(Client::try_from).await, Some(false));
    }
}
