//! Two shards in one namespace, as the chart runs them: one operator with
//! `--watch-label-selector sharding.cloudlink.dev/key=shard1`, the default one with
//! `!sharding.cloudlink.dev/key`, each as its own ServiceAccount so that the API server's audit
//! log says which one wrote what. Each reconciles only its objects and holds its own Lease; an
//! object relabelled to the other shard moves there with no second cloud resource, and the old
//! shard writes nothing about it afterwards, even when it was creating the resource at the time.

use cloudlink_testkit as support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::audit::{requests_of, service_account_kubeconfig};
use support::cluster::kubectl_ok;
use support::emulator::eventually;
use support::operator::Operator;
use support::scenario::{DEADLINE, World, request};

const KEY: &str = "sharding.cloudlink.dev/key";

struct Shard {
    operator: Operator,
    /// The ServiceAccount it runs as, as the audit log names it.
    user: String,
    _kubeconfig: tempfile::NamedTempFile,
}

/// An operator for `selector` in `ns`, with leader election (no Lease name: it derives its own)
/// and a short cloud deadline (what a shard waits for another shard's create).
fn shard(ns: &str, account: &str, selector: &str) -> Shard {
    kubectl_ok(&["create", "serviceaccount", account, "-n", ns], None);
    kubectl_ok(
        &[
            "create",
            "rolebinding",
            account,
            "-n",
            ns,
            "--clusterrole=cluster-admin",
            &format!("--serviceaccount={ns}:{account}"),
        ],
        None,
    );
    let kubeconfig = service_account_kubeconfig(ns, account);
    let args = [
        "--namespace",
        ns,
        "--log",
        "info,cloudlink=debug",
        "--watch-label-selector",
        selector,
        "--leader-elect",
        "--lease-namespace",
        ns,
        "--lease-duration",
        "4s",
        "--cloud-timeout",
        "5s",
    ];
    let env = [("POD_NAME", account), ("POD_NAMESPACE", ns)];
    Shard {
        operator: Operator::start_as(kubeconfig.path(), &args, &env),
        user: format!("system:serviceaccount:{ns}:{account}"),
        _kubeconfig: kubeconfig,
    }
}

/// A World whose own operator is replaced by the default shard and shard1.
fn two_shards(prefix: &str) -> (World, Shard, Shard) {
    let mut w = World::start(prefix, &[], &[]);
    w.operator.kill();
    let ns = w.ns.name.clone();
    let default = shard(&ns, "shard-default", &format!("!{KEY}"));
    let one = shard(&ns, "shard-one", &format!("{KEY}=shard1"));
    (w, default, one)
}

fn in_shard(object: Value, shard: &str) -> Value {
    let mut object = object;
    object["metadata"]["labels"] = json!({ KEY: shard });
    object
}

