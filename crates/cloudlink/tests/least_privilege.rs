//! The Helm chart grants the operator exactly what it uses. Install the chart, take a token of its
//! ServiceAccount, run `cloudlink run` outside the cluster with only that token and the Deployment's
//! own arguments, drive the whole scenario for every kind, then read the API server's audit log:
//! zero 403s for that ServiceAccount. `kubectl auth can-i` shows what it must not be able to do.

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::audit::{requests_of, service_account_kubeconfig};
use support::cluster::{TestNamespace, kubeconfig, kubectl, kubectl_ok};
use support::emulator::{ADMIN, OWNER, eventually};
use support::operator::Operator;
use support::scenario::{DEADLINE, World, cloudpipe, request, request_made_elsewhere};

/// `cloudlink run`'s arguments from the Deployment, without `run` and the metrics address (the
/// test picks a free local port instead of the pod's), with `$(VAR)` expanded from `env` as the
/// kubelet does.
fn deployment_args(container: &Value, env: &[(&str, &str)]) -> Vec<String> {
    let mut args = Vec::new();
    let mut skip_value = false;
    for arg in container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
    {
        if std::mem::take(&mut skip_value) || arg == "run" || arg.starts_with("--metrics-addr=") {
            continue;
        }
        if arg == "--metrics-addr" {
            skip_value = true;
            continue;
        }
        args.push(env.iter().fold(arg, |arg, (name, value)| {
            arg.replace(&format!("$({name})"), value)
        }));
    }
    args
}

