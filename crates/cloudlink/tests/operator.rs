//! The operator against a real API server and the cloud emulator: what a user sees in status,
//! conditions and Events, and what the cloud holds — exactly one resource per object, whatever fails.
//! Each test has its own namespace, emulator and operator process.

use cloudlink_testkit as support;

use std::time::Duration;

use serde_json::json;
use support::cluster::kubectl_ok;
use support::emulator::{ADMIN, eventually};
use support::scenario::{
    DEADLINE, World, cloudpipe, condition_of, request, request_made_elsewhere,
};

#[tokio::test]
async fn a_cloudpipe_becomes_ready_and_its_deletion_deletes_the_server() {
    let w = World::start("cpipe", &[], &[]);
    w.apply(&cloudpipe(
        "vpn",
        json!({"vpn": {"publicIp": "203.0.113.10", "publicPort": 1194}}),
    ));
    let object = w
        .condition("cloudpipe", "vpn", "Ready", "True", Some("Success"))
        .await;
    let servers = w.cloud_list("servers").await;
    assert_eq!(servers.len(), 1, "exactly one VPN server: {servers:?}");
    let status = &object["status"];
    assert_eq!(status["id"], servers[0]["id"]);
    assert_eq!(status["resource"]["serverStatus"], "ACTIVE");
    assert_eq!(status["resource"]["projectId"], ADMIN.project_id);
    assert_eq!(
        (
            status["resource"]["publicIp"].as_str(),
            status["resource"]["publicPort"].as_i64()
        ),
        (Some("203.0.113.10"), Some(1194))
    );
    assert_eq!(
        status["observedGeneration"],
        object["metadata"]["generation"]
    );
    assert_eq!(w.cloud.total("nova.cloudpipe.create").await, 1);
    let secret = w.get("secret", "cloud").unwrap();
    assert_eq!(
        secret["metadata"]["finalizers"],
        json!(["cloudlink.dev/credentials-in-use"]),
        "the Secret is guarded while used"
    );
    w.event("Created").await;

    w.delete("cloudpipe", "vpn");
    w.gone("cloudpipe", "vpn").await;
    assert!(
        w.cloud_list("servers").await.is_empty(),
        "the server is deleted with the object"
    );
    let secret = w.get("secret", "cloud").unwrap();
    assert!(
        secret["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "the Secret's guard is lifted: {secret}"
    );
}

#[tokio::test]
async fn a_request_waits_for_approval_is_approved_and_updates_reach_the_cloud() {
    let w = World::start("tcr", &[], &[]);
    w.apply(&request("to-shared", json!({})));
    let object = w
        .condition(
            "tcr",
            "to-shared",
            "Approved",
            "False",
            Some("AwaitingApproval"),
        )
        .await;
    let object = if condition_of(&object, "Ready").is_some_and(|c| c["status"] == "True") {
        object
    } else {
        w.condition("tcr", "to-shared", "Ready", "True", Some("Success"))
            .await
    };
    let id = object["status"]["id"]
        .as_str()
        .expect("status.id")
        .to_owned();
    let approval = object["status"]["resource"]["approvalRequestId"]
        .as_str()
        .expect("approvalRequestId")
        .to_owned();
    assert_eq!(object["status"]["resource"]["status"], "registered");
    let approved = condition_of(&object, "Approved").unwrap();
    assert!(
        approved["message"].as_str().unwrap().contains(&approval),
        "the condition names the approval request: {approved}"
    );

    w.cloud.approve(&id).await;
    let object = w
        .condition("tcr", "to-shared", "Approved", "True", Some("Success"))
        .await;
    assert_eq!(object["status"]["resource"]["status"], "approved");

    w.patch(
        "tcr",
        "to-shared",
        &json!({"spec": {"resource": {"name": "renamed", "tags": {"team": "b", "cost": "x1"}}}}),
    );
    let in_cloud = eventually(DEADLINE, "the new name and tags in the cloud", || async {
        let requests = w.cloud_list("tenant_connection_requests").await;
        requests
            .into_iter()
            .find(|r| r["name"] == "renamed" && r["tags"]["team"] == "b")
    })
    .await;
    assert_eq!(in_cloud["tags"]["cost"], "x1");
    assert!(
        in_cloud["tags"]["cloudlink.dev/uid"].is_string(),
        "cloudlink's own tag is kept: {in_cloud}"
    );
    let object = eventually(DEADLINE, "status to show the new name", || async {
        w.get("tcr", "to-shared")
            .filter(|o| o["status"]["resource"]["name"] == "renamed")
    })
    .await;
    assert_eq!(
        object["status"]["resource"]["tags"],
        json!({"team": "b", "cost": "x1"}),
        "status hides cloudlink's tag"
    );

    w.delete("tcr", "to-shared");
    w.gone("tcr", "to-shared").await;
    assert!(
        w.cloud_list("tenant_connection_requests").await.is_empty(),
        "deleted from the cloud"
    );
    assert_eq!(w.cloud.total("ecl.tcr.create").await, 1);
}

#[tokio::test]
async fn a_denied_request_stalls() {
    let w = World::start("denied", &[], &[]);
    w.apply(&request("asks", json!({})));
    let object = w
        .condition("tcr", "asks", "Approved", "False", Some("AwaitingApproval"))
        .await;
    let id = object["status"]["id"].as_str().unwrap().to_owned();
    w.cloud.deny(&id).await;
    let object = w
        .condition("tcr", "asks", "Stalled", "True", Some("UnrecoverableError"))
        .await;
    assert!(
        condition_of(&object, "Stalled").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("denied")
    );
    assert_eq!(
        condition_of(&object, "Approved").unwrap()["status"],
        "False"
    );
}

#[tokio::test]
async fn detach_leaves_the_cloud_resource() {
    let w = World::start("detach", &[], &[]);
    w.apply(&request("kept", json!({"onDelete": "detach"})));
    w.condition("tcr", "kept", "Ready", "True", None).await;
    w.delete("tcr", "kept");
    w.gone("tcr", "kept").await;
    assert_eq!(
        w.cloud_list("tenant_connection_requests").await.len(),
        1,
        "detach leaves the request in the cloud"
    );
    assert_eq!(w.cloud.total("ecl.tcr.delete").await, 0);
}

#[tokio::test]
async fn import_adopts_an_existing_request_and_manages_it() {
    let w = World::start("import", &[], &[]);
    let id = request_made_elsewhere(&w.cloud, "made-elsewhere").await;
    let mut object = request("adopted", json!({"import": {"id": id}}));
    object["spec"]["resource"]["networkId"] =
        json!(w.cloud_list("tenant_connection_requests").await[0]["network_id"]);
    w.apply(&object);
    let seen = w.condition("tcr", "adopted", "Ready", "True", None).await;
    assert_eq!(seen["status"]["id"], id.as_str());
    let in_cloud = eventually(DEADLINE, "the adopted request renamed", || async {
        w.cloud_list("tenant_connection_requests")
            .await
            .into_iter()
            .find(|r| r["name"] == "adopted")
    })
    .await;
    assert_eq!(in_cloud["id"], id.as_str());
    assert_eq!(
        w.cloud.total("ecl.tcr.create").await,
        1,
        "only the request made elsewhere was created"
    );
    w.event("Adopted").await;
}

#[tokio::test]
async fn unmanaged_observes_and_never_writes() {
    let w = World::start("observe", &[], &[]);
    let id = request_made_elsewhere(&w.cloud, "theirs").await;
    let object = json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest", "metadata": {"name": "watched"},
        "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"}, "managementPolicy": "unmanaged", "import": {"id": id}}});
    w.apply(&object);
    let seen = w.condition("tcr", "watched", "Ready", "True", None).await;
    assert_eq!(seen["status"]["id"], id.as_str());
    assert_eq!(seen["status"]["resource"]["name"], "theirs");
    w.delete("tcr", "watched");
    w.gone("tcr", "watched").await;
    assert_eq!(
        w.cloud_list("tenant_connection_requests").await.len(),
        1,
        "an observed request is never deleted"
    );
    for route in ["ecl.tcr.update", "ecl.tcr.delete"] {
        assert_eq!(
            w.cloud.total(route).await,
            0,
            "cloudlink wrote to an unmanaged resource ({route})"
        );
    }
    assert_eq!(
        w.cloud.total("ecl.tcr.create").await,
        1,
        "only the request made elsewhere"
    );
}

