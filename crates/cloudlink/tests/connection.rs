//! The requester's last step against the real API server and the emulator: a `TenantConnection`
//! waits for the owner's approval without writing anything, then attaches the device; deleting it
//! together with its request converges in the right order.

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::emulator::{OWNER, eventually};
use support::scenario::{DEADLINE, World, condition_of, request};

fn connection(name: &str, resource: Value) -> Value {
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnection", "metadata": {"name": name},
           "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"}, "resource": resource}})
}

fn approval(name: &str, request: &str, decision: &str) -> Value {
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApproval", "metadata": {"name": name},
           "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"},
                    "resource": {"requestRef": {"name": request}, "decision": decision}}})
}

fn web_server() -> Value {
    json!({"requestRef": {"name": "to-shared"},
           "device": {"type": "ECL::Compute::Server", "id": "3f1e7a52-8c4d-4b6e-9a0f-2d5c8b7e1a93"},
           "name": "web-1", "tags": {"role": "web"}})
}

#[tokio::test]
async fn a_connection_waits_for_the_approval_then_attaches_and_goes_before_its_request() {
    let w = World::start("connect", &[], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&request("to-shared", json!({})));
    w.apply(&connection("web", web_server()));

    // Before the owner decides: waiting, and nothing written to the cloud.
    let waiting = w
        .condition("tc", "web", "Ready", "False", Some("AwaitingApproval"))
        .await;
    let message = condition_of(&waiting, "Ready").unwrap()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("waiting for the network owner"),
        "{message}"
    );
    assert_eq!(w.cloud.total("ecl.tc.create").await, 0);
    assert!(
        waiting["metadata"]["finalizers"].is_null(),
        "nothing asked of the cloud, nothing to hold the object: {}",
        waiting["metadata"]
    );
    assert!(!w.events().contains("Warning"), "{}", w.events());

    // The owner approves; the connection follows (its next look, or at once when asked).
    w.apply(&approval("accept", "to-shared", "approved"));
    w.condition("tca", "accept", "Ready", "True", None).await;
    w.patch(
        "tc",
        "web",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "approved"}}}),
    );
    let ready = w
        .condition("tc", "web", "Ready", "True", Some("Success"))
        .await;
    let status = &ready["status"];
    let connections = w.cloud_list("tenant_connections").await;
    assert_eq!(connections.len(), 1, "{connections:?}");
    assert_eq!(status["id"], connections[0]["id"]);
    assert_eq!(status["resource"]["status"], "active");
    assert_eq!(status["resource"]["portId"], connections[0]["port_id"]);
    assert_eq!(status["resource"]["tags"], json!({"role": "web"}));
    let request = w.get("tcr", "to-shared").unwrap();
    assert_eq!(
        status["resource"]["tenantConnectionRequestId"],
        request["status"]["id"]
    );
    assert_eq!(w.cloud.total("ecl.tc.create").await, 1);

    // Both deleted at once: the connection goes first, the request waits for it, nothing leaks.
    w.delete("tcr", "to-shared");
    w.delete("tc", "web");
    w.gone("tc", "web").await;
    w.gone("tcr", "to-shared").await;
    assert!(w.cloud_list("tenant_connections").await.is_empty());
    assert!(w.cloud_list("tenant_connection_requests").await.is_empty());
}

#[tokio::test]
async fn a_denied_request_never_gets_a_connection() {
    let w = World::start("connect-denied", &[], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&request("to-shared", json!({})));
    w.apply(&connection("web", web_server()));
    w.condition("tc", "web", "Ready", "False", Some("AwaitingApproval"))
        .await;

    w.apply(&approval("refuse", "to-shared", "denied"));
    w.condition("tca", "refuse", "Ready", "True", None).await;
    w.patch(
        "tc",
        "web",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "denied"}}}),
    );
    let stalled = w.condition("tc", "web", "Stalled", "True", None).await;
    let message = condition_of(&stalled, "Ready").unwrap()["message"].clone();
    assert!(
        message.as_str().unwrap().contains("will never be approved"),
        "{message}"
    );
    assert_eq!(w.cloud.total("ecl.tc.create").await, 0);
    eventually(DEADLINE, "no connection in the cloud", || async {
        w.cloud_list("tenant_connections")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_the_namespace_of_the_whole_workflow_leaves_nothing_in_the_cloud() {
    let w = World::start("connect-ns", &[], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&request("to-shared", json!({})));
    w.apply(&connection("web", web_server()));
    w.apply(&approval("accept", "to-shared", "approved"));
    w.condition("tca", "accept", "Ready", "True", None).await;
    w.patch(
        "tc",
        "web",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "approved"}}}),
    );
    w.condition("tc", "web", "Ready", "True", None).await;
    assert_eq!(w.cloud_list("tenant_connections").await.len(), 1);

    support::cluster::kubectl_ok(&["delete", "namespace", &w.ns.name, "--wait=false"], None);
    eventually(
        std::time::Duration::from_secs(120),
        "the namespace to be gone",
        || async {
            let out =
                support::cluster::kubectl(&["get", "namespace", &w.ns.name, "-o", "name"], None);
            (!out.status.success()).then_some(())
        },
    )
    .await;
    assert!(w.cloud_list("tenant_connections").await.is_empty());
    assert!(w.cloud_list("tenant_connection_requests").await.is_empty());
    // The decision stays: SSS cannot undo it.
    assert!(
        w.cloud.state().await["approval_requests"]
            .to_string()
            .contains("\"approved\"")
    );
}
