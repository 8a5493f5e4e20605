//! Starts the cloud emulator in-process, on a thread and runtime of its own, and drives its
//! admin API.
//!
//! ```ignore
//! let emulator = Emulator::start(&["--server-build-delay", "200ms"]);
//! let token = emulator.token(&emulator::ADMIN).await;
//! emulator.set_fault("ecl.tcr.create", json!({"commit_then_fail": "error", "times": 1})).await;
//! assert_eq!(emulator.count("ecl.tcr.create", "500").await, 1);
//! ```
//! Its own runtime keeps it serving whatever the test's runtime does (a current-thread test
//! runtime blocked in a poll, or one being shut down); it stops when the `Emulator` is dropped.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

pub use cloudlink_emulator::accounts::{ADMIN, APPCRED_ID, APPCRED_SECRET, Account, DEMO, OWNER};

/// How long the emulator may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(15);

pub struct Emulator {
    url: String,
    /// Dropping it stops the emulator's runtime, and with it every connection.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    http: reqwest::Client,
}

impl Emulator {
    /// Starts the emulator with these command-line flags on a free loopback port.
    pub fn start(args: &[&str]) -> Emulator {
        Emulator::try_start(args)
            .unwrap_or_else(|e| panic!("cloudlink-emulator {args:?} did not start: {e}"))
    }