#[tokio::test]
async fn a_missing_secret_stalls_until_it_is_created() {
    let w = World::start("nosecret", &[], &[]);
    let mut object = cloudpipe("waits", json!({}));
    object["spec"]["cloudCredentialsRef"]["secretName"] = json!("later");
    w.apply(&object);
    let stalled = w
        .condition(
            "cloudpipe",
            "waits",
            "Stalled",
            "True",
            Some("InvalidConfiguration"),
        )
        .await;
    let message = condition_of(&stalled, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("later") && message.contains("does not exist"),
        "{message}"
    );
    assert_eq!(condition_of(&stalled, "Ready").unwrap()["status"], "False");
    assert_eq!(
        stalled["status"]["observedGeneration"],
        stalled["metadata"]["generation"]
    );
    w.secret("later", &w.cloud.clouds_yaml(&ADMIN));
    w.condition("cloudpipe", "waits", "Ready", "True", None)
        .await;
}

/// A cloudpipe applied with a Secret whose password is wrong, once it is Stalled.
async fn stalled_by_a_wrong_password(w: &World, name: &str) -> serde_json::Value {
    let wrong = w
        .cloud
        .clouds_yaml(&ADMIN)
        .replace(ADMIN.password, "WrongPassword987");
    w.secret("cloud", &wrong);
    w.apply(&cloudpipe(name, json!({})));
    w.condition(
        "cloudpipe",
        name,
        "Stalled",
        "True",
        Some("InvalidConfiguration"),
    )
    .await
}

