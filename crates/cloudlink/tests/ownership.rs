//! One cloud resource, one owner: a second managed object naming a resource another object owns
//! is `Stalled` (`Conflict`) naming the owner, never writes to it, and its deletion leaves it
//! alone; the first claimant wins whatever the objects' names, across operator restarts. The
//! mark is in the cloud (a VPN server's metadata, a request's tags).

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::cluster::{TestNamespace, kubectl_ok};
use support::emulator::{ADMIN, OWNER, eventually};
use support::operator::Operator;
use support::scenario::{
    DEADLINE, World, cloudpipe, condition_of, request, request_made_elsewhere,
};

async fn conflict_message(w: &World, kind: &str, name: &str) -> String {
    let object = w
        .condition(kind, name, "Stalled", "True", Some("Conflict"))
        .await;
    assert!(
        object["status"]["id"].is_null(),
        "a conflicting object does not claim the id: {object}"
    );
    condition_of(&object, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn uid(w: &World, kind: &str, name: &str) -> String {
    w.get(kind, name).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn server(w: &World, id: &str) -> Value {
    w.cloud_list("servers")
        .await
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("server {id} is gone"))
}

/// The first object's cloudpipe for `project` is marked as its own; a second one for the same
/// project, created after an operator restart, is refused and deleted without the server.
async fn second_cloudpipe_is_refused(w: &mut World, first: &str, second: &str, project: &str) {
    w.apply(&cloudpipe(first, json!({"projectId": project})));
    let owner = w.condition("cloudpipe", first, "Ready", "True", None).await;
    let id = owner["status"]["id"].as_str().unwrap().to_owned();
    let first_uid = uid(w, "cloudpipe", first);
    let marked = eventually(DEADLINE, "the server to carry its owner's mark", || async {
        let s = server(w, &id).await;
        (s["metadata"]["cloudlink.dev:uid"] == first_uid.as_str()).then_some(s)
    })
    .await;
    assert_eq!(
        marked["metadata"]["cloudlink.dev:object"],
        format!("{}/{first}", w.ns.name)
    );

    w.operator.restart();
    w.apply(&cloudpipe(second, json!({"projectId": project})));
    let message = conflict_message(w, "cloudpipe", second).await;
    assert!(
        message.contains(&format!("{}/{first}", w.ns.name)) && message.contains(&id),
        "the message names the owner and the resource: {message}"
    );
    assert_eq!(
        server(w, &id).await["metadata"]["cloudlink.dev:uid"],
        first_uid.as_str()
    );

    w.delete("cloudpipe", second);
    w.gone("cloudpipe", second).await;
    let s = server(w, &id).await;
    assert!(
        s["task_state"].is_null(),
        "the owner's server is not being deleted: {s}"
    );
    let still = w.condition("cloudpipe", first, "Ready", "True", None).await;
    assert_eq!(still["status"]["id"], id.as_str());
}

#[tokio::test]
async fn a_second_cloudpipe_for_a_project_never_takes_over_its_server() {
    let mut w = World::start("cpipe-owner", &[], &[]);
    // The first claimant wins whichever name sorts first.
    second_cloudpipe_is_refused(&mut w, "zeta", "alpha", ADMIN.project_id).await;
    second_cloudpipe_is_refused(&mut w, "beta", "omega", OWNER.project_id).await;
    assert_eq!(
        w.cloud_list("servers").await.len(),
        2,
        "one server per project"
    );
    w.event("Detached").await;
    assert_eq!(w.cloud.total("nova.server.delete").await, 0);
    assert_eq!(
        w.cloud.total("nova.server.metadata.set").await,
        2,
        "each server is marked once, not again after a restart nor by the later claimant"
    );

    // Once the owner goes, its server goes with it.
    w.delete("cloudpipe", "zeta");
    w.gone("cloudpipe", "zeta").await;
    eventually(DEADLINE, "the owner's server to be deleted", || async {
        (w.cloud_list("servers").await.len() == 1).then_some(())
    })
    .await;
}

/// `object` imports request `id` (managed), with the request's own network and other tenant.
async fn importing(w: &World, name: &str, id: &str) -> Value {
    let in_cloud = w
        .cloud_list("tenant_connection_requests")
        .await
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap();
    let mut object = request(name, json!({"import": {"id": id}}));
    object["spec"]["resource"]["networkId"] = in_cloud["network_id"].clone();
    object["spec"]["resource"]["name"] = in_cloud["name"].clone();
    object
}

async fn request_in_cloud(w: &World, id: &str) -> Value {
    w.cloud_list("tenant_connection_requests")
        .await
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("request {id} is gone"))
}

#[tokio::test]
async fn two_objects_naming_one_request_have_one_owner() {
    let mut w = World::start("tcr-owner", &[], &[]);

    // Imported first by "zeta", then (after a restart) by "alpha".
    let id = request_made_elsewhere(&w.cloud, "shared").await;
    w.apply(&importing(&w, "zeta", &id).await);
    w.condition("tcr", "zeta", "Ready", "True", None).await;
    let zeta = uid(&w, "tcr", "zeta");
    let tags = request_in_cloud(&w, &id).await["tags"].clone();
    assert_eq!(tags["cloudlink.dev/uid"], zeta.as_str(), "{tags}");
    assert_eq!(tags["cloudlink.dev/object"], format!("{}/zeta", w.ns.name));

    w.operator.restart();
    w.apply(&importing(&w, "alpha", &id).await);
    let message = conflict_message(&w, "tcr", "alpha").await;
    assert!(
        message.contains(&format!("{}/zeta", w.ns.name)),
        "{message}"
    );
    // An observer may look at anything.
    let observer = json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest", "metadata": {"name": "observer"},
        "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"}, "managementPolicy": "unmanaged", "import": {"id": id}}});
    w.apply(&observer);
    w.condition("tcr", "observer", "Ready", "True", None).await;

    w.delete("tcr", "alpha");
    w.gone("tcr", "alpha").await;
    assert_eq!(
        request_in_cloud(&w, &id).await["tags"]["cloudlink.dev/uid"],
        zeta.as_str(),
        "the loser's deletion leaves the request and its owner's mark"
    );
    assert_eq!(w.cloud.total("ecl.tcr.delete").await, 0);
    w.condition("tcr", "zeta", "Ready", "True", None).await;

    // The other order: created by "beta", then imported by "aaa".
    w.apply(&request("beta", json!({})));
    let created = w.condition("tcr", "beta", "Ready", "True", None).await;
    let created_id = created["status"]["id"].as_str().unwrap().to_owned();
    w.operator.restart();
    w.apply(&importing(&w, "aaa", &created_id).await);
    let message = conflict_message(&w, "tcr", "aaa").await;
    assert!(
        message.contains(&format!("{}/beta", w.ns.name)),
        "{message}"
    );
    w.delete("tcr", "aaa");
    w.gone("tcr", "aaa").await;
    request_in_cloud(&w, &created_id).await;
    assert_eq!(w.cloud.total("ecl.tcr.delete").await, 0);
}