fn can(sa: &str, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let (resource, subresource) = resource
        .split_once('/')
        .filter(|(_, s)| *s == "status")
        .unwrap_or((resource, ""));
    let mut args = vec!["auth", "can-i", verb, resource, "--as", sa];
    if !subresource.is_empty() {
        args.extend(["--subresource", subresource]);
    }
    match namespace {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    String::from_utf8_lossy(&kubectl(&args, None).stdout).trim() == "yes"
}

#[tokio::test]
async fn the_chart_grants_what_the_operator_uses_and_no_more() {
    let mut w = World::start("least", &[], &[]);
    w.operator.kill(); // this one runs as admin; the chart's ServiceAccount takes over
    let system = TestNamespace::new("cloudlink-system");
    let release = format!("cl{:06x}", rand::random::<u32>() & 0xff_ffff);
    let chart = &format!("{}/charts/cloudlink", support::REPO);
    let installed = std::process::Command::new("helm")
        .args([
            "install",
            &release,
            chart,
            "-n",
            &system.name,
            "--set",
            &format!("watchNamespaces={{{}}}", w.ns.name),
        ])
        .args([
            "--set",
            "leaderElection.enabled=true",
            "--kubeconfig",
            kubeconfig().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "helm install: {}",
        String::from_utf8_lossy(&installed.stderr)
    );
    struct Uninstall(String, String);
    impl Drop for Uninstall {
        fn drop(&mut self) {
            let _ = std::process::Command::new("helm")
                .args([
                    "uninstall",
                    &self.0,
                    "-n",
                    &self.1,
                    "--kubeconfig",
                    kubeconfig().to_str().unwrap(),
                ])
                .output();
        }
    }
    let _uninstall = Uninstall(release.clone(), system.name.clone());

    let deployments: Value = serde_json::from_str(&kubectl_ok(
        &["get", "deployments", "-n", &system.name, "-o", "json"],
        None,
    ))
    .unwrap();
    let pod = &deployments["items"][0]["spec"]["template"]["spec"];
    let sa_name = pod["serviceAccountName"]
        .as_str()
        .expect("the Deployment names its ServiceAccount")
        .to_owned();
    let sa = format!("system:serviceaccount:{}:{sa_name}", system.name);
    let config = service_account_kubeconfig(&system.name, &sa_name);
    let env = [
        ("POD_NAMESPACE", system.name.as_str()),
        ("POD_NAME", "cloudlink-test-pod"),
    ];
    let args = deployment_args(&pod["containers"][0], &env);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let operator = Operator::start_as(config.path(), &args, &env);

    // The whole scenario, both kinds: create, export, approve, update, import, delete.
    let mut vpn = cloudpipe(
        "vpn",
        json!({"vpn": {"publicIp": "203.0.113.10", "publicPort": 1194}}),
    );
    vpn["spec"]["export"] = json!({"configMapName": "vpn-endpoint"});
    w.apply(&vpn);
    w.apply(&request("req", json!({})));
    w.condition("cloudpipe", "vpn", "Exported", "True", None)
        .await;
    w.patch(
        "cloudpipe",
        "vpn",
        &json!({"spec": {"resource": {"vpn": {"publicPort": 1195}}}}),
    );
    eventually(DEADLINE, "the export updated", || async {
        let map = w.get("configmap", "vpn-endpoint")?;
        (map["data"]["publicPort"] == "1195").then_some(())
    })
    .await;
    w.condition("tcr", "req", "Approved", "False", Some("AwaitingApproval"))
        .await;
    // The owner's approval and the requester's connection, by reference (the controllers'
    // caches), and a reconcile-now: the whole ECL workflow.
    w.secret("owner", &w.cloud.clouds_yaml(&OWNER));
    w.apply(&json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnection", "metadata": {"name": "web"},
        "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"},
                 "resource": {"requestRef": {"name": "req"},
                              "device": {"type": "ECL::Compute::Server", "id": "3f1e7a52-8c4d-4b6e-9a0f-2d5c8b7e1a93"}}}}));
    w.apply(&json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApproval", "metadata": {"name": "accept"},
        "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"},
                 "resource": {"requestRef": {"name": "req"}, "decision": "approved"}}}));
    w.condition("tca", "accept", "Ready", "True", None).await;
    w.patch(
        "tcr",
        "req",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "1"}}}),
    );
    w.condition("tcr", "req", "Approved", "True", None).await;
    // The owner's standing rule decides the next request from the same tenant.
    w.apply(&json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionApprovalPolicy", "metadata": {"name": "team"},
        "spec": {"cloudCredentialsRef": {"secretName": "owner", "cloudName": "emulator"}, "decision": "approved",
                 "match": {"requesterTenantIds": [ADMIN.project_id]}, "interval": "5s"}}));
    w.apply(&request("req-2", json!({})));
    eventually(DEADLINE, "the policy's decision", || async {
        let policy = w.get("tcap", "team")?;
        (policy["status"]["decidedCount"] == 1).then_some(())
    })
    .await;
    w.patch(
        "tc",
        "web",
        &json!({"metadata": {"annotations": {"cloudlink.dev/reconcile-requested-at": "1"}}}),
    );
    w.condition("tc", "web", "Ready", "True", None).await;
    w.patch(
        "tcr",
        "req",
        &json!({"spec": {"resource": {"name": "renamed"}}}),
    );
    eventually(DEADLINE, "the update in the cloud", || async {
        w.cloud_list("tenant_connection_requests")
            .await
            .into_iter()
            .find(|r| r["name"] == "renamed")
    })
    .await;
    let theirs = request_made_elsewhere(&w.cloud, "made-elsewhere").await;
    let mut adopted = request("adopted", json!({"import": {"id": theirs}}));
    let network = w
        .cloud_list("tenant_connection_requests")
        .await
        .into_iter()
        .find(|r| r["id"] == theirs.as_str())
        .unwrap()["network_id"]
        .clone();
    adopted["spec"]["resource"]["networkId"] = network;
    w.apply(&adopted);
    w.condition("tcr", "adopted", "Ready", "True", None).await;
    for (kind, name) in [
        ("tc", "web"),
        ("tca", "accept"),
        ("tcap", "team"),
        ("tcr", "req-2"),
        ("cloudpipe", "vpn"),
        ("tcr", "req"),
        ("tcr", "adopted"),
    ] {
        w.delete(kind, name);
        w.gone(kind, name).await;
    }
    assert!(
        w.cloud_list("tenant_connection_requests").await.is_empty()
            && w.cloud_list("tenant_connections").await.is_empty()
            && w.cloud_list("servers").await.is_empty()
    );
    drop(operator);

    // Sufficient: not one request of the ServiceAccount was refused.
    let requests = requests_of(&sa);
    assert!(
        requests.len() > 20,
        "the audit log shows the operator's requests ({} found)",
        requests.len()
    );
    let refused: Vec<String> = requests
        .iter()
        .filter(|e| e["responseStatus"]["code"] == 403)
        .map(|e| format!("{} {}", e["verb"], e["requestURI"]))
        .collect();
    assert!(
        refused.is_empty(),
        "the operator was refused:\n{}",
        refused.join("\n")
    );

    // Minimal: what it must not do.
    let (watched, other) = (w.ns.name.as_str(), system.name.as_str());
    assert!(can(&sa, "get", "secrets", Some(watched)));
    assert!(can(
        &sa,
        "patch",
        "tenantconnectionrequests.cloudlink.dev/status",
        Some(watched)
    ));
    let lease = args
        .iter()
        .find_map(|a| a.strip_prefix("--lease-name="))
        .expect("the chart names the Lease");
    assert!(
        can(
            &sa,
            "update",
            &format!("leases.coordination.k8s.io/{lease}"),
            Some(other)
        ),
        "its own Lease"
    );
    assert!(
        !can(
            &sa,
            "update",
            "leases.coordination.k8s.io/someone-elses-lease",
            Some(other)
        ),
        "only its own Lease"
    );
    let forbidden: [(&str, &str, Option<&str>); 12] = [
        ("get", "secrets", Some(other)),
        ("get", "secrets", Some("default")),
        ("list", "secrets", None),
        ("delete", "secrets", Some(watched)),
        ("create", "secrets", Some(watched)),
        ("delete", "cloudpipes.cloudlink.dev", Some(watched)),
        ("list", "cloudpipes.cloudlink.dev", None),
        ("create", "deployments.apps", Some(watched)),
        ("update", "configmaps", Some(watched)),
        ("list", "configmaps", Some(watched)),
        ("delete", "configmaps", Some(watched)),
        ("update", "leases.coordination.k8s.io", Some(watched)),
    ];
    let too_much: Vec<String> = forbidden
        .iter()
        .filter(|(v, r, n)| can(&sa, v, r, *n))
        .map(|(v, r, n)| format!("{v} {r} in {}", n.unwrap_or("all namespaces")))
        .collect();
    assert!(
        too_much.is_empty(),
        "the ServiceAccount may do more than the operator needs: {too_much:?}"
    );
}
