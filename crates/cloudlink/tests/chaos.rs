//! The chaos suite: the operator against crashes, a failing cloud, a restarted API server, expiring
//! tokens and leader failovers. Every scenario is seeded, bounded in time, and prints its figures on
//! stdout as one line `CHAOS <scenario> key=value …` (see them with `-- --nocapture`).
//!
//! These are the short versions CI runs; `hack/chaos.sh` runs the same scenarios at the issue's
//! sizes by setting `CLOUDLINK_CHAOS_OBJECTS`, `CLOUDLINK_CHAOS_KILLS`, `CLOUDLINK_CHAOS_LEADER_KILLS`,
//! `CLOUDLINK_CHAOS_FAULT_WINDOW_S` (and `CLOUDLINK_CHAOS_SEED`, `CLOUDLINK_CHAOS_DEADLINE_S`,
//! `CLOUDLINK_CHAOS_TOKEN_TTL_S`; see the script). The scenarios run one at a time.
//!
//! "Duplicates": more than one cloud resource carrying the same object's UID tag
//! (`cloudlink.dev/uid`), or an object whose `status.id` changed from one resource to another.
//! "Orphans" / "leaks": cloud resources without a live object.

use cloudlink_testkit as support;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use support::chaos::{
    Figures, Fleet, OwnPlane, assert_closing, batches, deadline, knob, seed, serial,
};
use support::operator::Operator;

/// 1. SIGKILL the operator at seeded random moments while objects are being created, restarting
/// it each time: afterwards exactly one cloud resource per object, no orphan, every object Ready.
#[tokio::test]
async fn sigkill_during_creation_leaves_one_resource_per_object() {
    let _one_at_a_time = serial().await;
    let (n, kills, seed) = (
        knob("OBJECTS", 30) as usize,
        knob("KILLS", 8) as usize,
        seed(),
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5161);
    let fleet = Fleet::shared("chaos-kill", seed, &[]).await;
    // Many kills land between the cloud's create and the status.id write, the window the
    // adoption lookup exists for.
    fleet.slow_creates().await;
    let watch = fleet.watch();
    let mut operator = fleet.operator(&["--concurrency", "4"]);
    let started = Instant::now();
    let mut moments = Vec::new();
    for batch in batches(n, kills) {
        fleet.create(batch).await;
        let moment = Duration::from_millis(rng.random_range(150..1500));
        tokio::time::sleep(moment).await;
        operator.restart();
        moments.push(moment.as_millis());
    }
    let last_kill = Instant::now();
    let (census, converged) = fleet.converge(n, deadline(120)).await;
    let converge = last_kill.elapsed();
    let seen = watch.seen();
    // The emulator counts a POST when it answers: a kill during the answer's delay is not counted.
    let posts = fleet.cloud.total("ecl.tcr.create").await;
    let events = fleet.events().await;

    let remains = fleet.tear_down(deadline(60)).await;
    Figures::new("sigkill")
        .add("seed", seed)
        .add("objects", n)
        .add("kills", kills)
        .add("posts_answered", posts)
        .add(
            "adopted",
            events.get("Normal/Adopted").copied().unwrap_or(0),
        )
        .secs("converge_after_last_kill", converge)
        .secs("total", started.elapsed())
        .ending(&census, &seen, &remains)
        .print();
    println!("  each kill came this long (ms) after its batch of objects was applied: {moments:?}");

    assert_closing(
        "not converged within the deadline",
        &census,
        converged,
        &seen,
        &remains,
    );
}

/// Whether the cloud fails now, and whether the scenario is over (read by [`drive_faults`]).
#[derive(Default)]
struct FaultSwitch {
    on: std::sync::atomic::AtomicBool,
    over: std::sync::atomic::AtomicBool,
}