/// Every write (not a read) `user` made to the tenant connection request `name` of `ns`, with
/// the time the API server received it and the User-Agent.
fn writes(user: &str, ns: &str, name: &str) -> Vec<(jiff::Timestamp, String, String)> {
    requests_of(user)
        .into_iter()
        .filter(|e| {
            let o = &e["objectRef"];
            o["resource"] == "tenantconnectionrequests"
                && o["namespace"] == ns
                && o["name"] == name
                && ["create", "update", "patch", "delete"].contains(&e["verb"].as_str().unwrap())
        })
        .map(|e| {
            let at = e["requestReceivedTimestamp"].as_str().unwrap().parse();
            let what = format!(
                "{} {}",
                e["verb"].as_str().unwrap(),
                e["objectRef"]["subresource"].as_str().unwrap_or("")
            );
            (
                at.unwrap(),
                what,
                e["userAgent"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names_written(user: &str, ns: &str, names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| !writes(user, ns, n).is_empty())
        .map(|n| n.to_string())
        .collect()
}

fn lease_holder(ns: &str, lease: &str) -> Option<String> {
    let out = support::cluster::kubectl(
        &[
            "get",
            "lease",
            "-n",
            ns,
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    let holder = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !holder.is_empty()).then_some(holder)
}

async fn requests_named(w: &World, name: &str) -> Vec<Value> {
    let all = w.cloud_list("tenant_connection_requests").await;
    all.into_iter().filter(|r| r["name"] == name).collect()
}

async fn scrape(operator: &Operator) -> String {
    reqwest::get(format!("{}/metrics", operator.http_url()))
        .await
        .and_then(|r| r.error_for_status())
        .expect("scrape /metrics")
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_shard_reconciles_only_its_objects_under_its_own_lease() {
    let (w, default, one) = two_shards("shards");
    let ns = w.ns.name.clone();
    for (lease, holder) in [
        ("cloudlink-leader", "shard-default"),
        ("cloudlink-leader-shard1", "shard-one"),
    ] {
        eventually(DEADLINE, &format!("{holder} to hold {lease}"), || async {
            (lease_holder(&ns, lease).as_deref() == Some(holder)).then_some(())
        })
        .await;
    }

    let (plain, labelled) = (["plain-a", "plain-b"], ["one-a", "one-b"]);
    for name in plain {
        w.apply(&request(name, json!({})));
    }
    for name in labelled {
        w.apply(&in_shard(request(name, json!({})), "shard1"));
    }
    // A shard nobody runs: nobody touches its objects.
    w.apply(&in_shard(request("nobody", json!({})), "shard9"));
    for name in plain.iter().chain(&labelled) {
        w.condition("tcr", name, "Ready", "True", None).await;
    }

    for name in plain.iter().chain(&labelled) {
        let id = w.get("tcr", name).unwrap()["status"]["id"].clone();
        let made = requests_named(&w, name).await;
        assert_eq!(made.len(), 1, "one request for {name}: {made:?}");
        assert_eq!(made[0]["id"], id, "{name} points at its request");
    }
    let all: Vec<&str> = plain.iter().chain(&labelled).copied().collect();
    assert_eq!(
        names_written(&default.user, &ns, &all),
        plain.iter().map(|n| n.to_string()).collect(),
        "the default shard writes the unlabelled objects only"
    );
    assert_eq!(
        names_written(&one.user, &ns, &all),
        labelled.iter().map(|n| n.to_string()).collect(),
        "shard1 writes its objects only"
    );
    let agents: BTreeSet<String> = labelled
        .iter()
        .flat_map(|n| writes(&one.user, &ns, n))
        .map(|(_, _, agent)| agent)
        .collect();
    assert_eq!(
        agents,
        BTreeSet::from([format!(
            "cloudlink/{} (pod shard-one; selector {KEY}=shard1)",
            env!("CARGO_PKG_VERSION")
        )]),
        "the audit log names the shard"
    );
    for (shard, theirs) in [(&default, &labelled), (&one, &plain)] {
        let log = shard.operator.log();
        for name in theirs.iter() {
            assert!(
                !log.contains(name),
                "{} names {name}, another shard's object",
                shard.user
            );
        }
    }

    let nobody = w.get("tcr", "nobody").unwrap();
    // (`observedGeneration: -1` is the API server's default for a new object, not a write.)
    assert!(
        nobody["status"] == json!({"observedGeneration": -1})
            && nobody["metadata"].get("finalizers").is_none(),
        "an object of a shard nobody runs is left alone: {nobody}"
    );
    assert!(requests_named(&w, "nobody").await.is_empty());
    for shard in [&default, &one] {
        assert!(names_written(&shard.user, &ns, &["nobody"]).is_empty());
    }
}

#[tokio::test]
async fn a_relabelled_object_moves_with_its_resource_and_the_old_shard_stops_writing() {
    let (w, default, one) = two_shards("reshard");
    let ns = w.ns.name.clone();
    let kind = r#"cloudlink_objects{kind="TenantConnectionRequest",ready="true"}"#;

    // An idle, Ready object moves; a change of its spec then is the new shard's to make.
    w.apply(&request("moving", json!({})));
    w.condition("tcr", "moving", "Ready", "True", None).await;
    let id = w.get("tcr", "moving").unwrap()["status"]["id"].clone();
    kubectl_ok(
        &[
            "label",
            "tcr",
            "moving",
            "-n",
            &ns,
            &format!("{KEY}=shard1"),
        ],
        None,
    );
    let moved = jiff::Timestamp::now();
    w.patch(
        "tcr",
        "moving",
        &json!({"spec": {"resource": {"description": "changed after the move"}}}),
    );
    eventually(DEADLINE, "the new shard to update the request", || async {
        let made = requests_named(&w, "moving").await;
        (made.len() == 1 && made[0]["description"] == "changed after the move").then_some(())
    })
    .await;
    eventually(DEADLINE, "the new shard to record it", || async {
        let object = w.get("tcr", "moving")?;
        (object["status"]["observedGeneration"] == object["metadata"]["generation"]).then_some(())
    })
    .await;
    assert_eq!(w.get("tcr", "moving").unwrap()["status"]["id"], id);
    let late: Vec<_> = writes(&default.user, &ns, "moving")
        .into_iter()
        .filter(|(at, _, _)| *at > moved)
        .collect();
    assert!(
        late.is_empty(),
        "the old shard wrote after the move: {late:?}"
    );
    assert!(
        writes(&one.user, &ns, "moving")
            .iter()
            .any(|(at, what, _)| *at > moved && what == "patch status"),
        "the new shard wrote the status"
    );
    // Each shard counts what it holds: the old one forgot the object.
    eventually(DEADLINE, "the ready gauges to follow the move", || async {
        let (old, new) = (scrape(&default.operator).await, scrape(&one.operator).await);
        (old.contains(&format!("{kind} 0")) && new.contains(&format!("{kind} 1"))).then_some(())
    })
    .await;

    // An object moves while the default shard's create is on its way to the cloud.
    w.cloud
        .set_fault("ecl.tcr.create", json!({"latency_ms": 3000}))
        .await;
    w.apply(&request("racing", json!({})));
    eventually(DEADLINE, "the default shard to mark its create", || async {
        let object = w.get("tcr", "racing")?;
        (object["metadata"]["finalizers"] == json!(["cloudlink.dev/finalizer"])).then_some(())
    })
    .await;
    kubectl_ok(
        &[
            "label",
            "tcr",
            "racing",
            "-n",
            &ns,
            &format!("{KEY}=shard1"),
        ],
        None,
    );
    let moved = jiff::Timestamp::now();
    assert!(
        requests_named(&w, "racing").await.is_empty(),
        "moved before the create reached the cloud: the test's premise"
    );
    let object = w.condition("tcr", "racing", "Ready", "True", None).await;
    let made = requests_named(&w, "racing").await;
    assert_eq!(
        made.len(),
        1,
        "one request, adopted by the new shard: {made:?}"
    );
    assert_eq!(object["status"]["id"], made[0]["id"]);
    // Not even a second create that the cloud refused (the emulator answers 409 to a duplicate
    // request; a cloud that does not would have made a second one): one create per object.
    assert_eq!(
        w.cloud.total("ecl.tcr.create").await,
        2,
        "{}",
        w.cloud.counters().await
    );
    // By now the old shard's create has returned (3 s after the mark; the new shard waited 5 s).
    let late: Vec<_> = writes(&default.user, &ns, "racing")
        .into_iter()
        .filter(|(at, _, _)| *at > moved)
        .collect();
    assert!(
        late.is_empty(),
        "the old shard wrote after the move: {late:?}"
    );
    assert!(
        default
            .operator
            .log()
            .contains("not writing: the object left this replica's watch"),
        "the old shard's write was refused"
    );
    assert!(
        one.operator
            .log()
            .contains("another replica may still be creating"),
        "the new shard waited for the old shard's create"
    );
    w.event("Adopted").await;
    assert_eq!(requests_named(&w, "racing").await.len(), 1);
}
