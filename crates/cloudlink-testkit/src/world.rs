//! The real world the cloud side is proven against: a real Keystone (`hack/keystone.sh`) and the
//! real Python clients (`hack/python-clients.sh`). `hack/test.sh` starts them and exports
//! `CLOUDLINK_TEST_KEYSTONE_*`, `CLOUDLINK_TEST_NOVA` and `CLOUDLINK_TEST_ECL`; a test that needs one
//! of them and finds it unset fails with a message naming `hack/test.sh`.
//!
//! Catalog entries pointing at an emulator: the emulator's port is only known once a test starts
//! it, so the test registers endpoints itself ([`RealKeystone::register_catalog`]) in a region of
//! its own, which the `CatalogRegion` guard deletes again. The services (compute,
//! provider-connectivity, sss, sssv2) already exist, made by `hack/keystone.sh`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn var(name: &str, what: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run the integration tests with `hack/test.sh`, which starts {what} and exports \
             its settings (or `hack/test.sh --test <file>` for one file)"
        ),
    }
}

fn keystone_var(suffix: &str) -> String {
    var(
        &format!("CLOUDLINK_TEST_KEYSTONE_{suffix}"),
        "a real Keystone (hack/keystone.sh)",
    )
}

/// A Keystone user with a role on one project (all in the `default` domain).
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub user_id: String,
    pub password: String,
    pub project: String,
    pub project_id: String,
}

/// An application credential (unrestricted id + secret; the project is fixed by the credential).
#[derive(Clone, Debug)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub secret: String,
}

/// The real Keystone started by `hack/keystone.sh up` for this test run.
#[derive(Clone, Debug)]
pub struct RealKeystone {
    /// `http://127.0.0.1:PORT/v3`
    pub url: String,
    pub region: String,
    pub domain: String,
    /// admin user on the admin project (roles admin, manager, member, reader)
    pub admin: Account,
    /// the second user and project (role member)
    pub demo: Account,
    /// the emulator's service user (role service on project `service`): may validate any token
    pub service: Account,
    /// demo's application credential (project demo, role member)
    pub appcred: AppCredential,
    /// admin's application credential (project admin, role admin)
    pub admin_appcred: AppCredential,
    /// service ids by type: compute, provider-connectivity, sss, sssv2
    pub service_ids: Vec<(String, String)>,
}

/// The real Keystone of this test run, from `CLOUDLINK_TEST_KEYSTONE_*`.
pub fn keystone() -> RealKeystone {
    let account = |prefix: &str| Account {
        user: keystone_var(&format!("{prefix}_USER")),
        user_id: keystone_var(&format!("{prefix}_USER_ID")),
        password: keystone_var(&format!("{prefix}_PASSWORD")),
        project: keystone_var(&format!("{prefix}_PROJECT")),
        project_id: keystone_var(&format!("{prefix}_PROJECT_ID")),
    };
    RealKeystone {
        url: keystone_var("URL"),
        region: keystone_var("REGION"),
        domain: keystone_var("DOMAIN"),
        admin: account("ADMIN"),
        demo: account("DEMO"),
        service: account("SERVICE"),
        appcred: AppCredential {
            id: keystone_var("APPCRED_ID"),
            name: keystone_var("APPCRED_NAME"),
            secret: keystone_var("APPCRED_SECRET"),
        },
        admin_appcred: AppCredential {
            id: keystone_var("ADMIN_APPCRED_ID"),
            name: keystone_var("ADMIN_APPCRED_NAME"),
            secret: keystone_var("ADMIN_APPCRED_SECRET"),
        },
        service_ids: [
            ("compute", "COMPUTE"),
            ("provider-connectivity", "PROVIDER_CONNECTIVITY"),
            ("sss", "SSS"),
            ("sssv2", "SSSV2"),
        ]
        .iter()
        .map(|(ty, key)| (ty.to_string(), keystone_var(&format!("{key}_SERVICE_ID"))))
        .collect(),
    }
}

/// The `nova` wrapper (python-novaclient 9.1.3) from `hack/python-clients.sh`.
pub fn nova_cli() -> PathBuf {
    PathBuf::from(var(
        "CLOUDLINK_TEST_NOVA",
        "the real Python clients (hack/python-clients.sh)",
    ))
}

