//! The network owner's side of the ECL workflow against the real API server and the emulator: a
//! `TenantConnectionApproval` with the owner tenant's credentials decides the approval request
//! the requester's `TenantConnectionRequest` made.

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::emulator::{OWNER, eventually};
use support::scenario::{DEADLINE, World, condition_of, request};

/// An approval of the request with cloud id `tcr`, with the owner's Secret `owner`.
fn approval(name: &str, resource: Value) -> Value {
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApproval", "metadata": {"name": name},
           "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"}, "resource": resource}})
}

/// Both teams in one namespace: the requester's Secret `cloud`, the owner's Secret `owner`, and a
/// request registered in the cloud. Returns the request's id and its approval request's id.
async fn registered_request(w: &World, name: &str) -> (String, String) {
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&request(name, json!({})));
    let object = w
        .condition("tcr", name, "Approved", "False", Some("AwaitingApproval"))
        .await;
    let status = &object["status"];
    (
        status["id"].as_str().unwrap().to_owned(),
        status["resource"]["approvalRequestId"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// Asks the request's controller to look at the cloud now, instead of at its next approval check.
fn refresh(w: &World, name: &str, token: &str) {
    w.patch(
        "tcr",
        name,
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": token}}}),
    );
}

#[tokio::test]
async fn the_owner_approves_by_request_id_and_the_request_sees_it() {
    let w = World::start("approve", &[], &[]);
    let (tcr, approval_id) = registered_request(&w, "to-shared").await;

    w.apply(&approval(
        "accept",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    ));
    let object = w
        .condition("tca", "accept", "Ready", "True", Some("Success"))
        .await;
    let status = &object["status"];
    assert_eq!(status["id"], approval_id.as_str());
    assert_eq!(status["resource"]["status"], "approved");
    assert_eq!(
        status["resource"]["tenantConnectionRequestId"],
        tcr.as_str()
    );
    assert_eq!(
        status["resource"]["networkId"].as_str().map(str::len),
        Some(36)
    );
    assert_eq!(w.cloud.count("sss.approval.update", "204").await, 1);
    w.event("Created").await;

    refresh(&w, "to-shared", "1");
    w.condition("tcr", "to-shared", "Approved", "True", None)
        .await;

    // A resync decides nothing twice.
    refresh(&w, "to-shared", "2");
    w.apply(&approval(
        "accept",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    ));
    assert_eq!(w.cloud.total("sss.approval.update").await, 1);

    // Deleting the approval leaves the decision: SSS has no undo.
    w.delete("tca", "accept");
    w.gone("tca", "accept").await;
    w.event("Detached").await;
    assert!(
        w.events().contains("SSS cannot undo a decision"),
        "{}",
        w.events()
    );
    let approvals = w.cloud.state().await["approval_requests"].clone();
    assert!(
        approvals.to_string().contains("\"approved\""),
        "the decision stays: {approvals}"
    );
}

#[tokio::test]
async fn a_denial_by_approval_request_id_stalls_the_request() {
    let w = World::start("deny", &[], &[]);
    let (_, approval_id) = registered_request(&w, "to-shared").await;

    w.apply(&approval(
        "refuse",
        json!({"approvalRequestId": approval_id, "decision": "denied"}),
    ));
    w.condition("tca", "refuse", "Ready", "True", None).await;

    refresh(&w, "to-shared", "1");
    let object = w
        .condition("tcr", "to-shared", "Stalled", "True", None)
        .await;
    let approved = condition_of(&object, "Approved").unwrap();
    assert_eq!(approved["status"], "False");
}

#[tokio::test]
async fn a_request_that_can_no_longer_be_decided_stalls_the_approval_with_the_reason() {
    let w = World::start("decided", &[], &[]);
    let (tcr, _) = registered_request(&w, "to-shared").await;
    // Someone decided already, outside Kubernetes.
    w.cloud.deny(&tcr).await;

    w.apply(&approval(
        "late",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    ));
    let object = w
        .condition("tca", "late", "Stalled", "True", Some("UnrecoverableError"))
        .await;
    let message = condition_of(&object, "Ready").unwrap()["message"].clone();
    assert!(
        message.as_str().unwrap().contains("already denied"),
        "{message}"
    );
    assert_eq!(w.cloud.total("sss.approval.update").await, 0);
}

#[tokio::test]
async fn the_requesters_credentials_cannot_approve_their_own_request() {
    let w = World::start("self-approve", &[], &[]);
    let (tcr, _) = registered_request(&w, "to-shared").await;
    let mut own = approval(
        "own",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    );
    own["spec"]["cloudCredentialsRef"]["secretName"] = json!("cloud");
    w.apply(&own);

    let object = w
        .condition(
            "tca",
            "own",
            "Stalled",
            "True",
            Some("InvalidConfiguration"),
        )
        .await;
    let message = condition_of(&object, "Ready").unwrap()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("spec.cloudCredentialsRef"),
        "{message}"
    );
    assert_eq!(w.cloud.total("sss.approval.update").await, 0);
    eventually(DEADLINE, "the request still awaiting approval", || async {
        let object = w.get("tcr", "to-shared")?;
        (condition_of(&object, "Approved")?["reason"] == "AwaitingApproval").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_reference_in_the_same_namespace_decides_the_request_it_shows() {
    let w = World::start("approve-ref", &[], &[]);
    let (_, approval_id) = registered_request(&w, "to-shared").await;

    w.apply(&approval(
        "accept",
        json!({"requestRef": {"name": "to-shared"}, "decision": "approved"}),
    ));
    let object = w.condition("tca", "accept", "Ready", "True", None).await;
    assert_eq!(object["status"]["id"], approval_id.as_str());
    assert_eq!(object["status"]["resource"]["status"], "approved");
}

#[tokio::test]
async fn a_reference_to_another_namespace_needs_that_namespaces_grant() {
    let owners = support::cluster::TestNamespace::new("owners");
    let w = World::start("requesters", &[], &["--namespace", &owners.name]);
    let (_, approval_id) = registered_request(&w, "to-shared").await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "owner"},
                        "stringData": {"clouds.yaml": w.cloud.clouds_yaml(&OWNER)}});
    let mut accept = approval(
        "accept",
        json!({"requestRef": {"namespace": w.ns.name, "name": "to-shared"}, "decision": "approved"}),
    );
    for object in [&secret, &accept] {
        support::cluster::kubectl_ok(
            &["apply", "-n", &owners.name, "-f", "-"],
            Some(&object.to_string()),
        );
    }
    let get = || {
        let out = support::cluster::kubectl_ok(
            &["get", "-n", &owners.name, "tca", "accept", "-o", "json"],
            None,
        );
        serde_json::from_str::<Value>(&out).unwrap()
    };

    // Without the grant: refused with the way out, and nothing decided.
    let refused = eventually(DEADLINE, "the missing grant reported", || async {
        let object = get();
        let ready = condition_of(&object, "Ready")?;
        ready["message"]
            .as_str()?
            .contains("cloudlink.dev/approval-namespaces")
            .then_some(object)
    })
    .await;
    assert_eq!(
        condition_of(&refused, "Ready").unwrap()["status"],
        "False",
        "{refused:#}"
    );
    assert_eq!(w.cloud.total("sss.approval.update").await, 0);

    // The requesters grant the owners' namespace: the approval goes through.
    w.patch(
        "tcr",
        "to-shared",
        &json!({"metadata": {"annotations": {"cloudlink.dev/approval-namespaces": owners.name}}}),
    );
    // Any change of the approval makes it look again at once (instead of at its backoff).
    accept["metadata"]["annotations"] = json!({"cloudlink.dev/reconcile-requested-at": "granted"});
    support::cluster::kubectl_ok(
        &["apply", "-n", &owners.name, "-f", "-"],
        Some(&accept.to_string()),
    );
    let approved = eventually(DEADLINE, "the approval after the grant", || async {
        let object = get();
        (condition_of(&object, "Ready")?["status"] == "True").then_some(object)
    })
    .await;
    assert_eq!(approved["status"]["id"], approval_id.as_str());
    assert_eq!(w.cloud.count("sss.approval.update", "204").await, 1);
}

#[tokio::test]
async fn an_expired_approval_request_cannot_be_approved_and_says_so() {
    let w = World::start("expired", &["--approval-deadline", "1s"], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&request("to-shared", json!({})));
    // The request is registered, then its approval request expires before the owner acts (the
    // request itself then stalls as unavailable).
    let tcr = eventually(DEADLINE, "the request's id", || async {
        w.get("tcr", "to-shared")?["status"]["id"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    eventually(DEADLINE, "the approval request to expire", || async {
        let state = w.cloud.state().await;
        state["approval_requests"]
            .to_string()
            .contains("\"expired\"")
            .then_some(())
    })
    .await;

    w.apply(&approval(
        "late",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    ));
    let object = w
        .condition("tca", "late", "Stalled", "True", Some("UnrecoverableError"))
        .await;
    let message = condition_of(&object, "Ready").unwrap()["message"].clone();
    assert!(message.as_str().unwrap().contains("expired"), "{message}");
    assert_eq!(w.cloud.total("sss.approval.update").await, 0);
}

#[tokio::test]
async fn a_second_approval_of_the_same_request_is_a_conflict_and_decides_nothing() {
    let w = World::start("approve-twice", &[], &[]);
    let (tcr, approval_id) = registered_request(&w, "to-shared").await;
    w.apply(&approval(
        "first",
        json!({"tenantConnectionRequestId": tcr, "decision": "approved"}),
    ));
    w.condition("tca", "first", "Ready", "True", None).await;

    w.apply(&approval(
        "second",
        json!({"approvalRequestId": approval_id, "decision": "denied"}),
    ));
    let object = w
        .condition("tca", "second", "Stalled", "True", Some("Conflict"))
        .await;
    let message = condition_of(&object, "Ready").unwrap()["message"].clone();
    assert!(
        message.as_str().unwrap().contains("first"),
        "the message names the owner: {message}"
    );
    assert_eq!(w.cloud.total("sss.approval.update").await, 1);
}
