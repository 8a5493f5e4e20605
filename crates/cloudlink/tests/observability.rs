//! What an operator's operator sees: `/healthz`, `/readyz` and `/metrics` moving with a scenario.

use cloudlink_testkit as support;

use serde_json::json;
use support::emulator::eventually;
use support::scenario::{DEADLINE, World, cloudpipe, request};

async fn scrape(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("scrape /metrics")
        .text()
        .await
        .unwrap()
}

/// The value of the sample whose line starts with `series` (`name{labels}`), 0 if absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn health_readiness_and_metrics_follow_the_scenario() {
    let w = World::start("metrics", &[], &[]);
    let url = w.operator.http_url();
    eventually(DEADLINE, "/readyz to answer 200", || async {
        let response = reqwest::get(format!("{url}/readyz")).await.ok()?;
        (response.status().as_u16() == 200).then_some(())
    })
    .await;
    assert_eq!(
        reqwest::get(format!("{url}/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    w.apply(&cloudpipe("vpn", json!({})));
    w.apply(&request("req", json!({})));
    w.condition("cloudpipe", "vpn", "Ready", "True", None).await;
    w.condition("tcr", "req", "Ready", "True", None).await;
    let metrics = eventually(DEADLINE, "both objects counted Ready", || async {
        let m = scrape(&url).await;
        (sample(&m, r#"cloudlink_objects{kind="Cloudpipe",ready="true"}"#) == 1.0
            && sample(
                &m,
                r#"cloudlink_objects{kind="TenantConnectionRequest",ready="true"}"#,
            ) == 1.0)
            .then_some(m)
    })
    .await;
    assert!(
        sample(
            &metrics,
            r#"cloudlink_reconciles_total{kind="Cloudpipe",result="ready"}"#
        ) >= 1.0,
        "{metrics}"
    );
    assert!(
        sample(
            &metrics,
            r#"cloudlink_reconciles_total{kind="Cloudpipe",result="progressing"}"#
        ) >= 1.0,
        "the build was polled: {metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"cloudlink_cloud_requests_total{service="compute",operation="create_cloudpipe",code="200"}"#
        ),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        w.cloud.total("nova.cloudpipe.create").await,
        1,
        "the metric matches what the cloud saw"
    );
    // Both objects use the same Secret: one token serves them.
    assert_eq!(
        sample(&metrics, "cloudlink_keystone_tokens_issued_total"),
        1.0,
        "{metrics}"
    );
    assert_eq!(w.cloud.total("identity.token.create").await, 1);
    assert!(
        metrics.contains("cloudlink_reconcile_duration_seconds_bucket"),
        "{metrics}"
    );

    w.delete("cloudpipe", "vpn");
    w.gone("cloudpipe", "vpn").await;
    eventually(DEADLINE, "the deleted object to leave the gauge", || async {
        let m = scrape(&url).await;
        (sample(&m, r#"cloudlink_objects{kind="Cloudpipe",ready="true"}"#) == 0.0
            && sample(&m, r#"cloudlink_cloud_requests_total{service="compute",operation="delete_server",code="204"}"#) == 1.0)
            .then_some(())
    })
    .await;
}
