//! A plain-HTTP proxy in front of the test control plane that records what passes through it:
//! each request's method, path and `Accept` header, and the bytes of each answer, watch streams
//! included (the audit log records neither the `Accept` header nor a watch's events). An operator
//! started with [`ApiRecorder::kubeconfig`] talks to the API server only through it; the proxy
//! forwards with the admin client.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};

use super::cluster::client;

/// One request and what was answered, as far as it has been read.
#[derive(Clone)]
pub struct Exchange {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub accept: String,
    pub status: u16,
    body: Arc<Mutex<Vec<u8>>>,
}

impl Exchange {
    /// The answer's bytes so far (a watch's stream grows while it is open).
    pub fn body(&self) -> Vec<u8> {
        self.body.lock().unwrap().clone()
    }

    /// Whether the request was a WATCH.
    pub fn is_watch(&self) -> bool {
        self.uri.contains("watch=true") || self.uri.contains("watch=1")
    }

    /// The objects the answer carried: each watch event's object (a line cut short by the end of
    /// the recording is skipped), a list's items, or the object itself.
    pub fn objects(&self) -> Vec<Value> {
        let body = self.body();
        if self.is_watch() {
            return body
                .split(|b| *b == b'\n')
                .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
                .map(|event| event["object"].clone())
                .collect();
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut whole)) => match whole.remove("items") {
                Some(Value::Array(items)) => items,
                _ => vec![Value::Object(whole)],
            },
            _ => Vec::new(),
        }
    }
}

pub struct ApiRecorder {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    kubeconfig: tempfile::NamedTempFile,
    server: tokio::task::JoinHandle<()>,
}

impl ApiRecorder {
    pub async fn start() -> ApiRecorder {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            upstream: client().await,
            exchanges: exchanges.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "recorded", "cluster": {"server": format!("http://{address}")}}],
            "users": [{"name": "anyone", "user": {}}],
            "contexts": [{"name": "recorded", "context": {"cluster": "recorded", "user": "anyone"}}],
            "current-context": "recorded",
        });
        let kubeconfig = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(kubeconfig.path(), config.to_string()).unwrap();
        ApiRecorder {
            exchanges,
            kubeconfig,
            server,
        }
    }

    /// A kubeconfig whose only server is this proxy.
    pub fn kubeconfig(&self) -> &std::path::Path {
        self.kubeconfig.path()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }
}

impl Drop for ApiRecorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    upstream: kube::Client,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let method = parts.method.to_string();
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The recorded bytes are the answer as the client reads it: no compression.
    for name in [header::HOST, header::ACCEPT_ENCODING, header::CONNECTION] {
        parts.headers.remove(name);
    }
    parts.uri = uri.parse().unwrap();
    parts.version = Version::HTTP_11;
    let upstream = axum::http::Request::from_parts(parts, kube::client::Body::from(body.to_vec()));
    let answer = match shared.upstream.send(upstream).await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let (mut parts, body) = answer.into_parts();
    let recorded = Arc::new(Mutex::new(Vec::new()));
    shared.exchanges.lock().unwrap().push(Exchange {
        method,
        uri,
        accept,
        status: parts.status.as_u16(),
        body: recorded.clone(),
    });
    for name in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        parts.headers.remove(name);
    }
    parts.version = Version::HTTP_11;
    let stream = Body::new(body).into_data_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            recorded.lock().unwrap().extend_from_slice(bytes);
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