/// The `ecl` wrapper (eclcli 4.8.0 + eclsdk 1.10.0) from `hack/python-clients.sh`.
pub fn ecl_cli() -> PathBuf {
    PathBuf::from(var(
        "CLOUDLINK_TEST_ECL",
        "the real Python clients (hack/python-clients.sh)",
    ))
}

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

async fn send(request: reqwest::RequestBuilder) -> Reply {
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

impl RealKeystone {
    /// POST /v3/auth/tokens with a password, scoped to the account's project; the raw reply.
    pub async fn password_auth(&self, account: &Account) -> Reply {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": account.user, "domain": {"id": self.domain}, "password": account.password}}},
            "scope": {"project": {"id": account.project_id}}}});
        send(http().post(format!("{}/auth/tokens", self.url)).json(&body)).await
    }

    /// A token for `account`, by password (Keystone answers 201 with `X-Subject-Token`).
    pub async fn token(&self, account: &Account) -> String {
        let reply = self.password_auth(account).await;
        assert_eq!(
            reply.status, 201,
            "password auth for {} failed: {}",
            account.user, reply.body
        );
        reply
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// A token from an application credential.
    pub async fn appcred_token(&self, credential: &AppCredential) -> String {
        let body = json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": credential.id, "secret": credential.secret}}}});
        let reply = send(http().post(format!("{}/auth/tokens", self.url)).json(&body)).await;
        assert_eq!(
            reply.status, 201,
            "application credential auth failed: {}",
            reply.body
        );
        reply
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// Revokes `token` (DELETE /v3/auth/tokens, authorised by an admin token).
    pub async fn revoke(&self, token: &str) {
        let admin = self.token(&self.admin.clone()).await;
        let reply = send(
            http()
                .delete(format!("{}/auth/tokens", self.url))
                .header("X-Auth-Token", admin)
                .header("X-Subject-Token", token),
        )
        .await;
        assert_eq!(reply.status, 204, "token revocation failed: {}", reply.body);
    }

    /// GET /v3/auth/tokens for `token`, as the service user: what a service sees when validating it.
    pub async fn validate(&self, token: &str) -> Reply {
        let service = self.token(&self.service.clone()).await;
        send(
            http()
                .get(format!("{}/auth/tokens?nocatalog", self.url))
                .header("X-Auth-Token", service)
                .header("X-Subject-Token", token),
        )
        .await
    }

    /// What Keystone itself answers to a request made with an unusable `token`: its 401.
    pub async fn unauthorized_reply(&self, token: &str) -> Reply {
        send(
            http()
                .get(format!("{}/auth/projects", self.url))
                .header("X-Auth-Token", token),
        )
        .await
    }

    /// A clouds.yaml with one cloud, `real`: `account` by password (user and project by name, the
    /// domains by id), endpoints of `region`.
    pub fn clouds_yaml_password(&self, account: &Account, region: &str) -> String {
        format!(
            "clouds:\n  real:\n    auth:\n      auth_url: '{}'\n      username: '{}'\n      password: '{}'\n      \
             project_name: '{}'\n      user_domain_id: '{}'\n      project_domain_id: '{}'\n    region_name: '{region}'\n    \
             interface: public\n    identity_api_version: 3\n",
            self.url, account.user, account.password, account.project, self.domain, self.domain
        )
    }

    /// A clouds.yaml with one cloud, `real`: an application credential, endpoints of `region`.
    pub fn clouds_yaml_appcred(&self, credential: &AppCredential, region: &str) -> String {
        format!(
            "clouds:\n  real:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: '{}'\n      \
             application_credential_id: '{}'\n      application_credential_secret: '{}'\n    region_name: '{region}'\n",
            self.url, credential.id, credential.secret
        )
    }

    fn service_id(&self, service_type: &str) -> &str {
        &self
            .service_ids
            .iter()
            .find(|(ty, _)| ty == service_type)
            .unwrap_or_else(|| panic!("hack/keystone.sh made no {service_type} service"))
            .1
    }

    /// Registers public endpoints for the given `(service type, url)` pairs in a new region of
    /// this test's own, so that tests running side by side never see each other's emulators.
    /// The guard deletes the endpoints and the region when dropped.
    pub async fn register_catalog(&self, endpoints: &[(&str, String)]) -> CatalogRegion {
        let admin = self.token(&self.admin.clone()).await;
        let region = format!("cltest-{:08x}", rand::random::<u32>());
        let reply = send(
            http()
                .post(format!("{}/regions", self.url))
                .header("X-Auth-Token", &admin)
                .json(&json!({"region": {"id": region, "description": "cloudlink test"}})),
        )
        .await;
        assert_eq!(
            reply.status, 201,
            "creating region {region}: {}",
            reply.body
        );
        let mut endpoint_ids = Vec::new();
        for (service_type, url) in endpoints {
            let body = json!({"endpoint": {"service_id": self.service_id(service_type), "interface": "public",
                "region_id": region, "url": url, "enabled": true}});
            let reply = send(
                http()
                    .post(format!("{}/endpoints", self.url))
                    .header("X-Auth-Token", &admin)
                    .json(&body),
            )
            .await;
            assert_eq!(
                reply.status, 201,
                "creating the {service_type} endpoint: {}",
                reply.body
            );
            endpoint_ids.push(
                reply.json()["endpoint"]["id"]
                    .as_str()
                    .expect("endpoint id")
                    .to_string(),
            );
        }
        CatalogRegion {
            keystone: self.clone(),
            region,
            endpoint_ids,
        }
    }
}

/// The emulator in `--keystone-url` mode: no identity of its own, every token is validated
/// against the real Keystone with the service user `hack/keystone.sh` made.
pub fn emulator_on(keystone: &RealKeystone, extra: &[&str]) -> super::emulator::Emulator {
    let mut args = vec![
        "--keystone-url",
        keystone.url.as_str(),
        "--keystone-service-user",
        keystone.service.user.as_str(),
        "--keystone-service-project",
        keystone.service.project.as_str(),
        "--keystone-service-password",
        keystone.service.password.as_str(),
    ];
    args.extend_from_slice(extra);
    super::emulator::Emulator::start(&args)
}

impl RealKeystone {
    /// Registers `emulator`'s services (compute, provider-connectivity, sss, sssv2) in a region of
    /// this test's own, with the URLs the emulator's built-in catalog uses.
    pub async fn register_emulator(&self, emulator: &super::emulator::Emulator) -> CatalogRegion {
        let base = emulator.url();
        self.register_catalog(&[
            ("compute", format!("{base}/compute/v2.1/%(tenant_id)s")),
            (
                "provider-connectivity",
                emulator.provider_connectivity_url(),
            ),
            ("sss", emulator.sss_url()),
            ("sssv2", format!("{base}/sss/api/v2")),
        ])
        .await
    }
}

/// Endpoints registered for one test in a region of its own; deleted on drop.
pub struct CatalogRegion {
    keystone: RealKeystone,
    /// the region id to select in the catalog (`OS_REGION_NAME`, clouds.yaml `region_name`)
    pub region: String,
    endpoint_ids: Vec<String>,
}

impl Drop for CatalogRegion {
    fn drop(&mut self) {
        let mut paths: Vec<String> = self
            .endpoint_ids
            .iter()
            .map(|id| format!("/endpoints/{id}"))
            .collect();
        paths.push(format!("/regions/{}", self.region));
        delete_all(&self.keystone, paths);
    }
}

/// A project of one test's own whose token catalog holds only that test's endpoints (Keystone's
/// endpoint filter: a project with endpoint associations sees only those). For clients that
/// cannot choose a region — eclcli/eclsdk take the first provider-connectivity endpoint — while
/// other tests register theirs beside it. Deleted on drop.
pub struct IsolatedProject {
    keystone: RealKeystone,
    pub id: String,
    pub name: String,
}

impl RealKeystone {
    /// Creates the project, gives `member` the member role on it, and associates the endpoints
    /// of `catalog` with it.
    pub async fn isolated_project(
        &self,
        catalog: &CatalogRegion,
        member: &Account,
    ) -> IsolatedProject {
        let admin = self.token(&self.admin.clone()).await;
        let name = format!("cltest-{:08x}", rand::random::<u32>());
        let reply = send(http().post(format!("{}/projects", self.url)).header("X-Auth-Token", &admin).json(
            &json!({"project": {"name": name, "domain_id": self.domain, "description": "cloudlink test (isolated catalog)"}}),
        ))
        .await;
        assert_eq!(reply.status, 201, "creating project {name}: {}", reply.body);
        let id = reply.json()["project"]["id"]
            .as_str()
            .expect("project id")
            .to_string();
        let project = IsolatedProject {
            keystone: self.clone(),
            id: id.clone(),
            name,
        };
        let roles = send(
            http()
                .get(format!("{}/roles?name=member", self.url))
                .header("X-Auth-Token", &admin),
        )
        .await;
        let role = roles.json()["roles"][0]["id"]
            .as_str()
            .expect("the member role")
            .to_string();
        let reply = send(
            http()
                .put(format!(
                    "{}/projects/{id}/users/{}/roles/{role}",
                    self.url, member.user_id
                ))
                .header("X-Auth-Token", &admin),
        )
        .await;
        assert_eq!(reply.status, 204, "granting member on {id}: {}", reply.body);
        for endpoint in &catalog.endpoint_ids {
            let reply = send(
                http()
                    .put(format!(
                        "{}/OS-EP-FILTER/projects/{id}/endpoints/{endpoint}",
                        self.url
                    ))
                    .header("X-Auth-Token", &admin),
            )
            .await;
            assert_eq!(
                reply.status, 204,
                "associating endpoint {endpoint} with {id}: {}",
                reply.body
            );
        }
        project
    }
}

impl Drop for IsolatedProject {
    fn drop(&mut self) {
        // role assignments and endpoint associations go with the project
        delete_all(&self.keystone, vec![format!("/projects/{}", self.id)]);
    }
}

/// DELETEs `paths` (relative to the Keystone URL) as admin, in order, from Drop: Drop cannot
/// await and may run inside a runtime, so this runs on a thread of its own.
fn delete_all(keystone: &RealKeystone, paths: Vec<String>) {
    let keystone = keystone.clone();
    let cleanup = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let admin = keystone.token(&keystone.admin.clone()).await;
            for path in paths {
                // a few tries: a busy SQLite may answer 500 "database is locked"
                let mut last = String::new();
                for _ in 0..5 {
                    match http()
                        .delete(format!("{}{path}", keystone.url))
                        .header("X-Auth-Token", &admin)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => {
                            last.clear();
                            break;
                        }
                        Ok(r) => last = format!("HTTP {}", r.status()),
                        Err(e) => last = e.to_string(),
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                if !last.is_empty() {
                    eprintln!("warning: could not delete {path} from the test Keystone: {last}");
                }
            }
        });
    });
    let _ = cleanup.join();
}

