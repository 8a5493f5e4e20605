//! Deletion is never stuck for no reason: objects that never reached the cloud go at once whatever
//! their credentials, a namespace full of broken objects is deleted, and an object that cannot
//! delete its cloud resource says how to get out (and `spec.onDelete: detach` gets it out).

use cloudlink_testkit as support;

use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::{kubectl, kubectl_ok};
use support::emulator::{ADMIN, eventually};
use support::scenario::{DEADLINE, World, cloudpipe, condition_of, request};

/// How long a namespace may take to go once cloudlink lets go of its objects (the namespace
/// controller deletes the content, then retries with backoff while finalizers remain).
const NAMESPACE_GONE: Duration = Duration::from_secs(120);

fn with_secret(mut object: Value, secret: &str, cloud: &str) -> Value {
    object["spec"]["cloudCredentialsRef"] = json!({"secretName": secret, "cloudName": cloud});
    object
}

/// Waits until cloudlink has looked at the object's current spec, and returns it.
async fn reconciled(w: &World, kind: &str, name: &str) -> Value {
    eventually(
        DEADLINE,
        &format!("{kind}/{name} to be reconciled"),
        || async {
            let object = w.get(kind, name)?;
            (object["status"]["observedGeneration"] == object["metadata"]["generation"]
                && condition_of(&object, "Ready").is_some())
            .then_some(object)
        },
    )
    .await
}

#[tokio::test]
async fn a_namespace_of_broken_and_healthy_objects_is_deleted_and_nothing_leaks() {
    // The VPN server takes a while to go, so the request (sharing its Secret) is released first:
    // the Secret must stay until the cloudpipe, still being deleted, no longer needs it.
    let w = World::start("nsdelete", &["--server-delete-delay", "3s"], &[]);
    let good = w.cloud.clouds_yaml(&ADMIN);
    let auth_url = w.cloud.auth_url();
    w.secret("garbage", "::: this is not a clouds.yaml");
    w.secret("other-cloud", &good);
    w.secret(
        "unreachable",
        &good.replace(&auth_url, "http://127.0.0.1:9/v3"),
    );
    w.secret(
        "not-tls",
        &good.replace(&auth_url, &auth_url.replace("http://", "https://")),
    );
    let broken = [
        (
            "cloudpipe",
            with_secret(cloudpipe("no-secret", json!({})), "missing", "emulator"),
        ),
        (
            "cloudpipe",
            with_secret(cloudpipe("garbage", json!({})), "garbage", "emulator"),
        ),
        (
            "tcr",
            with_secret(request("wrong-cloud", json!({})), "other-cloud", "nowhere"),
        ),
        (
            "tcr",
            with_secret(request("unreachable", json!({})), "unreachable", "emulator"),
        ),
        (
            "tcr",
            with_secret(request("not-tls", json!({})), "not-tls", "emulator"),
        ),
    ];
    for (_, object) in &broken {
        w.apply(object);
    }
    w.apply(&cloudpipe("healthy-vpn", json!({})));
    w.apply(&request("healthy-request", json!({})));
    w.condition("cloudpipe", "healthy-vpn", "Ready", "True", None)
        .await;
    w.condition("tcr", "healthy-request", "Ready", "True", None)
        .await;
    for (kind, object) in &broken {
        let name = object["metadata"]["name"].as_str().unwrap();
        let seen = reconciled(&w, kind, name).await;
        assert_eq!(
            condition_of(&seen, "Ready").unwrap()["status"],
            "False",
            "{kind}/{name} cannot work: {seen}"
        );
    }
    assert_eq!(w.cloud_list("servers").await.len(), 1);
    assert_eq!(w.cloud_list("tenant_connection_requests").await.len(), 1);

    kubectl_ok(&["delete", "namespace", &w.ns.name, "--wait=false"], None);
    eventually(NAMESPACE_GONE, "the namespace to be gone", || async {
        let out = kubectl(&["get", "namespace", &w.ns.name, "-o", "name"], None);
        (!out.status.success()).then_some(())
    })
    .await;
    assert!(
        w.cloud_list("servers").await.is_empty(),
        "the healthy cloudpipe's server is deleted"
    );
    assert!(
        w.cloud_list("tenant_connection_requests").await.is_empty(),
        "the healthy request is deleted"
    );
    assert_eq!(
        w.cloud.total("nova.cloudpipe.create").await + w.cloud.total("ecl.tcr.create").await,
        2,
        "only the healthy objects reached the cloud"
    );
}

