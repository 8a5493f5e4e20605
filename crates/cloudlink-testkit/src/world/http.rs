//! The plain HTTP client tests set up the world with, and what a call answered.

use std::time::Duration;

use serde_json::Value;

/// A plain HTTP client for test set-up against loopback servers (no TLS involved).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// What an HTTP call answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(super) async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request
        .send()
        .await
        .expect("HTTP request to a loopback server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("HTTP body");
    Reply {
        status,
        headers,
        body,
    }
}
