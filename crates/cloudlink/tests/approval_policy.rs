//! The network owner's standing rule against the real API server and the emulator: a
//! `TenantConnectionApprovalPolicy` decides every pending request that matches it, once, and
//! leaves the others alone.

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::cluster::kubectl;
use support::emulator::{ADMIN, OWNER, eventually};
use support::scenario::{DEADLINE, World, condition_of, request};

/// A policy with the owner's Secret `owner`, looking every 5 s.
fn policy(name: &str, decision: &str, rule: Value) -> Value {
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApprovalPolicy", "metadata": {"name": name},
           "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"},
                    "decision": decision, "match": rule, "interval": "5s"}})
}

/// Requests by these names (the requester's Secret `cloud`), each waiting for the owner.
async fn pending_requests(w: &World, names: &[&str]) {
    for name in names {
        w.apply(&request(name, json!({})));
    }
    for name in names {
        w.condition("tcr", name, "Approved", "False", Some("AwaitingApproval"))
            .await;
    }
}

/// The status of each of the cloud's approval requests, by the name of its tenant connection request.
async fn cloud_decisions(w: &World) -> std::collections::BTreeMap<String, String> {
    let state = w.cloud.state().await;
    let requests = w.cloud_list("tenant_connection_requests").await;
    let approvals = state["approval_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            let approval = approvals
                .iter()
                .find(|a| a["request_id"] == r["approval_request_id"])
                .unwrap_or_else(|| panic!("no approval request for {r}"));
            (
                r["name"].as_str().unwrap().to_owned(),
                approval["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until the policy has recorded `count` decisions, and returns it.
async fn decided(w: &World, name: &str, count: i64) -> Value {
    eventually(DEADLINE, &format!("{name} to decide {count}"), || async {
        let object = w.get("tcap", name)?;
        (object["status"]["decidedCount"] == count).then_some(object)
    })
    .await
}

fn decided_names(object: &Value) -> Vec<String> {
    let mut names: Vec<String> = object["status"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_policy_approves_every_matching_request_once_and_leaves_the_others_alone() {
    let w = World::start("policy", &[], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    pending_requests(&w, &["team-a-1", "team-a-2", "team-a-3", "other-1"]).await;

    w.apply(&policy(
        "team-a",
        "approved",
        json!({"requesterTenantIds": [ADMIN.project_id], "namePattern": "team-a-*"}),
    ));
    let object = decided(&w, "team-a", 3).await;
    assert_eq!(decided_names(&object), ["team-a-1", "team-a-2", "team-a-3"]);
    let first = &object["status"]["decisions"][0];
    assert_eq!(first["decision"], "approved");
    assert_eq!(first["requesterTenantId"], ADMIN.project_id);
    assert_eq!(first["networkId"].as_str().map(str::len), Some(36));
    assert_eq!(condition_of(&object, "Ready").unwrap()["status"], "True");
    let decisions = cloud_decisions(&w).await;
    assert_eq!(
        decisions.values().filter(|s| *s == "approved").count(),
        3,
        "{decisions:?}"
    );
    assert_eq!(
        decisions["other-1"], "registered",
        "not matching: left alone"
    );
    eventually(DEADLINE, "one Event per decision", || async {
        let events = w.events();
        let decided = events
            .lines()
            .filter(|l| l.starts_with("Approved "))
            .count();
        (decided == 3).then_some(())
    })
    .await;

    // The requester sees its requests approved.
    w.patch(
        "tcr",
        "team-a-2",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "1"}}}),
    );
    w.condition("tcr", "team-a-2", "Approved", "True", None)
        .await;

    // Looking again decides nothing twice, and a new matching request is decided at the next look.
    w.patch(
        "tcap",
        "team-a",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "again"}}}),
    );
    eventually(DEADLINE, "the look asked for", || async {
        let object = w.get("tcap", "team-a")?;
        (object["status"]["lastHandledReconcileAt"] == "again").then_some(())
    })
    .await;
    assert_eq!(w.cloud.total("sss.approval.update").await, 3);
    pending_requests(&w, &["team-a-4"]).await;
    let object = decided(&w, "team-a", 4).await;
    assert_eq!(object["status"]["decisions"][0]["name"], "team-a-4");
    assert_eq!(w.cloud.total("sss.approval.update").await, 4);
    assert_eq!(cloud_decisions(&w).await["other-1"], "registered");

    // Deleting the policy undoes nothing and needs no cloud call.
    w.delete("tcap", "team-a");
    w.gone("tcap", "team-a").await;
    assert_eq!(
        cloud_decisions(&w)
            .await
            .values()
            .filter(|s| *s == "approved")
            .count(),
        4
    );
}

