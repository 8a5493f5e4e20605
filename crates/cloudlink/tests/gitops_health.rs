//! GitOps health as Flux and Argo CD see cloudlink's objects: the real kstatus code (Flux's, built
//! from sigs.k8s.io/cli-utils by `hack/kstatus-check.sh`) and the shipped Argo CD health check
//! (`docs/argocd-health.lua`, run in Lua 5.1 like Argo CD's gopher-lua) judge the same objects.
//!
//! kstatus says Current / InProgress / Failed / Terminating; Argo CD says Healthy / Progressing /
//! Degraded (/ Suspended). The two must agree: Current is Healthy, InProgress is Progressing, Failed
//! is Degraded.

use cloudlink_testkit as support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use mlua::serde::{LuaSerdeExt, SerializeOptions};
use mlua::{Lua, Table};
use serde_json::{Value, json};
use support::cluster::{TestNamespace, eventually, install_crds, kubectl_ok};

const ROOT: &str = support::REPO;
const T0: &str = "2026-01-01T00:00:00Z";

/// The kstatus checker, built (once per test binary, cached across runs) by its script.
fn kstatus_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let out = Command::new(format!("{ROOT}/hack/kstatus-check.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("hack/kstatus-check.sh runs");
        assert!(
            out.status.success(),
            "hack/kstatus-check.sh failed (it needs Go and the Go module proxy on first use)"
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// (status, message) as kstatus computes them.
fn kstatus(object: &Value) -> (String, String) {
    let mut child = Command::new(kstatus_binary())
        .args(["-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kstatus-check runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(object.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kstatus-check failed on {object:#}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value =
        serde_json::from_slice(&out.stdout).expect("kstatus-check prints one JSON line");
    (
        result["status"].as_str().unwrap().to_owned(),
        result["message"].as_str().unwrap().to_owned(),
    )
}

/// The shipped Argo CD health check, with `awaitingApproval` set to `awaiting` as docs/gitops.md
/// tells users to do (None: as shipped).
fn argocd_script(awaiting: Option<&str>) -> String {
    let script = std::fs::read_to_string(format!("{ROOT}/docs/argocd-health.lua")).unwrap();
    let shipped = "local awaitingApproval = \"Healthy\"";
    assert!(
        script.contains(shipped),
        "docs/argocd-health.lua no longer has the line docs/gitops.md tells users to edit: {shipped}"
    );
    match awaiting {
        None => script,
        Some(value) => script.replace(shipped, &format!("local awaitingApproval = \"{value}\"")),
    }
}

/// (status, message) as Argo CD would show them: `obj` is the object, the chunk returns a table.
fn argocd_with(object: &Value, awaiting: Option<&str>) -> (String, String) {
    let lua = Lua::new();
    // Argo CD hands Lua the object decoded from JSON; a JSON null is simply absent there.
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.globals()
        .set("obj", lua.to_value_with(object, options).unwrap())
        .unwrap();
    let health: Table = lua
        .load(argocd_script(awaiting))
        .set_name("docs/argocd-health.lua")
        .eval()
        .unwrap_or_else(|e| panic!("docs/argocd-health.lua failed on {object:#}: {e}"));
    let status: String = health.get("status").expect("the health table has a status");
    let message: Option<String> = health.get("message").unwrap();
    (status, message.unwrap_or_default())
}

fn argocd(object: &Value) -> (String, String) {
    argocd_with(object, None)
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, generation: i64) -> Value {
    json!({"type": type_, "status": if status { "True" } else { "False" }, "reason": reason, "message": message,
           "observedGeneration": generation, "lastTransitionTime": T0})
}

/// The three standard conditions as cloudlink writes them for each phase (src/engine/conditions.rs).
fn ready(generation: i64) -> Vec<Value> {
    vec![
        condition(
            "Ready",
            true,
            "Success",
            "the VPN server is ACTIVE",
            generation,
        ),
        condition("Reconciling", false, "Success", "nothing to do", generation),
        condition("Stalled", false, "Success", "nothing to do", generation),
    ]
}

fn reconciling(generation: i64, reason: &str, message: &str) -> Vec<Value> {
    vec![
        condition("Ready", false, reason, message, generation),
        condition("Reconciling", true, reason, message, generation),
        condition("Stalled", false, reason, "making progress", generation),
    ]
}

fn stalled(generation: i64, reason: &str, message: &str) -> Vec<Value> {
    vec![
        condition("Ready", false, reason, message, generation),
        condition(
            "Reconciling",
            false,
            reason,
            "waiting for a change of spec, Secret or cloud",
            generation,
        ),
        condition("Stalled", true, reason, message, generation),
    ]
}

fn cloudpipe(generation: i64, observed: i64, conditions: Vec<Value>) -> Value {
    json!({
        "apiVersion": "cloudlink.dev/v1alpha1", "kind": "Cloudpipe",
        "metadata": {"name": "project-vpn", "namespace": "team-a", "generation": generation, "uid": "5b0c1f7e-0000-4000-8000-000000000001"},
        "spec": {
            "cloudCredentialsRef": {"secretName": "openstack-credentials", "cloudName": "openstack"},
            "resource": {"projectId": "6b7f3c2a9d8e4f10a1b2c3d4e5f60718"}
        },
        "status": {"observedGeneration": observed, "conditions": conditions}
    })
}

fn request(generation: i64, observed: i64, conditions: Vec<Value>) -> Value {
    json!({
        "apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest",
        "metadata": {"name": "to-shared-network", "namespace": "team-a", "generation": generation},
        "spec": {
            "cloudCredentialsRef": {"secretName": "ecl-credentials", "cloudName": "ecl"},
            "resource": {"tenantIdOther": "9a1b2c3d4e5f60718293a4b5c6d7e8f9", "networkId": "5d2c0e7a-3b41-4f6e-8c9d-0a1b2c3d4e5f"}
        },
        "status": {"id": "tcr-1", "observedGeneration": observed, "conditions": conditions}
    })
}

fn sorted(mut conditions: Vec<Value>) -> Vec<Value> {
    conditions.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    conditions
}

/// Asserts what both tools say about `object`, and that each message mentions `message` (in any case).
#[track_caller]
fn assert_health(
    what: &str,
    object: &Value,
    kstatus_expected: &str,
    argocd_expected: &str,
    message: &str,
) {
    let (k, k_message) = kstatus(object);
    let (a, a_message) = argocd(object);
    assert_eq!(
        (k.as_str(), a.as_str()),
        (kstatus_expected, argocd_expected),
        "{what}: kstatus said {k} ({k_message}), Argo CD said {a} ({a_message})"
    );
    let lower = message.to_lowercase();
    assert!(
        k_message.to_lowercase().contains(&lower),
        "{what}: kstatus's message {k_message:?} lacks {message:?}"
    );
    assert!(
        a_message.to_lowercase().contains(&lower),
        "{what}: Argo CD's message {a_message:?} lacks {message:?}"
    );
}

#[test]
fn ready_is_current_and_healthy() {
    assert_health(
        "Ready cloudpipe",
        &cloudpipe(1, 1, ready(1)),
        "Current",
        "Healthy",
        "",
    );
    let (_, message) = argocd(&cloudpipe(1, 1, ready(1)));
    assert_eq!(message, "Success: the VPN server is ACTIVE");
}

#[test]
fn reconciling_is_in_progress_and_progressing() {
    assert_health(
        "server building",
        &cloudpipe(1, 1, reconciling(1, "Progressing", "VPN server is BUILD")),
        "InProgress",
        "Progressing",
        "VPN server is BUILD",
    );
    assert_health(
        "cloud answering 503",
        &cloudpipe(1, 1, reconciling(1, "TransientError", "Nova answered 503")),
        "InProgress",
        "Progressing",
        "Nova answered 503",
    );
}

#[test]
fn stalled_is_failed_and_degraded_with_the_reason_to_act_on() {
    for (reason, message) in [
        (
            "InvalidConfiguration",
            "Secret openstack-credentials not found",
        ),
        ("UnrecoverableError", "the VPN server is in ERROR"),
        (
            "APIRemoved",
            "Nova answered 410 Gone: os-cloudpipe was removed in Pike",
        ),
    ] {
        assert_health(
            reason,
            &cloudpipe(1, 1, stalled(1, reason, message)),
            "Failed",
            "Degraded",
            message,
        );
        let (_, argo_message) = argocd(&cloudpipe(1, 1, stalled(1, reason, message)));
        assert!(
            argo_message.starts_with(reason),
            "Argo CD's message should name the reason {reason}: {argo_message}"
        );
    }
}

#[test]
fn a_new_generation_is_current_only_after_it_was_observed() {
    // Created, not yet looked at: observedGeneration -1 (the CRD's default).
    assert_health(
        "created",
        &cloudpipe(1, -1, vec![]),
        "InProgress",
        "Progressing",
        "",
    );
    // Ready at generation 1, then the spec changes: the old Ready=True must not count.
    assert_health(
        "spec changed",
        &cloudpipe(2, 1, ready(1)),
        "InProgress",
        "Progressing",
        "generation",
    );
    // cloudlink observes generation 2 and works on it, then is done.
    assert_health(
        "working on it",
        &cloudpipe(2, 2, reconciling(2, "Progressing", "configuring the VPN")),
        "InProgress",
        "Progressing",
        "",
    );
    assert_health(
        "observed and ready",
        &cloudpipe(2, 2, ready(2)),
        "Current",
        "Healthy",
        "",
    );
}

/// A paused object (annotation cloudlink.dev/paused): Argo CD shows it Suspended, whatever the last
/// reconcile left; kstatus has no paused state and keeps showing that result (Current when the
/// paused object was Ready at its generation, InProgress when its spec changed since).
#[test]
fn a_paused_object_is_suspended_in_argo_cd() {
    let message = "paused by annotation cloudlink.dev/paused=\"true\": cloudlink makes no cloud call and no change for this object until the annotation is removed";
    let mut conditions = ready(1);
    conditions.push(condition("Paused", true, "Paused", message, 1));
    let object = cloudpipe(1, 1, sorted(conditions.clone()));
    let (k, _) = kstatus(&object);
    let (a, a_message) = argocd(&object);
    assert_eq!((k.as_str(), a.as_str()), ("Current", "Suspended"));
    assert_eq!(a_message, format!("Paused: {message}"));

    let changed = cloudpipe(2, 1, sorted(conditions));
    assert_eq!(kstatus(&changed).0, "InProgress");
    assert_eq!(argocd(&changed).0, "Suspended");
}

#[test]
fn a_deleted_object_is_terminating() {
    let mut object = cloudpipe(
        1,
        1,
        reconciling(1, "Progressing", "deleting the VPN server"),
    );
    object["metadata"]["deletionTimestamp"] = json!(T0);
    object["metadata"]["finalizers"] = json!(["cloudlink.dev/finalizer"]);
    let (k, _) = kstatus(&object);
    let (a, message) = argocd(&object);
    assert_eq!(
        (k.as_str(), a.as_str()),
        ("Terminating", "Progressing"),
        "{message}"
    );
}

#[test]
fn a_request_awaiting_approval_is_ready_and_shown_as_configured() {
    let awaiting = sorted(
        [
            ready(1),
            vec![condition(
                "Approved",
                false,
                "AwaitingApproval",
                "waiting for the owner of tenant 9a1b… to approve approval request req-1",
                1,
            )],
        ]
        .concat(),
    );
    let object = request(1, 1, awaiting);
    // Flux: the requester's part is done; kstatus has no notion of approval.
    assert_eq!(kstatus(&object).0, "Current");
    // Argo CD as shipped agrees, and says what it waits for.
    let (status, message) = argocd(&object);
    assert_eq!(status, "Healthy");
    assert!(
        message.starts_with("AwaitingApproval: waiting for the owner"),
        "{message}"
    );
    // The two documented alternatives.
    assert_eq!(argocd_with(&object, Some("Progressing")).0, "Progressing");
    assert_eq!(argocd_with(&object, Some("Suspended")).0, "Suspended");

    // Once approved, it is Healthy whatever the setting.
    let approved = request(
        1,
        1,
        sorted(
            [
                ready(1),
                vec![condition("Approved", true, "Success", "approved", 1)],
            ]
            .concat(),
        ),
    );
    assert_eq!(kstatus(&approved).0, "Current");
    for setting in [None, Some("Progressing"), Some("Suspended")] {
        assert_eq!(
            argocd_with(&approved, setting).0,
            "Healthy",
            "approved, with awaitingApproval = {setting:?}"
        );
    }

    // Denied: Stalled, for both.
    let denied = request(
        1,
        1,
        sorted(
            [
                stalled(1, "UnrecoverableError", "the request was denied"),
                vec![condition(
                    "Approved",
                    false,
                    "UnrecoverableError",
                    "denied",
                    1,
                )],
            ]
            .concat(),
        ),
    );
    assert_health(
        "denied",
        &denied,
        "Failed",
        "Degraded",
        "the request was denied",
    );
}

/// The same judgement on objects as the API server stores them: created with `kubectl apply`, given
/// a status the way cloudlink writes it (a merge patch of the status subresource), then changed.
#[test]
fn objects_from_the_api_server_follow_the_same_rules() {
    install_crds();
    let ns = TestNamespace::new("gitops");
    let get = || -> Value {
        serde_json::from_str(&kubectl_ok(
            &[
                "get",
                "-n",
                &ns.name,
                "cloudpipe",
                "project-vpn",
                "-o",
                "json",
            ],
            None,
        ))
        .unwrap()
    };
    let health = |object: &Value| (kstatus(object).0, argocd(object).0);
    let pair = |k: &str, a: &str| (k.to_owned(), a.to_owned());

    let manifest = std::fs::read_to_string(format!("{ROOT}/examples/cloudpipe.yaml")).unwrap();
    kubectl_ok(&["apply", "-n", &ns.name, "-f", "-"], Some(&manifest));
    let created = get();
    assert_eq!(
        health(&created),
        pair("InProgress", "Progressing"),
        "a Cloudpipe cloudlink has not looked at yet must not be Current for Flux: the API server returned status {}; \
         the CRD should default status to {{observedGeneration: -1}} so that kstatus sees an unobserved generation",
        created["status"]
    );

    let patch_status = |generation: i64, conditions: Vec<Value>| {
        let patch = json!({"status": {"observedGeneration": generation, "conditions": conditions}});
        kubectl_ok(
            &[
                "patch",
                "-n",
                &ns.name,
                "cloudpipe",
                "project-vpn",
                "--subresource=status",
                "--type=merge",
                "-p",
                &patch.to_string(),
            ],
            None,
        );
    };
    patch_status(1, reconciling(1, "Progressing", "VPN server is BUILD"));
    assert_eq!(health(&get()), pair("InProgress", "Progressing"));
    patch_status(1, ready(1));
    assert_eq!(health(&get()), pair("Current", "Healthy"));

    // A spec change bumps metadata.generation; until cloudlink observes it, the old Ready does not count.
    kubectl_ok(
        &[
            "patch",
            "-n",
            &ns.name,
            "cloudpipe",
            "project-vpn",
            "--type=merge",
            "-p",
            r#"{"spec":{"resyncPeriod":"5m"}}"#,
        ],
        None,
    );
    let changed = eventually(
        "the spec change to bump the generation",
        Duration::from_secs(10),
        || {
            let object = get();
            (object["metadata"]["generation"] == json!(2)).then_some(object)
        },
    );
    assert_eq!(health(&changed), pair("InProgress", "Progressing"));
    patch_status(2, ready(2));
    assert_eq!(health(&get()), pair("Current", "Healthy"));

    patch_status(
        2,
        stalled(
            2,
            "InvalidConfiguration",
            "Secret openstack-credentials not found",
        ),
    );
    assert_eq!(health(&get()), pair("Failed", "Degraded"));
}

/// The workflow's other kinds, as the API server serves them: unobserved is in progress for both
/// tools (their CRDs default `observedGeneration` to -1 too), and a connection waiting for the
/// owner's approval is in progress, not failed.
#[test]
fn the_approval_and_the_connection_follow_the_same_rules() {
    install_crds();
    let ns = TestNamespace::new("gitops-ecl");
    for (file, kind, name) in [
        (
            "tenantconnectionapproval.yaml",
            "tenantconnectionapproval",
            "accept-platform-team",
        ),
        ("tenantconnection.yaml", "tenantconnection", "web-1"),
        (
            "tenantconnectionapprovalpolicy.yaml",
            "tenantconnectionapprovalpolicy",
            "approve-platform-team",
        ),
    ] {
        let manifest = std::fs::read_to_string(format!("{ROOT}/examples/{file}")).unwrap();
        kubectl_ok(&["apply", "-n", &ns.name, "-f", "-"], Some(&manifest));
        let object: Value = serde_json::from_str(&kubectl_ok(
            &["get", "-n", &ns.name, kind, name, "-o", "json"],
            None,
        ))
        .unwrap();
        assert_eq!(
            (kstatus(&object).0.as_str(), argocd(&object).0.as_str()),
            ("InProgress", "Progressing"),
            "{kind} before cloudlink looked at it: status {}",
            object["status"]
        );
    }
    let waiting = message_of_waiting_connection();
    let (k, k_message) = kstatus(&waiting);
    let (a, a_message) = argocd(&waiting);
    assert_eq!((k.as_str(), a.as_str()), ("InProgress", "Progressing"));
    assert!(
        k_message.contains("approve") || a_message.contains("approve"),
        "{k_message} / {a_message}"
    );
}

/// A TenantConnection as cloudlink shows it while the request awaits the owner's approval.
fn message_of_waiting_connection() -> Value {
    let message = "tenant connection request r1 is registered: waiting for the network owner (tenant t) to approve it";
    json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnection",
           "metadata": {"name": "web-1", "namespace": "n", "generation": 1},
           "status": {"observedGeneration": 1, "conditions": sorted(reconciling(1, "AwaitingApproval", message))}})
}
