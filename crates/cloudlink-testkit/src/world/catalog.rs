//! A test's own corner of the real Keystone: endpoints in a region of its own, a project whose
//! catalog holds only those, both deleted on drop; and the emulator validating tokens against it.

use std::time::Duration;

use serde_json::json;

use super::http::{http, send};
use super::keystone::{Account, RealKeystone};
use crate::emulator::Emulator;

impl RealKeystone {
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
pub fn emulator_on(keystone: &RealKeystone, extra: &[&str]) -> Emulator {
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
    Emulator::start(&args)
}

impl RealKeystone {
    /// Registers `emulator`'s services (compute, provider-connectivity, sss, sssv2) in a region of
    /// this test's own, with the URLs the emulator's built-in catalog uses.
    pub async fn register_emulator(&self, emulator: &Emulator) -> CatalogRegion {
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