#[tokio::test]
async fn an_explicit_approval_wins_over_a_policy_that_denies() {
    let w = World::start("policy-explicit", &[], &[]);
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    pending_requests(&w, &["keep", "refuse"]).await;
    let keep = w.get("tcr", "keep").unwrap()["status"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The owner's word on one request, paused for now: it decides nothing yet, but names it.
    w.apply(
        &json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApproval",
        "metadata": {"name": "keep", "annotations": {"cloudlink.dev/paused": "true"}},
        "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"},
                 "resource": {"tenantConnectionRequestId": keep, "decision": "approved"}}}),
    );
    w.condition("tca", "keep", "Paused", "True", None).await;

    w.apply(&policy(
        "deny-all-of-admin",
        "denied",
        json!({"requesterTenantIds": [ADMIN.project_id]}),
    ));
    let object = decided(&w, "deny-all-of-admin", 1).await;
    assert_eq!(decided_names(&object), ["refuse"]);
    w.event("Denied").await;
    assert_eq!(cloud_decisions(&w).await["keep"], "registered");

    w.patch(
        "tca",
        "keep",
        &json!({"metadata": {"annotations": {"cloudlink.dev/paused": null}}}),
    );
    w.condition("tca", "keep", "Ready", "True", None).await;
    let decisions = cloud_decisions(&w).await;
    assert_eq!(
        (decisions["keep"].as_str(), decisions["refuse"].as_str()),
        ("approved", "denied")
    );
    // The policy decided nothing more.
    assert_eq!(w.cloud.total("sss.approval.update").await, 2);
    assert_eq!(
        w.get("tcap", "deny-all-of-admin").unwrap()["status"]["decidedCount"],
        1
    );
}

#[tokio::test]
async fn a_policy_without_its_secret_says_so_and_recovers_when_it_appears() {
    let w = World::start("policy-secret", &[], &[]);
    pending_requests(&w, &["waiting"]).await;
    w.apply(&policy(
        "no-secret",
        "approved",
        json!({"networkIds": [w.get("tcr", "waiting").unwrap()["spec"]["resource"]["networkId"]]}),
    ));
    let object = w
        .condition(
            "tcap",
            "no-secret",
            "Stalled",
            "True",
            Some("InvalidConfiguration"),
        )
        .await;
    let message = condition_of(&object, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("Secret") && message.contains("owner"),
        "{message}"
    );
    assert_eq!(w.cloud.total("sss.approval.update").await, 0);

    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    decided(&w, "no-secret", 1).await;
    w.condition("tcap", "no-secret", "Ready", "True", Some("Success"))
        .await;
    assert_eq!(cloud_decisions(&w).await["waiting"], "approved");
}

#[tokio::test]
async fn a_rule_that_names_neither_tenants_nor_networks_is_refused() {
    let w = World::start("policy-schema", &[], &[]);
    let manifest = policy("anyone", "approved", json!({"namePattern": "*"}));
    let out = kubectl(
        &["apply", "-n", &w.ns.name, "-f", "-"],
        Some(&manifest.to_string()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("spec.match") && stderr.contains("requesterTenantIds or networkIds"),
        "{stderr}"
    );
}
