//! The API as users meet it: the committed CRDs, their validation in a real API server, the
//! examples, `kubectl explain` and `kubectl get cloudlink`.

use cloudlink_testkit as support;

use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::{TestNamespace, eventually, install_crds, kubectl, kubectl_ok};

fn tcr() -> Value {
    json!({
        "apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest",
        "metadata": {"name": "tcr"},
        "spec": {
            "cloudCredentialsRef": {"secretName": "ecl-credentials", "cloudName": "ecl"},
            "resource": {
                "tenantIdOther": "9a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "networkId": "5d2c0e7a-3b41-4f6e-8c9d-0a1b2c3d4e5f",
                "name": "n", "tags": {"team": "a"}
            }
        }
    })
}

fn cloudpipe() -> Value {
    json!({
        "apiVersion": "cloudlink.dev/v1alpha1", "kind": "Cloudpipe",
        "metadata": {"name": "cpipe"},
        "spec": {
            "cloudCredentialsRef": {"secretName": "openstack-credentials", "cloudName": "openstack"},
            "resource": {"projectId": "6b7f3c2a9d8e4f10a1b2c3d4e5f60718", "vpn": {"publicIp": "203.0.113.10", "publicPort": 1194}}
        }
    })
}

/// Applies `object` and returns kubectl's stderr, asserting that the API server refused it.
fn apply_rejected(ns: &str, object: &Value, dry_run: bool) -> String {
    let mut args = vec!["apply", "-n", ns, "-f", "-"];
    if dry_run {
        args.push("--dry-run=server");
    }
    let out = kubectl(&args, Some(&object.to_string()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the API server accepted an invalid object:\n{object:#}"
    );
    stderr
}

fn with(mut object: Value, change: impl FnOnce(&mut Value)) -> Value {
    change(&mut object);
    object
}

#[test]
fn committed_crds_match_the_generator() {
    for (file, crd) in cloudlink::kinds::crds() {
        let path = format!("{}/crds/{file}", support::REPO);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            committed == cloudlink::api::crd_yaml(&crd),
            "{path} differs from the Rust types: run `cargo run -- crd --out-dir crds` and commit the result"
        );
    }
}

#[test]
fn crds_install_and_become_established() {
    install_crds();
    for (file, _) in cloudlink::kinds::crds() {
        let name = format!("{}.cloudlink.dev", file.trim_end_matches(".yaml"));
        let name = name.as_str();
        let status = kubectl_ok(
            &[
                "get",
                "crd",
                name,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
            ],
            None,
        );
        assert_eq!(status, "True", "{name} is not Established");
    }
}

#[test]
fn every_example_passes_server_side_dry_run() {
    install_crds();
    let ns = TestNamespace::new("examples");
    let dir = format!("{}/examples", support::REPO);
    let mut applied = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            kubectl_ok(
                &[
                    "apply",
                    "-n",
                    &ns.name,
                    "--dry-run=server",
                    "-f",
                    path.to_str().unwrap(),
                ],
                None,
            );
            applied += 1;
        }
    }
    assert!(
        applied >= 6,
        "expected the six documented examples, found {applied}"
    );
}