#[tokio::test]
async fn an_object_that_cannot_delete_its_resource_says_how_to_get_out_and_detach_does() {
    let w = World::start("stuckdel", &[], &[]);
    w.apply(&request("reached", json!({})));
    let ready = w.condition("tcr", "reached", "Ready", "True", None).await;
    let id = ready["status"]["id"].as_str().unwrap().to_owned();

    // The credentials break after the request was made.
    let password = ADMIN.password;
    w.secret(
        "cloud",
        &w.cloud
            .clouds_yaml(&ADMIN)
            .replace(password, "rotated-away"),
    );
    w.delete("tcr", "reached");
    let stuck = eventually(DEADLINE, "the deletion to say what blocks it", || async {
        let object = w.get("tcr", "reached")?;
        let stalled = condition_of(&object, "Stalled")?;
        (stalled["status"] == "True").then(|| stalled["message"].as_str().unwrap().to_owned())
    })
    .await;
    assert!(
        stuck.contains(&format!("cannot delete cloud resource {id}")),
        "{stuck}"
    );
    assert!(stuck.contains("spec.onDelete: detach"), "{stuck}");
    assert!(
        !stuck.contains("rotated-away") && !stuck.contains(password),
        "{stuck}"
    );
    assert_eq!(w.cloud.total("ecl.tcr.delete").await, 0);

    // The CRD accepts the way out on an object being deleted, and cloudlink takes it.
    w.patch("tcr", "reached", &json!({"spec": {"onDelete": "detach"}}));
    w.gone("tcr", "reached").await;
    let left = w.cloud_list("tenant_connection_requests").await;
    assert_eq!(left.len(), 1, "detach leaves the request: {left:?}");
    assert_eq!(left[0]["id"], id.as_str());
    w.event("Detached").await;
}

#[tokio::test]
async fn an_object_deleted_before_it_reached_the_cloud_goes_at_once() {
    let w = World::start("neverreached", &[], &[]);
    w.secret("garbage", "::: this is not a clouds.yaml");
    w.apply(&with_secret(
        request("never", json!({})),
        "garbage",
        "emulator",
    ));
    w.condition(
        "tcr",
        "never",
        "Stalled",
        "True",
        Some("InvalidConfiguration"),
    )
    .await;
    // cloudlink puts its finalizer on only when it sends a create: nothing holds this one.
    let stalled = w.get("tcr", "never").unwrap();
    assert!(
        stalled["metadata"]["finalizers"].is_null(),
        "{}",
        stalled["metadata"]
    );
    w.delete("tcr", "never");
    w.gone("tcr", "never").await;
    assert_eq!(w.cloud.total("ecl.tcr.create").await, 0);
}

#[tokio::test]
async fn deleting_a_request_reads_no_approval() {
    let w = World::start("delnoapproval", &[], &[]);
    w.apply(&request("waiting", json!({})));
    w.condition(
        "tcr",
        "waiting",
        "Approved",
        "False",
        Some("AwaitingApproval"),
    )
    .await;
    let before = w.cloud.total("sss.approval.get").await + w.cloud.total("sss.approval.list").await;
    w.delete("tcr", "waiting");
    w.gone("tcr", "waiting").await;
    assert_eq!(
        w.cloud.total("sss.approval.get").await + w.cloud.total("sss.approval.list").await,
        before,
        "a deletion has no use for the approval"
    );
    assert!(w.cloud_list("tenant_connection_requests").await.is_empty());
}