/// What a CLI run printed.
#[derive(Debug)]
pub struct CliOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a real client with exactly the `OS_*` environment given (any `OS_*` of the caller's shell
/// is removed), no stdin, and a deadline: a client still running then is killed and the test fails.
pub async fn run_cli(
    program: &std::path::Path,
    args: &[&str],
    env: &[(&str, String)],
    deadline: Duration,
) -> CliOutput {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("OS_") {
            command.env_remove(key);
        }
    }
    // the clients write their config and caches under HOME; keep them out of the developer's
    let home = std::env::temp_dir().join("cloudlink-test-client-home");
    std::fs::create_dir_all(&home).expect("client HOME");
    command.env("HOME", &home);
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let output = match tokio::time::timeout(deadline, child.wait_with_output()).await {
        Ok(output) => output.expect("client output"),
        Err(_) => panic!(
            "{} {} still running after {deadline:?}: killed",
            program.display(),
            args.join(" ")
        ),
    };
    let out = CliOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!(
        "$ {} {}  ({:.1}s)\n{out}",
        program.file_name().unwrap_or_default().to_string_lossy(),
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    out
}

/// The rows of a PrettyTable (the real clients' table output) as cells, header row first.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// A table as maps from column header to cell (list output).
pub fn table_records(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let rows = table_rows(text);
    let Some((header, body)) = rows.split_first() else {
        return Vec::new();
    };
    body.iter()
        .map(|row| header.iter().cloned().zip(row.iter().cloned()).collect())
        .collect()
}

/// A `Field | Value` table (show output) as a map.
pub fn field_values(text: &str) -> std::collections::BTreeMap<String, String> {
    table_rows(text)
        .into_iter()
        .skip(1)
        .filter(|row| row.len() == 2)
        .map(|mut row| {
            let value = row.pop().unwrap();
            (row.pop().unwrap(), value)
        })
        .collect()
}
