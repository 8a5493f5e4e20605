//! A test's whole world for operator scenarios: a namespace with a Secret `cloud` (cloud
//! `emulator`, the emulator's ADMIN account), an emulator, an operator watching that namespace,
//! and helpers that read what a user would read (conditions, status, Events) and what the cloud holds.

use std::time::Duration;

use serde_json::{Value, json};

use super::cluster::{TestNamespace, install_crds, kubectl, kubectl_ok};
use super::emulator::{ADMIN, Emulator, OWNER, eventually};
use super::operator::Operator;

pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct World {
    pub ns: TestNamespace,
    pub cloud: Emulator,
    pub operator: Operator,
}

impl World {
    /// A namespace with a Secret `cloud` (cloud `emulator`, the ADMIN account), an emulator and an operator.
    pub fn start(prefix: &str, emulator_args: &[&str], operator_args: &[&str]) -> World {
        install_crds();
        let ns = TestNamespace::new(prefix);
        let mut args = vec![
            "--server-build-delay",
            "300ms",
            "--tcr-registering-delay",
            "200ms",
            "--tcr-registered-delay",
            "200ms",
        ];
        args.extend_from_slice(emulator_args);
        let cloud = Emulator::start(&args);
        let world = World {
            operator: Operator::start(&ns.name, operator_args),
            ns,
            cloud,
        };
        world.secret("cloud", &world.cloud.clouds_yaml(&ADMIN));
        world
    }

    pub fn secret(&self, name: &str, clouds_yaml: &str) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"clouds.yaml": clouds_yaml}});
        self.apply(&secret);
    }

    pub fn apply(&self, object: &Value) {
        kubectl_ok(
            &["apply", "-n", &self.ns.name, "-f", "-"],
            Some(&object.to_string()),
        );
    }

    pub fn patch(&self, kind: &str, name: &str, patch: &Value) {
        kubectl_ok(
            &[
                "patch",
                "-n",
                &self.ns.name,
                kind,
                name,
                "--type=merge",
                "-p",
                &patch.to_string(),
            ],
            None,
        );
    }

    pub fn get(&self, kind: &str, name: &str) -> Option<Value> {
        let out = kubectl(
            &["get", "-n", &self.ns.name, kind, name, "-o", "json"],
            None,
        );
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("kubectl prints JSON"))
    }

    pub fn delete(&self, kind: &str, name: &str) {
        kubectl_ok(
            &["delete", "-n", &self.ns.name, kind, name, "--wait=false"],
            None,
        );
    }

    /// Waits until condition `type_` of the object has `status` (and `reason`, if given); returns the object.
    pub async fn condition(
        &self,
        kind: &str,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Value {
        let what = format!("{kind}/{name} {type_}={status} {}", reason.unwrap_or(""));
        eventually(DEADLINE, &what, || async {
            let object = self.get(kind, name)?;
            let found = condition_of(&object, type_)?;
            (found["status"] == status && reason.is_none_or(|r| found["reason"] == r))
                .then_some(object)
        })
        .await
    }

    pub async fn gone(&self, kind: &str, name: &str) {
        eventually(
            DEADLINE,
            &format!("{kind}/{name} to be deleted"),
            || async { self.get(kind, name).is_none().then_some(()) },
        )
        .await;
    }

    /// The emulator's tenant connection requests / servers.
    pub async fn cloud_list(&self, what: &str) -> Vec<Value> {
        match &self.cloud.state().await[what] {
            Value::Array(items) => items.clone(),
            Value::Object(map) => map.values().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Waits for an Event with this reason in the namespace (Events are sent beside the
    /// reconcile, so one may land just after the status it goes with).
    pub async fn event(&self, reason: &str) {
        eventually(DEADLINE, &format!("an Event {reason}"), || async {
            self.events()
                .lines()
                .any(|line| line.split_whitespace().next() == Some(reason))
                .then_some(())
        })
        .await;
    }

    pub fn events(&self) -> String {
        kubectl_ok(
            &[
                "get",
                "events.events.k8s.io",
                "-n",
                &self.ns.name,
                "-o",
                "custom-columns=REASON:.reason,NOTE:.note",
            ],
            None,
        )
    }
}

pub fn condition_of<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

pub fn cloudpipe(name: &str, resource: Value) -> Value {
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "Cloudpipe", "metadata": {"name": name},
           "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"}, "resource": resource}})
}

pub fn request(name: &str, extra_spec: Value) -> Value {
    let mut object = json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest", "metadata": {"name": name},
        "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"},
                 "resource": {"tenantIdOther": OWNER.project_id, "networkId": network_id(), "name": name, "tags": {"team": "a"}}}});
    if let Value::Object(extra) = extra_spec {
        for (k, v) in extra {
            object["spec"][k] = v;
        }
    }
    object
}

pub fn network_id() -> String {
    format!(
        "5d2c0e7a-3b41-4f6e-8c9d-{:012x}",
        rand::random::<u64>() & 0xffff_ffff_ffff
    )
}

/// Creates a request in the cloud directly, as someone outside Kubernetes would.
pub async fn request_made_elsewhere(cloud: &Emulator, name: &str) -> String {
    let token = cloud.token(&ADMIN).await;
    let body = json!({"tenant_connection_request": {"tenant_id_other": OWNER.project_id, "network_id": network_id(), "name": name}});
    let response = cloud
        .http()
        .post(format!(
            "{}/v2.0/tenant_connection_requests",
            cloud.provider_connectivity_url()
        ))
        .header("x-auth-token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let created: Value = response.json().await.unwrap();
    created["tenant_connection_request"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
