//! Batched observation, as the cloud sees it: once objects are Ready, a resync reads each
//! credential's resources with one LIST per route, whatever the number of objects, and never one
//! GET per object; a resource the LIST no longer shows is still noticed and recreated.

use cloudlink_testkit as support;

use std::time::Instant;

use serde_json::json;
use support::emulator::eventually;
use support::scenario::{DEADLINE, World, cloudpipe, request};

const REQUESTS: usize = 8;
const PROJECTS: [&str; 3] = [
    "b1a7c0de00000000000000000000000a",
    "b1a7c0de00000000000000000000000b",
    "b1a7c0de00000000000000000000000c",
];
const RESYNC_SECONDS: u64 = 3;

/// The routes a resync may use, and those it must not.
const LISTS: [&str; 3] = ["ecl.tcr.list", "nova.cloudpipe.list", "nova.server.list"];
const GETS: [&str; 3] = ["ecl.tcr.get", "sss.approval.get", "nova.server.get"];

#[tokio::test]
async fn resyncs_read_each_credential_with_one_list_per_route_not_one_get_per_object() {
    let resync = format!("{RESYNC_SECONDS}s");
    let w = World::start(
        "batch",
        &["--auto-approve-after", "300ms"],
        &["--resync", &resync],
    );
    for i in 0..REQUESTS {
        w.apply(&request(&format!("r{i}"), json!({})));
    }
    for (i, project) in PROJECTS.iter().enumerate() {
        w.apply(&cloudpipe(&format!("p{i}"), json!({"projectId": project})));
    }
    for i in 0..REQUESTS {
        w.condition("tcr", &format!("r{i}"), "Approved", "True", Some("Success"))
            .await;
    }
    for i in 0..PROJECTS.len() {
        w.condition(
            "cloudpipe",
            &format!("p{i}"),
            "Ready",
            "True",
            Some("Success"),
        )
        .await;
    }

    // Let one tick pass first: an object that just turned Ready may still read on its own once.
    let first = w.cloud.total("nova.server.list").await;
    eventually(DEADLINE, "a resync tick", || async {
        (w.cloud.total("nova.server.list").await > first).then_some(())
    })
    .await;

    let before = counts(&w).await;
    let started = Instant::now();
    let ticks_wanted = 3;
    eventually(DEADLINE, "three more resync ticks", || async {
        (w.cloud.total("nova.server.list").await >= before["nova.server.list"] + ticks_wanted)
            .then_some(())
    })
    .await;
    let after = counts(&w).await;
    let elapsed = started.elapsed();

    let ticks = elapsed.as_secs() / RESYNC_SECONDS + 2;
    for route in GETS {
        assert_eq!(
            after[route], before[route],
            "{route}: a steady resync made per-object reads ({before:?} → {after:?})"
        );
    }
    for route in LISTS {
        let lists = after[route] - before[route];
        assert!(
            (1..=ticks).contains(&lists),
            "{route}: {lists} lists in {elapsed:?} ({ticks} ticks at most) for {REQUESTS} requests and {} cloudpipes",
            PROJECTS.len()
        );
    }
    assert_eq!(
        after["ecl.tcr.create"], REQUESTS as u64,
        "one create per request"
    );

    // A request deleted behind cloudlink's back is missing from the next reading: the object reads
    // it on its own, finds it gone, and creates it again.
    let object = w.get("tcr", "r0").unwrap();
    let old_id = object["status"]["id"].as_str().unwrap().to_owned();
    w.cloud.delete_tcr(&old_id).await;
    eventually(DEADLINE, "r0 recreated", || async {
        let id = w.get("tcr", "r0")?["status"]["id"].as_str()?.to_owned();
        (id != old_id).then_some(())
    })
    .await;
    w.event("Recreating").await;
}

async fn counts(w: &World) -> std::collections::BTreeMap<&'static str, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for route in LISTS.into_iter().chain(GETS).chain(["ecl.tcr.create"]) {
        counts.insert(route, w.cloud.total(route).await);
    }
    counts
}
