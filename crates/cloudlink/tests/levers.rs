//! Pause and reconcile-now against the real API server and the emulator: the annotations a user
//! sets with `kubectl annotate`, and what the cloud (the emulator's counters) and status show.

use cloudlink_testkit as support;

use serde_json::{Value, json};
use support::emulator::eventually;
use support::scenario::{DEADLINE, World, condition_of, request};

/// Requests the emulator has seen on ECL and SSS routes, by route and outcome.
async fn cloud_calls(w: &World) -> Value {
    let counters = w.cloud.counters().await;
    let calls: serde_json::Map<String, Value> = counters
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.starts_with("ecl.") || route.starts_with("sss."))
        .map(|(route, outcomes)| (route.clone(), outcomes.clone()))
        .collect();
    Value::Object(calls)
}

/// `cloudlink_reconciles_total` for requests that ended paused.
async fn paused_reconciles(w: &World) -> f64 {
    let url = w.operator.http_url();
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("scrape /metrics")
        .text()
        .await
        .unwrap();
    let series = r#"cloudlink_reconciles_total{kind="TenantConnectionRequest",result="paused"}"#;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn annotate(w: &World, name: &str, annotations: Value) {
    w.patch(
        "tcr",
        name,
        &json!({"metadata": {"annotations": annotations}}),
    );
}

#[tokio::test]
async fn a_paused_object_leaves_the_cloud_and_its_status_alone_until_resumed() {
    let w = World::start("pause", &[], &[]);
    let mut object = request("r", json!({}));
    object["spec"]["resource"]["description"] = json!("first");
    w.apply(&object);
    w.condition("tcr", "r", "Ready", "True", None).await;

    annotate(&w, "r", json!({"cloudlink.dev/paused": "true"}));
    let paused = w
        .condition("tcr", "r", "Paused", "True", Some("Paused"))
        .await;
    w.event("Paused").await;
    let calls = cloud_calls(&w).await;
    let reconciles = paused_reconciles(&w).await;

    // A spec change reaches the operator (one more paused reconcile) and goes no further.
    w.patch(
        "tcr",
        "r",
        &json!({"spec": {"resource": {"description": "second"}}}),
    );
    eventually(DEADLINE, "the spec change seen while paused", || async {
        (paused_reconciles(&w).await > reconciles).then_some(())
    })
    .await;
    assert_eq!(cloud_calls(&w).await, calls, "no cloud call while paused");
    let still = w.get("tcr", "r").unwrap();
    assert_eq!(
        still["status"], paused["status"],
        "no status change while paused"
    );
    let cloud = w.cloud_list("tenant_connection_requests").await;
    assert_eq!(cloud[0]["description"], "first");

    annotate(&w, "r", json!({"cloudlink.dev/paused": null}));
    let resumed = eventually(DEADLINE, "the update after resuming", || async {
        let object = w.get("tcr", "r")?;
        let done = object["status"]["observedGeneration"] == object["metadata"]["generation"]
            && condition_of(&object, "Ready").is_some_and(|c| c["status"] == "True");
        done.then_some(object)
    })
    .await;
    assert!(condition_of(&resumed, "Paused").is_none(), "{resumed:#}");
    let cloud = w.cloud_list("tenant_connection_requests").await;
    assert_eq!(cloud[0]["description"], "second");
}

#[tokio::test]
async fn a_requested_reconcile_reads_the_cloud_once_per_token() {
    // A long resync: any read below comes from the request, not from the tick.
    let w = World::start("refresh", &[], &["--resync", "1h"]);
    w.apply(&request("r", json!({})));
    let ready = w.condition("tcr", "r", "Ready", "True", None).await;
    let gets = || async { w.cloud.total("ecl.tcr.get").await };
    let before = eventually(DEADLINE, "the request's reads to settle", || async {
        let first = gets().await;
        let object = w.get("tcr", "r")?;
        // Settled: Ready at its generation, and no read in flight.
        (object["status"]["observedGeneration"] == object["metadata"]["generation"]
            && gets().await == first)
            .then_some(first)
    })
    .await;
    assert!(ready["status"]["lastHandledReconcileAt"].is_null());

    annotate(
        &w,
        "r",
        json!({"cloudlink.dev/reconcile-requested-at": "2026-12-03T10:00:00Z"}),
    );
    eventually(DEADLINE, "the token handled", || async {
        let object = w.get("tcr", "r")?;
        (object["status"]["lastHandledReconcileAt"] == "2026-12-03T10:00:00Z").then_some(())
    })
    .await;
    assert_eq!(gets().await, before + 1, "one read for the token");

    // The same token again (an unrelated annotation changes): nothing is read.
    annotate(&w, "r", json!({"team": "network"}));
    annotate(
        &w,
        "r",
        json!({"reconcile.fluxcd.io/requestedAt": "flux-1", "cloudlink.dev/reconcile-requested-at": null}),
    );
    eventually(DEADLINE, "Flux's token handled", || async {
        let object = w.get("tcr", "r")?;
        (object["status"]["lastHandledReconcileAt"] == "flux-1").then_some(())
    })
    .await;
    assert_eq!(
        gets().await,
        before + 2,
        "one read per token, none for the rest"
    );
}