#[tokio::test]
async fn a_wrong_password_stalls_with_a_clear_message_and_no_secret_in_it() {
    let w = World::start("badpass", &[], &[]);
    let stalled = stalled_by_a_wrong_password(&w, "denied").await;
    let message = condition_of(&stalled, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("401") && message.contains("credentials"),
        "{message}"
    );
    w.event("InvalidConfiguration").await;
    let everything = format!("{stalled} {} {}", w.events(), w.operator.log());
    assert!(
        !everything.contains("WrongPassword987"),
        "the password leaked: {everything}"
    );
    assert!(w.cloud_list("servers").await.is_empty());
}

#[tokio::test]
async fn a_corrected_secret_is_read_again_at_once() {
    // The engine keeps the Secret it read; the Secret watch must make it read the new content,
    // or this object, stalled and waiting for a change, would stay stalled.
    let w = World::start("fixpass", &[], &[]);
    stalled_by_a_wrong_password(&w, "fixed").await;
    w.secret("cloud", &w.cloud.clouds_yaml(&ADMIN));
    let ready = w
        .condition("cloudpipe", "fixed", "Ready", "True", None)
        .await;
    assert_eq!(w.cloud_list("servers").await.len(), 1);
    assert!(ready["status"]["id"].is_string(), "{ready}");
}

#[tokio::test]
async fn nova_without_cloudpipe_is_api_removed() {
    let w = World::start("pike", &["--nova-release", "pike"], &[]);
    w.apply(&cloudpipe("old", json!({})));
    let stalled = w
        .condition("cloudpipe", "old", "Stalled", "True", Some("APIRemoved"))
        .await;
    let message = condition_of(&stalled, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("410"), "{message}");
}

#[tokio::test]
async fn a_create_that_commits_then_fails_still_makes_exactly_one_resource() {
    let w = World::start("commitfail", &[], &[]);
    w.cloud
        .set_fault(
            "ecl.tcr.create",
            json!({"commit_then_fail": "error", "times": 1}),
        )
        .await;
    w.cloud
        .set_fault(
            "nova.cloudpipe.create",
            json!({"commit_then_fail": "error", "times": 1}),
        )
        .await;
    w.apply(&request("once", json!({})));
    w.apply(&cloudpipe("once", json!({})));
    w.condition("tcr", "once", "Ready", "True", None).await;
    w.condition("cloudpipe", "once", "Ready", "True", None)
        .await;
    assert_eq!(
        w.cloud.count("ecl.tcr.create", "500").await,
        1,
        "the fault fired"
    );
    assert_eq!(
        w.cloud_list("tenant_connection_requests").await.len(),
        1,
        "no duplicate request"
    );
    assert_eq!(
        w.cloud_list("servers").await.len(),
        1,
        "no duplicate server"
    );
    assert_eq!(
        w.cloud.total("ecl.tcr.create").await,
        1,
        "the adoption lookup found it: no second POST"
    );
}

