//! `spec.export` against the real API server and the emulator: the ConfigMap a workload reads.

use cloudlink_testkit as support;

use serde_json::json;
use support::cluster::kubectl_ok;
use support::emulator::eventually;
use support::scenario::{DEADLINE, World, cloudpipe, request};

#[tokio::test]
async fn a_cloudpipes_endpoint_is_published_kept_up_to_date_and_goes_with_the_object() {
    let w = World::start("export", &[], &[]);
    let mut vpn = cloudpipe(
        "vpn",
        json!({"vpn": {"publicIp": "203.0.113.10", "publicPort": 1194}}),
    );
    vpn["spec"]["export"] = json!({"configMapName": "vpn-endpoint"});
    w.apply(&vpn);
    let object = w
        .condition("cloudpipe", "vpn", "Exported", "True", None)
        .await;

    let data = eventually(DEADLINE, "the endpoint published", || async {
        let map = w.get("configmap", "vpn-endpoint")?;
        (map["data"]["serverStatus"] == "ACTIVE").then_some(map["data"].clone())
    })
    .await;
    assert_eq!(data["publicIp"], "203.0.113.10");
    assert_eq!(data["publicPort"], "1194");
    assert_eq!(data["instanceId"], object["status"]["id"]);
    assert!(data["internalIp"].is_string(), "{data}");
    let map = w.get("configmap", "vpn-endpoint").unwrap();
    let owner = &map["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["uid"], &owner["controller"]),
        (
            &json!("Cloudpipe"),
            &object["metadata"]["uid"],
            &json!(true)
        )
    );

    // The cloud changes (configure-project): the ConfigMap follows.
    w.patch(
        "cloudpipe",
        "vpn",
        &json!({"spec": {"resource": {"vpn": {"publicIp": "203.0.113.20"}}}}),
    );
    eventually(DEADLINE, "the new endpoint published", || async {
        let map = w.get("configmap", "vpn-endpoint")?;
        (map["data"]["publicIp"] == "203.0.113.20").then_some(())
    })
    .await;

    // Deleted with the object, by Kubernetes' garbage collector.
    w.delete("cloudpipe", "vpn");
    w.gone("cloudpipe", "vpn").await;
    w.gone("configmap", "vpn-endpoint").await;
}

#[tokio::test]
async fn a_config_map_that_is_not_cloudlinks_is_never_taken_over() {
    let w = World::start("export-foreign", &[], &[]);
    kubectl_ok(
        &[
            "create",
            "configmap",
            "-n",
            &w.ns.name,
            "settings",
            "--from-literal=owner=someone-else",
        ],
        None,
    );
    let mut req = request("req", json!({}));
    req["spec"]["export"] = json!({"configMapName": "settings"});
    w.apply(&req);

    let object = w
        .condition("tcr", "req", "Exported", "False", Some("Conflict"))
        .await;
    let message = object["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Exported")
        .unwrap()["message"]
        .clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("spec.export.configMapName"),
        "{message}"
    );
    w.condition("tcr", "req", "Ready", "True", None).await;
    w.event("ExportRefused").await;
    let map = w.get("configmap", "settings").unwrap();
    assert_eq!(map["data"], json!({"owner": "someone-else"}));
    assert!(map["metadata"]["ownerReferences"].is_null());

    // Pointed at a free name, the request publishes there.
    w.patch(
        "tcr",
        "req",
        &json!({"spec": {"export": {"configMapName": "req-out"}}}),
    );
    w.condition("tcr", "req", "Exported", "True", None).await;
    let map = w.get("configmap", "req-out").unwrap();
    assert_eq!(
        map["data"]["id"],
        w.get("tcr", "req").unwrap()["status"]["id"]
    );
    assert_eq!(map["data"]["status"], "registered");
}
