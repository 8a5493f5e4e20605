//! Two replicas with leader election: only the leader reconciles; when it is killed, the other
//! takes over within the lease duration and finishes the work, without duplicating anything.
//! Whether a holder is gone is judged on cloudlink's own clock, however skewed the holder's
//! `renewTime` is.

use cloudlink_testkit as support;

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::{Value, json};
use support::cluster::{TestNamespace, client, install_crds, kubectl};
use support::emulator::eventually;
use support::operator::Operator;
use support::scenario::{DEADLINE, World, request};

const LEASE: &str = "4s";
const LEASE_DURATION: Duration = Duration::from_secs(4);
/// Room for a loaded machine on top of the lease duration: starting the process, polling.
const SLACK: Duration = Duration::from_secs(20);

/// A candidate for the Lease `lease` in namespace `ns`, with extra flags.
fn candidate(ns: &str, lease: &str, extra: &[&str]) -> Operator {
    let mut flags = vec![
        "--leader-elect",
        "--lease-name",
        lease,
        "--lease-namespace",
        ns,
        "--lease-duration",
        LEASE,
    ];
    flags.extend_from_slice(extra);
    Operator::start(ns, &flags)
}

fn holder(ns: &str, lease: &str) -> Option<String> {
    let out = kubectl(
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

fn holds(operator: &Operator, holder: &str) -> bool {
    holder.starts_with(&format!("cloudlink-{}-", operator.pid()))
}

#[tokio::test]
async fn the_standby_takes_over_when_the_leader_is_killed() {
    let lease = "cloudlink-test-leader";
    let mut w = World::start("ha", &[], &[]);
    // The World's operator runs without election; replace it with two candidates.
    w.operator.kill();
    let ns = w.ns.name.clone();
    let mut first = candidate(&ns, lease, &["--concurrency", "1"]);
    let leader = eventually(DEADLINE, "a leader", || async { holder(&ns, lease) }).await;
    assert!(
        holds(&first, &leader),
        "the first candidate leads: {leader}"
    );
    let mut second = candidate(&ns, lease, &["--concurrency", "1"]);

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
        holder(&ns, lease).filter(|h| holds(&second, h))
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
    let released = holder(&ns, lease);
    assert!(
        released.is_none(),
        "a clean stop releases the lease, still held by {released:?}"
    );
}

/// A Lease held by another replica that last renewed at `renewed` by its own clock.
fn foreign_lease(name: &str, holder: &str, renewed: jiff::Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(MicroTime(renewed)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    }
}

const DAY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

#[tokio::test]
async fn a_dead_holder_whose_clock_ran_ahead_is_taken_over_after_the_lease_duration() {
    let lease = "cloudlink-test-ahead";
    install_crds();
    let ns = TestNamespace::new("ha-ahead");
    let leases: Api<Lease> = Api::namespaced(client().await, &ns.name);
    // Its last renewTime is a day ahead of ours; it will never write again.
    let written = Instant::now();
    leases
        .create(
            &PostParams::default(),
            &foreign_lease(lease, "dead-replica", jiff::Timestamp::now() + DAY),
        )
        .await
        .unwrap();
    let operator = candidate(&ns.name, lease, &[]);

    let taken = eventually(
        LEASE_DURATION + SLACK,
        "cloudlink to take over the dead holder's lease",
        || async { holder(&ns.name, lease).filter(|h| holds(&operator, h)) },
    )
    .await;
    assert!(
        written.elapsed() >= LEASE_DURATION,
        "{taken} took the lease {:?} after it was last written, before it stayed unchanged for {LEASE_DURATION:?}",
        written.elapsed()
    );
}

#[tokio::test]
async fn a_live_holder_whose_clock_lags_keeps_the_lease_while_it_renews() {
    let lease = "cloudlink-test-behind";
    install_crds();
    let ns = TestNamespace::new("ha-behind");
    let leases: Api<Lease> = Api::namespaced(client().await, &ns.name);
    // Its clock is a day behind ours: every renewTime it writes is a day old.
    let lagging = || jiff::Timestamp::now() - DAY;
    leases
        .create(
            &PostParams::default(),
            &foreign_lease(lease, "live-replica", lagging()),
        )
        .await
        .unwrap();
    let operator = candidate(&ns.name, lease, &[]);
    eventually(DEADLINE, "cloudlink to compete for the lease", || async {
        operator
            .log()
            .contains("waiting to become leader")
            .then_some(())
    })
    .await;

    // The live holder renews every 500 ms, for three lease durations of cloudlink watching.
    let watching = Instant::now();
    let mut renewals = tokio::time::interval(Duration::from_millis(500));
    let mut last_renewal = Instant::now();
    while watching.elapsed() < 3 * LEASE_DURATION {
        renewals.tick().await;
        let mut current = leases.get(lease).await.unwrap();
        let spec = current.spec.get_or_insert_with(Default::default);
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some("live-replica"),
            "cloudlink took the lease from a holder that renews it, {:?} into watching",
            watching.elapsed()
        );
        spec.renew_time = Some(MicroTime(lagging()));
        last_renewal = Instant::now();
        // The read's resourceVersion is a precondition: a takeover in between fails the renewal.
        let renewed = leases
            .replace(lease, &PostParams::default(), &current)
            .await;
        assert!(
            renewed.is_ok(),
            "the live holder could not renew, {:?} into watching: {renewed:?}",
            watching.elapsed()
        );
    }

    // The holder dies: now the unchanged Lease expires on cloudlink's clock.
    let taken = eventually(
        LEASE_DURATION + SLACK,
        "cloudlink to take over once the holder stopped renewing",
        || async { holder(&ns.name, lease).filter(|h| holds(&operator, h)) },
    )
    .await;
    assert!(
        last_renewal.elapsed() >= LEASE_DURATION,
        "{taken} took the lease {:?} after the last renewal, before it stayed unchanged for {LEASE_DURATION:?}",
        last_renewal.elapsed()
    );
}