#[tokio::test]
async fn a_repeating_error_is_one_event_that_counts_its_repeats() {
    let w = World::start("series", &[], &[]);
    w.cloud
        .set_fault("ecl.tcr.create", json!({"error_status": 503}))
        .await;
    w.apply(&request("failing", json!({})));
    // Each retry (backing off from 1 s) fails the same way: one Event whose series counts them,
    // not one Event per retry.
    eventually(DEADLINE, "a warning repeated three times", || async {
        let listed = kubectl_ok(
            &[
                "get",
                "events.events.k8s.io",
                "-n",
                &w.ns.name,
                "-o",
                "json",
            ],
            None,
        );
        let events: serde_json::Value = serde_json::from_str(&listed).ok()?;
        let items: Vec<&serde_json::Value> = events["items"]
            .as_array()?
            .iter()
            .filter(|e| e["regarding"]["name"] == "failing" && e["reason"] == "TransientError")
            .collect();
        assert!(items.len() <= 1, "one Event for the repeats: {items:?}");
        let count = items.first()?["series"]["count"].as_u64()?;
        (count >= 3).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_operator_killed_right_after_the_post_makes_exactly_one_resource() {
    let mut w = World::start("sigkill", &[], &[]);
    // The create is committed, but its answer never comes in time.
    w.cloud
        .set_fault(
            "ecl.tcr.create",
            json!({"commit_then_fail": "timeout", "hang_ms": 60000, "times": 1}),
        )
        .await;
    w.apply(&request("survives", json!({})));
    eventually(DEADLINE, "the create to reach the cloud", || async {
        (w.cloud_list("tenant_connection_requests").await.len() == 1).then_some(())
    })
    .await;
    w.operator.restart();
    let object = w.condition("tcr", "survives", "Ready", "True", None).await;
    let requests = w.cloud_list("tenant_connection_requests").await;
    assert_eq!(
        requests.len(),
        1,
        "exactly one request after the crash: {requests:?}"
    );
    assert_eq!(object["status"]["id"], requests[0]["id"]);
}

#[tokio::test]
async fn a_resource_deleted_out_of_band_is_created_again() {
    let w = World::start("recreate", &[], &["--resync", "1s"]);
    w.apply(&cloudpipe("phoenix", json!({})));
    let first = w
        .condition("cloudpipe", "phoenix", "Ready", "True", None)
        .await;
    let old = first["status"]["id"].as_str().unwrap().to_owned();
    w.cloud.delete_server(&old).await;
    let again = eventually(DEADLINE, "a new server", || async {
        w.get("cloudpipe", "phoenix")
            .filter(|o| o["status"]["id"].as_str().is_some_and(|id| id != old))
    })
    .await;
    w.condition("cloudpipe", "phoenix", "Ready", "True", None)
        .await;
    let servers = w.cloud_list("servers").await;
    assert_eq!(servers.len(), 1);
    assert_eq!(again["status"]["id"], servers[0]["id"]);
    w.event("Recreating").await;
}

#[tokio::test]
async fn the_cloud_failing_for_a_while_converges() {
    let w = World::start("flaky", &[], &[]);
    w.cloud
        .set_fault("nova.*", json!({"error_status": 500}))
        .await;
    w.apply(&cloudpipe("patient", json!({})));
    let failing = w
        .condition(
            "cloudpipe",
            "patient",
            "Reconciling",
            "True",
            Some("TransientError"),
        )
        .await;
    assert_eq!(
        condition_of(&failing, "Stalled").unwrap()["status"],
        "False",
        "a transient error does not stall"
    );
    w.cloud.clear_faults().await;
    w.condition("cloudpipe", "patient", "Ready", "True", None)
        .await;
    assert_eq!(w.cloud_list("servers").await.len(), 1);
}

#[tokio::test]
async fn the_steady_state_writes_no_status() {
    let w = World::start("steady", &[], &["--resync", "1s"]);
    w.apply(&cloudpipe("quiet", json!({})));
    w.condition("cloudpipe", "quiet", "Ready", "True", None)
        .await;
    // Let the last writes of the create settle, then watch two resyncs.
    let before = eventually(DEADLINE, "the status to settle", || async {
        let a = w.get("cloudpipe", "quiet")?["metadata"]["resourceVersion"].clone();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let b = w.get("cloudpipe", "quiet")?["metadata"]["resourceVersion"].clone();
        (a == b).then_some(b)
    })
    .await;
    // Resyncs read the servers with one list (batched observation).
    let reads = w.cloud.total("nova.server.list").await;
    eventually(DEADLINE, "two resyncs", || async {
        (w.cloud.total("nova.server.list").await >= reads + 2).then_some(())
    })
    .await;
    let after = w.get("cloudpipe", "quiet").unwrap()["metadata"]["resourceVersion"].clone();
    assert_eq!(
        before, after,
        "a resync that found nothing new wrote status"
    );
}

#[tokio::test]
async fn sigterm_stops_the_operator_cleanly() {
    let mut w = World::start("sigterm", &[], &[]);
    w.apply(&cloudpipe("vpn", json!({})));
    w.condition("cloudpipe", "vpn", "Ready", "True", None).await;
    assert!(
        w.operator.terminate(),
        "cloudlink run exits 0 on SIGTERM:\n{}",
        w.operator.log()
    );
}

#[tokio::test]
async fn a_first_create_is_marked_by_the_finalizer_and_needs_no_lookup() {
    let w = World::start("mark", &[], &[]);
    // Every LIST fails: a lookup before the create would hold the create back. (Once the
    // request exists, its polls read batched LISTs and fail too; the id is recorded before.)
    w.cloud
        .set_fault("ecl.tcr.list", json!({"error_status": 503}))
        .await;
    w.apply(&request("fresh", json!({})));
    let object = eventually(DEADLINE, "fresh to get an id", || async {
        let object = w.get("tcr", "fresh")?;
        object["status"]["id"].is_string().then_some(object)
    })
    .await;
    assert_eq!(
        object["metadata"]["finalizers"],
        json!(["cloudlink.dev/finalizer"]),
        "the create's mark"
    );
    assert_eq!(
        w.cloud.total("ecl.tcr.create").await,
        1,
        "an object that never asked for a create has nothing to look for"
    );
}