impl FaultSwitch {
    fn set(&self, on: bool) {
        self.on.store(on, std::sync::atomic::Ordering::SeqCst);
    }
    fn finish(&self) {
        self.set(false);
        self.over.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The fault profile of scenario 2, redrawn every second from the seed while the switch is on:
/// 20% of ECL and SSS calls fail with 500 or 503; 5% of reads and deletes take effect but answer
/// after the operator's `--cloud-timeout`; 10% of creates take effect but answer 500 (in a third
/// of the seconds: answer too late); and about one second in 16, 429s with `Retry-After: 1` on
/// everything. Returns (seconds with faults, seconds of 429 burst).
async fn drive_faults(
    cloud: &support::emulator::Emulator,
    seed: u64,
    switch: &FaultSwitch,
) -> (u64, u64) {
    use std::sync::atomic::Ordering;
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
    let (mut ticks, mut bursts, mut faulty) = (0, 0, false);
    while !switch.over.load(Ordering::SeqCst) {
        if !switch.on.load(Ordering::SeqCst) {
            if faulty {
                cloud.clear_faults().await;
                faulty = false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        faulty = true;
        ticks += 1;
        if rng.random_bool(0.06) {
            bursts += 1;
            let burst = json!({"error_status": 429, "retry_after_s": 1});
            for pattern in ["ecl.*", "sss.*", "ecl.tcr.create"] {
                cloud.set_fault(pattern, burst.clone()).await;
            }
        } else {
            let status = if rng.random_bool(0.5) { 500 } else { 503 };
            // The late failures only apply to calls that got past the early error (80% of them).
            let reads = json!({"error_status": status, "error_rate": 0.2,
                               "commit_then_fail": "timeout", "commit_then_fail_rate": 0.0625, "hang_ms": 2500});
            let late = if rng.random_bool(1.0 / 3.0) {
                json!("timeout")
            } else {
                json!("error")
            };
            let creates = json!({"error_status": status, "error_rate": 0.2,
                                 "commit_then_fail": late, "commit_then_fail_rate": 0.125, "hang_ms": 2500});
            cloud.set_fault("ecl.*", reads.clone()).await;
            cloud.set_fault("sss.*", reads).await;
            cloud.set_fault("ecl.tcr.create", creates).await;
        }
        // The switch is checked every 100 ms, the profile redrawn every second.
        for _ in 0..10 {
            if !switch.on.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    cloud.clear_faults().await;
    (ticks, bursts)
}

/// 2. The cloud fails under the operator while objects are created and while they are deleted:
/// errors, timeouts, 429 bursts and creates that commit but fail. The faults last until the phase
/// is done or for a window (`CLOUDLINK_CHAOS_FAULT_WINDOW_S`; per-object backoff doubles up to
/// 5 minutes, so an unlucky object's next retry can be far off); then the cloud heals and everything
/// must converge without help: every object Ready with exactly one resource, then after deletion
/// nothing left in the cloud.
#[tokio::test]
async fn a_failing_cloud_during_creation_and_deletion_converges_without_duplicates_or_leaks() {
    let _one_at_a_time = serial().await;
    let (n, seed) = (knob("OBJECTS", 30) as usize, seed());
    let window = Duration::from_secs(knob("FAULT_WINDOW_S", 20));
    let fleet = Fleet::shared("chaos-faults", seed, &[]).await;
    let operator = fleet.operator(&["--cloud-timeout", "1s"]);
    let watch = fleet.watch();
    let switch = FaultSwitch::default();
    let run = async {
        let mut f = Figures::new("faults");
        f.add("seed", seed).add("objects", n);

        switch.set(true);
        let started = Instant::now();
        fleet.create(0..n).await;
        let all_ready_once = Fleet::until(window, || async {
            (watch.seen().ever_ready.len() >= n).then_some(())
        })
        .await
        .is_some();
        switch.set(false);
        f.secs("create_under_faults", started.elapsed())
            .add("all_ready_under_faults", all_ready_once);
        let (census, converged) = fleet.converge(n, deadline(120)).await;
        f.secs("converge", started.elapsed());
        let events = fleet.events().await;

        switch.set(true);
        let deleting = Instant::now();
        fleet.delete_all().await;
        let drained_under_faults = Fleet::until(window, || async {
            (fleet.objects().await?.is_empty()).then_some(())
        })
        .await
        .is_some();
        switch.set(false);
        f.secs("delete_under_faults", deleting.elapsed())
            .add("all_deleted_under_faults", drained_under_faults);
        let remains = fleet.remains(deadline(120)).await;
        f.secs("delete", deleting.elapsed());
        switch.finish();
        (f, census, converged, events, remains)
    };
    let ((ticks, bursts), (mut f, census, converged, events, remains)) =
        tokio::join!(drive_faults(&fleet.cloud, seed, &switch), run);
    let seen = watch.seen();
    let answered = support::chaos::failures_answered(&fleet.cloud.counters().await);
    let timeouts = support::chaos::metric(
        &operator,
        "cloudlink_cloud_requests_total",
        &[r#"code="timeout""#],
    )
    .await;
    let calls = support::chaos::metric(&operator, "cloudlink_cloud_requests_total", &[]).await;
    f.add("cloud_calls", calls)
        .add("answered_500", answered.get("500").copied().unwrap_or(0))
        .add("answered_503", answered.get("503").copied().unwrap_or(0))
        .add("answered_429", answered.get("429").copied().unwrap_or(0))
        .add("timeouts", timeouts)
        .add("fault_seconds", ticks)
        .add("burst_seconds", bursts)
        .add(
            "adopted_after_lost_answer",
            events.get("Normal/Adopted").copied().unwrap_or(0),
        )
        .add("ready_lost_on_a_failed_reread", seen.ready_lost)
        .ending(&census, &seen, &remains)
        .print();

    assert_closing(
        "not converged after the cloud healed",
        &census,
        converged,
        &seen,
        &remains,
    );
}

/// 3. kube-apiserver stops in the middle of a run and starts again (etcd keeps the data), on a
/// control plane of this scenario's own: the operator rides it out, and objects applied before and
/// after converge with no manual action.
#[tokio::test]
async fn an_apiserver_restart_mid_run_converges_without_help() {
    let _one_at_a_time = serial().await;
    let (n, seed) = (knob("OBJECTS", 20) as usize, seed());
    let mut rng = StdRng::seed_from_u64(seed ^ 0xa915);
    let started = Instant::now();
    let own = OwnPlane::up().await;
    let plane_up = started.elapsed();
    let fleet = Fleet::on(&own.plane, "chaos-apiserver", seed, &[]).await;
    // Slow creates, two at a time: the restart catches creates and status writes in flight.
    fleet.slow_creates().await;
    let watch = fleet.watch();
    let operator = fleet.operator(&["--concurrency", "2"]);
    let pid = operator.pid();

    let run = Instant::now();
    let (before, after) = (0..n / 2, n / 2..n);
    fleet.create(before).await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
    let down = Instant::now();
    own.restart_apiserver();
    let outage = down.elapsed();
    let back = Instant::now();
    fleet.create(after).await;
    let (census, converged) = fleet.converge(n, deadline(120)).await;
    let converge = back.elapsed();
    let survived = support::chaos::alive(pid);
    let seen = watch.seen();
    let posts = fleet.cloud.total("ecl.tcr.create").await;

    let remains = fleet.tear_down(deadline(60)).await;
    Figures::new("apiserver-restart")
        .add("seed", seed)
        .add("objects", n)
        .secs("control_plane_up", plane_up)
        .secs("outage", outage)
        .add("operator_survived", survived)
        .add("posts_answered", posts)
        .secs("converge_after_restart", converge)
        .secs("run", run.elapsed())
        .ending(&census, &seen, &remains)
        .print();

    assert!(
        survived,
        "the operator exited while kube-apiserver was down:\n{}",
        support::chaos::log_excerpt(&operator.log(), "", 30)
    );
    assert_closing(
        "not converged after the restart",
        &census,
        converged,
        &seen,
        &remains,
    );
}

/// 4. Keystone tokens live a few seconds (`--token-ttl`): the operator authenticates again by
/// itself through creation, approval, updates and deletion, and no error ever reaches a condition
/// (every version of every object is watched) nor an Event.
#[tokio::test]
async fn expiring_tokens_never_reach_a_condition() {
    let _one_at_a_time = serial().await;
    let (n, seed) = (knob("OBJECTS", 20) as usize, seed());
    let ttl = knob("TOKEN_TTL_S", 3);
    let ttl_flag = format!("{ttl}s");
    let fleet = Fleet::shared(
        "chaos-tokens",
        seed,
        &["--token-ttl", &ttl_flag, "--auto-approve-after", "1s"],
    )
    .await;
    let watch = fleet.watch();
    // Ready objects are re-read every 2 s (more objects: less often, within the cloud rate limit).
    let resync = format!("{}s", (n / 10).max(2));
    let operator = fleet.operator(&["--resync", &resync]);
    let started = Instant::now();

    fleet.create(0..n).await;
    let approved = |o: &serde_json::Value| {
        support::scenario::condition_of(o, "Approved").is_some_and(|c| c["status"] == "True")
    };
    let (census, converged) = fleet.converge_on(n, deadline(90), approved).await;
    let converge = started.elapsed();
    // Updates (PUT) under the same churn: every object's tags change.
    for i in 0..n {
        let patch = json!({"spec": {"resource": {"tags": {"suite": "chaos", "round": "2"}}}});
        let name = Fleet::name(i);
        fleet.plane.kubectl_ok(
            &[
                "patch",
                "-n",
                &fleet.ns,
                "tcr",
                &name,
                "--type=merge",
                "-p",
                &patch.to_string(),
            ],
            None,
        );
    }
    let updated = Fleet::until(deadline(60), || async {
        let requests = fleet.cloud_requests().await;
        (requests.len() == n && requests.iter().all(|r| r["tags"]["round"] == "2")).then_some(())
    })
    .await
    .is_some();
    let remains = fleet.tear_down(deadline(60)).await;
    let run = started.elapsed();

    let seen = watch.seen();
    let events = fleet.events().await;
    let warnings: u64 = events
        .iter()
        .filter(|(k, _)| k.starts_with("Warning/"))
        .map(|(_, n)| n)
        .sum();
    let counters = fleet.cloud.counters().await;
    let tokens = counters["identity.token.create"]["201"]
        .as_u64()
        .unwrap_or(0);
    let expired_presented: u64 = counters
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, by)| by["401"].as_u64())
        .sum();
    let issued =
        support::chaos::metric(&operator, "cloudlink_keystone_tokens_issued_total", &[]).await;
    Figures::new("token-expiry")
        .add("seed", seed)
        .add("objects", n)
        .add("token_ttl", &ttl_flag)
        .add(
            "token_lifetimes",
            format!("{:.1}", run.as_secs_f64() / ttl as f64),
        )
        .add("tokens_issued", tokens)
        .add("tokens_issued_by_operator", issued)
        .add("answered_401", expired_presented)
        .add("error_conditions_seen", seen.errors.len())
        .add("warning_events", warnings)
        .add("status_versions_watched", seen.updates)
        .secs("converge_approved", converge)
        .secs("run", run)
        .ending(&census, &seen, &remains)
        .print();

    assert_closing(
        "not Ready and Approved within the deadline",
        &census,
        converged,
        &seen,
        &remains,
    );
    assert!(
        updated,
        "the tag update did not reach the cloud: {:?}",
        fleet.cloud_requests().await
    );
    assert!(
        tokens >= 3,
        "the run did not outlive its tokens ({tokens} issued): lengthen it or shorten --token-ttl"
    );
    assert!(
        seen.errors.is_empty(),
        "an error reached a condition: {:#?}",
        seen.errors
    );
    assert_eq!(warnings, 0, "warning Events: {events:?}");
}

/// Starts `op` again if it exited by itself (a leader that could not renew its Lease in time stops
/// the process, as designed; a Deployment would restart it). Returns whether it had to.
fn revive(op: &mut Operator) -> bool {
    if support::chaos::alive(op.pid()) {
        return false;
    }
    op.restart();
    true
}

/// 5. Two candidates with leader election; the leader is SIGKILLed at seeded moments while objects
/// are being created, the standby takes over, the killed one comes back as the new standby. No
/// object ever points at a second resource, no duplicate in the cloud.
#[tokio::test]
async fn killing_the_leader_repeatedly_makes_no_duplicate() {
    let _one_at_a_time = serial().await;
    let (n, kills, seed) = (
        knob("OBJECTS", 20) as usize,
        knob("LEADER_KILLS", 4) as usize,
        seed(),
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1ead);
    let fleet = Fleet::shared("chaos-leader", seed, &[]).await;
    fleet.slow_creates().await;
    let watch = fleet.watch();
    let lease = "chaos-leader";
    let flags = [
        "--leader-elect",
        "--lease-name",
        lease,
        "--lease-namespace",
        &fleet.ns,
        "--lease-duration",
        "4s",
        "--concurrency",
        "2",
    ];
    let mut candidates = [fleet.operator(&flags), fleet.operator(&flags)];
    let holder = |ops: &[Operator; 2], h: &str| {
        ops.iter()
            .position(|o| h.starts_with(&format!("cloudlink-{}-", o.pid())))
    };
    let started = Instant::now();
    let (mut takeovers, mut self_exits) = (Vec::new(), 0);

    for batch in batches(n, kills) {
        let waiting = Instant::now();
        let (leader, identity) = loop {
            self_exits += candidates
                .iter_mut()
                .map(|c| usize::from(revive(c)))
                .sum::<usize>();
            if let Some(h) = fleet.plane.lease_holder(&fleet.ns, lease).await
                && let Some(i) =
                    holder(&candidates, &h).filter(|&i| support::chaos::alive(candidates[i].pid()))
            {
                break (i, h);
            }
            assert!(
                waiting.elapsed() < deadline(60),
                "no leader among the candidates"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        fleet.create(batch).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..2000))).await;
        // The killed one comes back at once as a candidate: either may win the expired Lease.
        candidates[leader].restart();
        let killed = Instant::now();
        let took = Fleet::until(deadline(60), || async {
            let h = fleet.plane.lease_holder(&fleet.ns, lease).await?;
            (h != identity && holder(&candidates, &h).is_some()).then_some(())
        })
        .await;
        takeovers.push(if took.is_some() {
            format!("{:.1}", killed.elapsed().as_secs_f64())
        } else {
            "none".into()
        });
    }
    let last_kill = Instant::now();
    let (census, converged) = fleet.converge(n, deadline(120)).await;
    let converge = last_kill.elapsed();
    let seen = watch.seen();
    let posts = fleet.cloud.total("ecl.tcr.create").await;
    let events = fleet.events().await;

    let remains = fleet.tear_down(deadline(60)).await;
    Figures::new("leader-kill")
        .add("seed", seed)
        .add("objects", n)
        .add("leader_kills", kills)
        .add("takeover_s", takeovers.join("/"))
        .add("self_exits", self_exits)
        .add("posts_answered", posts)
        .add(
            "created_events",
            events.get("Normal/Created").copied().unwrap_or(0),
        )
        .add(
            "adopted",
            events.get("Normal/Adopted").copied().unwrap_or(0),
        )
        .secs("converge_after_last_kill", converge)
        .secs("total", started.elapsed())
        .ending(&census, &seen, &remains)
        .print();

    assert!(
        takeovers.iter().all(|t| t != "none"),
        "the standby did not take over every time: {takeovers:?}"
    );
    assert_closing(
        "not converged within the deadline",
        &census,
        converged,
        &seen,
        &remains,
    );
}

/// Found by the long versions (200 objects): with default flags and no fault at all, requests that
/// wait for their approval are re-read every 10 s with two calls each; past ~100 of them one
/// credential's default budget (`--cloud-rate 20`) is spent on these re-reads alone, every
/// concurrency slot waits on the rate limiter, and the objects the controller has not started yet
/// are never started (kube-runtime takes held work in hash order, not first-come first-served).
/// Measured: 69 of 200 objects without even a finalizer after 4 minutes, calls pinned at 20.0/s;
/// with `--cloud-rate 100` all 200 are Ready in 14 s.
#[tokio::test]
#[ignore = "long (200 objects, about 95 s): run with --ignored; was the approval-backlog starvation bug, fixed by batched re-checks of waiting requests"]
async fn two_hundred_requests_awaiting_approval_are_all_reconciled() {
    let _one_at_a_time = serial().await;
    let (n, seed) = (knob("STARVATION_OBJECTS", 200) as usize, seed());
    let fleet = Fleet::shared("chaos-starve", seed, &[]).await;
    let _operator = fleet.operator(&[]);
    let started = Instant::now();
    fleet.create(0..n).await;
    let (census, converged) = fleet.converge(n, deadline(120)).await;
    let never_started = fleet
        .objects()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|o| {
            o["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty())
        })
        .count();
    let calls: u64 = fleet
        .cloud
        .counters()
        .await
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, by)| by.as_object().into_iter().flatten())
        .filter_map(|(_, n)| n.as_u64())
        .sum();
    Figures::new("approval-backlog")
        .add("seed", seed)
        .add("objects", n)
        .add("ready", census.ready)
        .add("never_started", never_started)
        .add(
            "cloud_calls_per_s",
            format!("{:.1}", calls as f64 / started.elapsed().as_secs_f64()),
        )
        .secs("run", started.elapsed())
        .print();
    fleet.tear_down(deadline(120)).await;
    assert!(
        converged,
        "{never_started} of {n} objects were never reconciled: {census:?}"
    );
}
