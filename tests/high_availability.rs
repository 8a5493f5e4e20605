//! Two replicas with leader election: only the leader reconciles; when it is killed, the other
//! takes over within the lease duration and finishes the work, without duplicating anything.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cluster::kubectl;
use support::emulator::eventually;
use support::operator::Operator;
use support::scenario::{DEADLINE, World, request};

const LEASE: &str = "4s";

fn holder(w: &World, lease: &str) -> Option<String> {
    let out = kubectl(
        &[
            "get",
            "lease",
            "-n",
            &w.ns.name,
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    let holder = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !holder.is_empty()).then_some(holder)
}

fn holds(operator: &Operator, holder: &str) -> bool {
    holder.starts_with(&format!("cloudlink-{}-", operator.pid()))
}

#[tokio::test]
async fn the_standby_takes_over_when_the_leader_is_killed() {
    let lease = "cloudlink-test-leader";
    let flags = [
        "--leader-elect",
        "--lease-name",
        lease,
        "--lease-duration",
        LEASE,
        "--concurrency",
        "1",
    ];
    let mut w = World::start("ha", &[], &[]);
    // The World's operator runs without election; replace it with two candidates.
    w.operator.kill();
    let mut flags_with_ns: Vec<&str> = flags.to_vec();
    let ns = w.ns.name.clone();
    flags_with_ns.extend(["--lease-namespace", &ns]);
    let mut first = Operator::start(&ns, &flags_with_ns);
    let leader = eventually(DEADLINE, "a leader", || async { holder(&w, lease) }).await;
    assert!(
        holds(&first, &leader),
        "the first candidate leads: {leader}"
    );
    let mut second = Operator::start(&ns, &flags_with_ns);

    // Slow creates, one at a time: work is still pending when the leader dies.
    w.cloud
        .set_fault("ecl.tcr.create", json!({"latency_ms": 400}))
        .await;
    let names: Vec<String> = (0..6).map(|i| format!("req-{i}")).collect();
    for name in &names {
        w.apply(&request(name, json!({})));
    }
    eventually(DEADLINE, "the leader's first request", || async {
        (!w.cloud_list("tenant_connection_requests").await.is_empty()).then_some(())
    })
    .await;
    first.kill();
    let killed = Instant::now();

    let taken = eventually(DEADLINE, "the standby to take the lease", || async {
        holder(&w, lease).filter(|h| holds(&second, h))
    })
    .await;
    let takeover = killed.elapsed();
    assert!(
        takeover < Duration::from_secs(4) + Duration::from_secs(3),
        "took over after {takeover:?} ({taken})"
    );

    for name in &names {
        w.condition("tcr", name, "Ready", "True", None).await;
    }
    let requests = w.cloud_list("tenant_connection_requests").await;
    assert_eq!(
        requests.len(),
        names.len(),
        "one request per object, no duplicate: {requests:?}"
    );
    for name in &names {
        let object: Value = w.get("tcr", name).unwrap();
        let id = object["status"]["id"].as_str().unwrap();
        assert_eq!(
            requests.iter().filter(|r| r["id"] == id).count(),
            1,
            "{name} points at its own request"
        );
    }
    assert!(
        second.terminate(),
        "the new leader stops cleanly:\n{}",
        second.log()
    );
    let released = holder(&w, lease);
    assert!(
        released.is_none(),
        "a clean stop releases the lease, still held by {released:?}"
    );
}