#[test]
fn invalid_objects_are_rejected_with_a_message_naming_the_field() {
    install_crds();
    let ns = TestNamespace::new("invalid");
    let long = "x".repeat(256);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "malformed tenantIdOther",
            with(tcr(), |o| {
                o["spec"]["resource"]["tenantIdOther"] = json!("not-a-tenant")
            }),
            "spec.resource.tenantIdOther",
        ),
        (
            "tenantIdOther of 31 hex",
            with(tcr(), |o| {
                o["spec"]["resource"]["tenantIdOther"] = json!("9a1b2c3d4e5f60718293a4b5c6d7e8f")
            }),
            "spec.resource.tenantIdOther",
        ),
        (
            "malformed networkId",
            with(tcr(), |o| {
                o["spec"]["resource"]["networkId"] = json!("5d2c0e7a")
            }),
            "spec.resource.networkId",
        ),
        (
            "256-character name",
            with(tcr(), |o| o["spec"]["resource"]["name"] = json!(long)),
            "spec.resource.name",
        ),
        (
            "256-character description",
            with(tcr(), |o| {
                o["spec"]["resource"]["description"] = json!(long)
            }),
            "spec.resource.description",
        ),
        (
            "reserved tag key",
            with(tcr(), |o| {
                o["spec"]["resource"]["tags"] = json!({"cloudlink.dev/uid": "x"})
            }),
            "spec.resource.tags must not use the reserved key",
        ),
        (
            "missing networkId",
            with(tcr(), |o| {
                o["spec"]["resource"]
                    .as_object_mut()
                    .unwrap()
                    .remove("networkId");
            }),
            "spec.resource.networkId: Required value",
        ),
        (
            "missing cloudCredentialsRef",
            with(tcr(), |o| {
                o["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("cloudCredentialsRef");
            }),
            "spec.cloudCredentialsRef: Required value",
        ),
        (
            "invalid secretName",
            with(tcr(), |o| {
                o["spec"]["cloudCredentialsRef"]["secretName"] = json!("Bad_Name")
            }),
            "spec.cloudCredentialsRef.secretName",
        ),
        (
            "unknown field",
            with(tcr(), |o| o["spec"]["resource"]["networkID"] = json!("x")),
            "spec.resource.networkID",
        ),
        (
            "unknown managementPolicy",
            with(tcr(), |o| o["spec"]["managementPolicy"] = json!("observe")),
            "spec.managementPolicy",
        ),
        (
            "unknown onDelete",
            with(tcr(), |o| o["spec"]["onDelete"] = json!("orphan")),
            "spec.onDelete",
        ),
        (
            "malformed resyncPeriod",
            with(tcr(), |o| o["spec"]["resyncPeriod"] = json!("often")),
            "spec.resyncPeriod",
        ),
        (
            "unmanaged without import",
            with(tcr(), |o| {
                o["spec"]["managementPolicy"] = json!("unmanaged");
                o["spec"].as_object_mut().unwrap().remove("resource");
            }),
            "spec.import is required when spec.managementPolicy is unmanaged",
        ),
        (
            "unmanaged with resource",
            with(tcr(), |o| {
                o["spec"]["managementPolicy"] = json!("unmanaged");
                o["spec"]["import"] = json!({"id": "x"});
            }),
            "spec.resource is forbidden when spec.managementPolicy is unmanaged",
        ),
        (
            "managed without resource",
            with(tcr(), |o| {
                o["spec"].as_object_mut().unwrap().remove("resource");
            }),
            "spec.resource is required when spec.managementPolicy is managed",
        ),
        (
            "projectId with a dot",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["projectId"] = json!("bad.project.id")
            }),
            "spec.resource.projectId",
        ),
        (
            "256-character projectId",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["projectId"] = json!("a".repeat(256))
            }),
            "spec.resource.projectId",
        ),
        (
            "vpn publicIp not an address",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["vpn"]["publicIp"] = json!("vpn.example")
            }),
            "spec.resource.vpn.publicIp must be an IPv4 or IPv6 address",
        ),
        (
            "vpn publicPort out of range",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["vpn"]["publicPort"] = json!(70000)
            }),
            "spec.resource.vpn.publicPort",
        ),
        (
            "vpn without port",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["vpn"]
                    .as_object_mut()
                    .unwrap()
                    .remove("publicPort");
            }),
            "spec.resource.vpn.publicPort: Required value",
        ),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (what, object, expected) in &cases {
        let stderr = apply_rejected(&ns.name, object, true);
        if !stderr.contains(expected) {
            failures.push(format!(
                "{what}: expected the error to contain {expected:?}, got: {stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The API server admits exactly the resync periods cloudlink can read: the CRD's pattern and
/// `cloudlink_duration` are one grammar.
#[test]
fn the_api_server_admits_exactly_the_durations_cloudlink_reads() {
    install_crds();
    let ns = TestNamespace::new("durations");
    let mut disagreements = Vec::new();
    for period in [
        "10m",
        "1h30m",
        "1.5s",
        "500ms",
        "0s",
        "2h45m10.25s",
        "10",
        "1.s",
        ".5s",
        "1h 30m",
        "1d",
        "-1s",
        "1ns",
        "1e3s",
    ] {
        let object = with(tcr(), |o| o["spec"]["resyncPeriod"] = json!(period));
        let out = kubectl(
            &["apply", "-n", &ns.name, "--dry-run=server", "-f", "-"],
            Some(&object.to_string()),
        );
        let read = cloudlink_duration::parse(period);
        if out.status.success() != read.is_ok() {
            disagreements.push(format!(
                "{period:?}: the API server {}, cloudlink reads {read:?}",
                if out.status.success() {
                    "admits it"
                } else {
                    "refuses it"
                }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn immutable_fields_cannot_change_after_create() {
    install_crds();
    let ns = TestNamespace::new("immutable");
    kubectl_ok(
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&tcr().to_string()),
    );
    kubectl_ok(
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&cloudpipe().to_string()),
    );
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "networkId",
            with(tcr(), |o| {
                o["spec"]["resource"]["networkId"] = json!("11111111-2222-3333-4444-555555555555")
            }),
            "spec.resource.networkId is immutable",
        ),
        (
            "tenantIdOther",
            with(tcr(), |o| {
                o["spec"]["resource"]["tenantIdOther"] = json!("ffffffffffffffffffffffffffffffff")
            }),
            "spec.resource.tenantIdOther is immutable",
        ),
        (
            "managementPolicy",
            with(tcr(), |o| {
                o["spec"]["managementPolicy"] = json!("unmanaged")
            }),
            "spec.managementPolicy is immutable",
        ),
        (
            "import added",
            with(tcr(), |o| {
                o["spec"]["import"] = json!({"id": "b3f7a2c4-1d5e-11ef-9e55-525403060300"})
            }),
            "spec.import cannot be added or removed after creation",
        ),
        (
            "projectId",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]["projectId"] = json!("another-project")
            }),
            "spec.resource.projectId is immutable",
        ),
        (
            "projectId removed",
            with(cloudpipe(), |o| {
                o["spec"]["resource"]
                    .as_object_mut()
                    .unwrap()
                    .remove("projectId");
            }),
            "spec.resource.projectId is immutable",
        ),
    ];
    let mut failures = Vec::new();
    for (what, object, expected) in &cases {
        let stderr = apply_rejected(&ns.name, object, false);
        if !stderr.contains(expected) {
            failures.push(format!(
                "changing {what}: expected {expected:?}, got: {stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // What may change still changes.
    let renamed = with(tcr(), |o| {
        o["spec"]["resource"]["name"] = json!("renamed");
        o["spec"]["resource"]["tags"] = json!({"team": "b"});
    });
    kubectl_ok(
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&renamed.to_string()),
    );
}

#[test]
fn kubectl_explain_shows_the_field_descriptions() {
    install_crds();
    let explained = eventually(
        "kubectl explain to know the new kind",
        Duration::from_secs(30),
        || {
            let out = kubectl(&["explain", "tenantconnectionrequest.spec.resource"], None);
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        },
    );
    for text in [
        "tenantIdOther",
        "The tenant that owns the network: 32 hexadecimal characters",
        "networkId",
        "Immutable",
        "Updatable",
    ] {
        assert!(
            explained.contains(text),
            "kubectl explain lacks {text:?}:\n{explained}"
        );
    }
    let spec = kubectl_ok(&["explain", "cloudpipe.spec"], None);
    for text in [
        "cloudCredentialsRef",
        "managementPolicy",
        "onDelete",
        "import",
        "resyncPeriod",
    ] {
        assert!(
            spec.contains(text),
            "kubectl explain cloudpipe.spec lacks {text:?}:\n{spec}"
        );
    }
}

#[test]
fn kubectl_get_cloudlink_lists_both_kinds_with_their_columns() {
    install_crds();
    let ns = TestNamespace::new("columns");
    kubectl_ok(
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&tcr().to_string()),
    );
    kubectl_ok(
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&cloudpipe().to_string()),
    );
    // Write status as the operator would, so the columns have something to show.
    let now = "2026-01-01T00:00:00Z";
    let tcr_status = json!({"status": {"id": "tcr-id-1", "observedGeneration": 1,
        "resource": {"status": "registered", "approvalRequestId": "req0000000001"},
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Success", "message": "registered", "lastTransitionTime": now},
            {"type": "Approved", "status": "False", "reason": "AwaitingApproval", "message": "waiting", "lastTransitionTime": now}]}});
    let cpipe_status = json!({"status": {"id": "vpn-server-1", "observedGeneration": 1,
        "resource": {"serverStatus": "ACTIVE"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Success", "message": "active", "lastTransitionTime": now}]}});
    kubectl_ok(
        &[
            "patch",
            "-n",
            &ns.name,
            "tcr",
            "tcr",
            "--subresource=status",
            "--type=merge",
            "-p",
            &tcr_status.to_string(),
        ],
        None,
    );
    kubectl_ok(
        &[
            "patch",
            "-n",
            &ns.name,
            "cpipe",
            "cpipe",
            "--subresource=status",
            "--type=merge",
            "-p",
            &cpipe_status.to_string(),
        ],
        None,
    );

    let listed = kubectl_ok(&["get", "cloudlink", "-A"], None);
    let line_of = |needle: &str| {
        listed
            .lines()
            .find(|l| l.contains(needle))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    let header_tcr = listed
        .lines()
        .find(|l| l.contains("APPROVAL"))
        .unwrap_or_else(|| panic!("no TCR header:\n{listed}"));
    assert_eq!(
        header_tcr.split_whitespace().collect::<Vec<_>>(),
        [
            "NAMESPACE",
            "NAME",
            "ID",
            "STATUS",
            "READY",
            "REASON",
            "APPROVAL",
            "AGE"
        ]
    );
    let tcr_row = line_of("tenantconnectionrequest.cloudlink.dev/tcr")
        .unwrap_or_else(|| panic!("no TCR row:\n{listed}"));
    assert_eq!(
        &tcr_row[..7],
        [
            ns.name.as_str(),
            "tenantconnectionrequest.cloudlink.dev/tcr",
            "tcr-id-1",
            "registered",
            "True",
            "Success",
            "AwaitingApproval"
        ]
    );
    let cpipe_row = line_of("cloudpipe.cloudlink.dev/cpipe")
        .unwrap_or_else(|| panic!("no Cloudpipe row:\n{listed}"));
    assert_eq!(
        &cpipe_row[..6],
        [
            ns.name.as_str(),
            "cloudpipe.cloudlink.dev/cpipe",
            "vpn-server-1",
            "ACTIVE",
            "True",
            "Success"
        ]
    );
}