    /// As [`Emulator::start`], or the emulator's own error (bad flags, a bad identity file).
    pub fn try_start(args: &[&str]) -> Result<Emulator, String> {
        let args = cloudlink_emulator::Args::try_parse_from(
            std::iter::once("cloudlink-emulator").chain(args.iter().copied()),
        )
        .map_err(|e| e.to_string())?;
        let (ready, bound) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cloudlink-emulator".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("cloudlink-emulator")
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                runtime.block_on(async move {
                    match cloudlink_emulator::bind(args).await {
                        Ok(emulator) => {
                            let _ = ready.send(Ok(emulator.url().to_owned()));
                            tokio::select! {
                                () = emulator.serve() => {}
                                _ = stopped => {}
                            }
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| e.to_string())?;
        let url = bound
            .recv_timeout(START_DEADLINE)
            .map_err(|_| format!("not listening within {START_DEADLINE:?}"))??;
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The emulator (hyper) closes a connection idle for 30 s; a request sent on one just as it
        // closes fails. Long scenarios leave the admin client idle that long, so it drops idle
        // connections well before.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("reqwest client");
        Ok(Emulator {
            url,
            stop: Some(stop),
            thread: Some(thread),
            http,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The Keystone v3 URL (`OS_AUTH_URL`, clouds.yaml `auth_url`).
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.url)
    }

    /// The compute endpoint as the catalog gives it (with the project id).
    pub fn compute_url(&self, project_id: &str) -> String {
        format!("{}/compute/v2.1/{project_id}", self.url)
    }

    pub fn provider_connectivity_url(&self) -> String {
        format!("{}/provider-connectivity", self.url)
    }

    /// The SSS v1 endpoint (catalog type `sss`).
    pub fn sss_url(&self) -> String {
        format!("{}/sss/api/v1.0", self.url)
    }

    /// A clouds.yaml with one cloud named `emulator` for a password account.
    pub fn clouds_yaml(&self, account: &Account) -> String {
        format!(
            "clouds:\n  emulator:\n    auth:\n      auth_url: '{}'\n      username: '{}'\n      password: '{}'\n      \
             project_id: '{}'\n      user_domain_id: default\n      project_domain_id: default\n    region_name: RegionOne\n",
            self.auth_url(),
            account.user,
            account.password,
            account.project_id
        )
    }

    /// A clouds.yaml with one cloud named `emulator` for ADMIN's application credential.
    pub fn clouds_yaml_appcred(&self) -> String {
        format!(
            "clouds:\n  emulator:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: '{}'\n      \
             application_credential_id: '{APPCRED_ID}'\n      application_credential_secret: '{APPCRED_SECRET}'\n    \
             region_name: RegionOne\n",
            self.auth_url()
        )
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A project-scoped token for a built-in account.
    pub async fn token(&self, account: &Account) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": account.user, "domain": {"id": "default"}, "password": account.password}}},
            "scope": {"project": {"id": account.project_id}},
        }});
        let response = self
            .http
            .post(format!("{}/v3/auth/tokens?nocatalog", self.url))
            .json(&body)
            .send()
            .await
            .expect("token request");
        assert_eq!(
            response.status().as_u16(),
            201,
            "token for {}",
            account.user
        );
        response.headers()["x-subject-token"]
            .to_str()
            .expect("token header")
            .to_owned()
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/_admin{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("admin {method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Calls the admin API and expects `expected`; returns the body.
    async fn admin_expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let (status, body) = self.admin(method.clone(), path, body).await;
        assert_eq!(status, expected, "admin {method} {path}: {body}");
        body
    }

    /// Everything the emulator holds.
    pub async fn state(&self) -> Value {
        self.admin_expect(reqwest::Method::GET, "/state", None, 200)
            .await
    }

    /// `{"route": {"200": n, "reset": n}}`.
    pub async fn counters(&self) -> Value {
        self.admin_expect(reqwest::Method::GET, "/counters", None, 200)
            .await
    }

    /// Requests seen on `route` with `outcome` (a status code like `"201"`, or `"reset"`).
    pub async fn count(&self, route: &str, outcome: &str) -> u64 {
        self.counters().await[route][outcome].as_u64().unwrap_or(0)
    }

    /// Requests seen on `route`, whatever the outcome.
    pub async fn total(&self, route: &str) -> u64 {
        self.counters().await[route]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }

    /// Sets a fault (see the emulator's `faults.rs` for the spec) on a route name or `family.*`.
    pub async fn set_fault(&self, pattern: &str, spec: Value) {
        self.admin_expect(
            reqwest::Method::PUT,
            &format!("/faults/{pattern}"),
            Some(spec),
            204,
        )
        .await;
    }

    pub async fn clear_faults(&self) {
        self.admin_expect(reqwest::Method::DELETE, "/faults", None, 204)
            .await;
    }

    pub async fn set_nova_release(&self, release: &str) {
        self.admin_expect(
            reqwest::Method::PUT,
            "/nova-release",
            Some(json!({"release": release})),
            204,
        )
        .await;
    }

    /// Approves a TCR's approval request as the network owner.
    pub async fn approve(&self, tcr_id: &str) {
        self.admin_expect(
            reqwest::Method::POST,
            &format!("/tenant_connection_requests/{tcr_id}/approve"),
            None,
            204,
        )
        .await;
    }

    /// Denies a TCR's approval request as the network owner.
    pub async fn deny(&self, tcr_id: &str) {
        self.admin_expect(
            reqwest::Method::POST,
            &format!("/tenant_connection_requests/{tcr_id}/deny"),
            None,
            204,
        )
        .await;
    }

    /// Deletes a TCR out of band (as if someone removed it in the portal), with its tenant
    /// connections.
    pub async fn delete_tcr(&self, tcr_id: &str) {
        self.admin_expect(
            reqwest::Method::DELETE,
            &format!("/tenant_connection_requests/{tcr_id}"),
            None,
            204,
        )
        .await;
    }

    /// Deletes a tenant connection out of band, at once.
    pub async fn delete_tenant_connection(&self, tc_id: &str) {
        self.admin_expect(
            reqwest::Method::DELETE,
            &format!("/tenant_connections/{tc_id}"),
            None,
            204,
        )
        .await;
    }

    /// Deletes a server out of band, at once.
    pub async fn delete_server(&self, server_id: &str) {
        self.admin_expect(
            reqwest::Method::DELETE,
            &format!("/servers/{server_id}"),
            None,
            204,
        )
        .await;
    }

    /// Makes every token issued so far invalid (clients must authenticate again).
    pub async fn revoke_tokens(&self) {
        self.admin_expect(reqwest::Method::DELETE, "/tokens", None, 204)
            .await;
    }

    /// Resources, counters, faults and Nova release back to how the emulator started.
    pub async fn reset(&self) {
        self.admin_expect(reqwest::Method::POST, "/reset", None, 204)
            .await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