/// Two clusters managing one cloud share nothing but the cloud: two operators, each watching its
/// own namespace, stand for them. The second cluster's Cloudpipe for the same project finds the
/// first cluster's mark on the server and leaves it alone.
#[tokio::test]
async fn a_cloudpipe_in_another_cluster_respects_the_mark() {
    let w = World::start("cluster-a", &[], &[]);
    w.apply(&cloudpipe("vpn", json!({})));
    let owner = w.condition("cloudpipe", "vpn", "Ready", "True", None).await;
    let id = owner["status"]["id"].as_str().unwrap().to_owned();
    eventually(DEADLINE, "the server to carry its owner's mark", || async {
        (server(&w, &id).await["metadata"]["cloudlink.dev:uid"].is_string()).then_some(())
    })
    .await;

    let other = TestNamespace::new("cluster-b");
    let _other_operator = Operator::start(&other.name, &[]);
    let apply = |object: &Value| {
        kubectl_ok(
            &["apply", "-n", &other.name, "-f", "-"],
            Some(&object.to_string()),
        )
    };
    apply(
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud"},
                  "stringData": {"clouds.yaml": w.cloud.clouds_yaml(&ADMIN)}}),
    );
    apply(&cloudpipe("vpn", json!({})));
    let message = eventually(
        DEADLINE,
        "the other cluster's cloudpipe to stall",
        || async {
            let out = kubectl_ok(
                &["get", "-n", &other.name, "cloudpipe", "vpn", "-o", "json"],
                None,
            );
            let object: Value = serde_json::from_str(&out).ok()?;
            let stalled = condition_of(&object, "Stalled")?;
            (stalled["reason"] == "Conflict")
                .then(|| stalled["message"].as_str().unwrap().to_owned())
        },
    )
    .await;
    assert!(message.contains(&format!("{}/vpn", w.ns.name)), "{message}");
    kubectl_ok(
        &[
            "delete",
            "-n",
            &other.name,
            "cloudpipe",
            "vpn",
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    );
    assert!(server(&w, &id).await["task_state"].is_null());
    assert_eq!(w.cloud.total("nova.server.delete").await, 0);
}
