//! Failures: what waiting may cure is retried with a backoff that grows per failure and starts
//! again after a success; what only a change cures stalls and waits for that change.

use std::time::Duration;

use kube::runtime::controller::Action;

use super::cloud::{POLL, invalid, unavailable};
use super::harness::{Harness, about, requeue_after};
use super::widget::{SECRET, managed};
use cloudlink_cloud::CloudError;

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_growing_backoff_that_a_success_resets() {
    let h = Harness::start();
    h.apply(managed("w"));
    for _ in 0..3 {
        h.cloud.refuse_next("create", unavailable());
    }

    for expected in [1, 2, 4] {
        let action = h.reconcile("w").await;
        assert!(about(&action, Duration::from_secs(expected)), "{action:?}");
        let (ready, reason, message) = h.ready("w");
        assert_eq!(
            (ready.as_str(), reason.as_str()),
            ("False", "TransientError")
        );
        assert!(message.contains("503"), "{message}");
        assert_eq!(h.condition("w", "Reconciling").status, "True");
        assert_eq!(h.condition("w", "Stalled").status, "False");
    }
    assert_eq!(h.ctx.backoff.tracked(), 1);

    let action = h.reconcile("w").await;
    assert!(Harness::polls_within(&action, POLL), "{action:?}");
    assert_eq!(h.ctx.backoff.tracked(), 0);
    assert_eq!(h.cloud.calls("create"), 4);
    assert_eq!(h.cloud.widgets().len(), 1);

    // The count starts again: the next failure waits the base delay (the widget is on its way,
    // so the next read is the credential's batched reading).
    h.cloud.refuse_next("list", unavailable());
    let action = h.reconcile("w").await;
    assert!(about(&action, Duration::from_secs(1)), "{action:?}");
}

#[tokio::test(start_paused = true)]
async fn the_clouds_retry_after_is_a_floor_of_the_backoff() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.cloud.refuse_next(
        "create",
        CloudError::RateLimited {
            request: "POST http://cloud.invalid/widgets".into(),
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(30)),
        },
    );

    let action = h.reconcile("w").await;

    assert_eq!(requeue_after(&action), Some(Duration::from_secs(30)));
    assert_eq!(h.ready("w").1, "TransientError");
}

#[tokio::test(start_paused = true)]
async fn terminal_errors_stall_until_the_spec_changes() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.cloud.refuse_next("create", invalid());

    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    let message = h.stalled("w", "InvalidConfiguration");
    assert!(message.contains("name is not allowed"), "{message}");
    assert_eq!(h.ctx.backoff.tracked(), 0);
    let warning = &h.events("w")[0];
    assert!(warning.warning && warning.reason == "InvalidConfiguration");

    h.edit("w", |w| {
        w.spec.resource.as_mut().unwrap().name = "w2".into()
    });
    h.settle("w").await;

    assert_eq!(h.ready("w").0, "True");
    // The refused create was marked, so the lookup ran once before the second create.
    assert_eq!(h.cloud.calls("find_own"), 1);
    assert_eq!(h.cloud.calls("create"), 2);
    assert_eq!(h.cloud.widgets().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn rejected_credentials_stall_before_any_create_is_marked() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.credentials.reject(true);

    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    let message = h.stalled("w", "InvalidConfiguration");
    assert!(message.contains("401"), "{message}");
    assert!(h.object("w").status.unwrap().create_requested.is_none());
    assert_eq!(h.cloud.calls("create"), 0);

    h.credentials.reject(false);
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    assert_eq!(h.cloud.calls("find_own"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_missing_secret_stalls_until_it_appears() {
    let h = Harness::start();
    h.credentials.remove_secret(SECRET);
    h.apply(managed("w"));

    let action = h.reconcile("w").await;

    assert_eq!(action, Action::await_change());
    let message = h.stalled("w", "InvalidConfiguration");
    assert!(message.contains("Secret default/cloud"), "{message}");
    assert!(!h.credentials.guarded(SECRET));

    h.credentials.add_secret(SECRET);
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
    assert!(h.credentials.guarded(SECRET));
}

#[tokio::test(start_paused = true)]
async fn a_failing_api_server_is_retried_by_the_error_policy() {
    let h = Harness::start();
    h.apply(managed("w"));
    h.api.fail_next("add finalizer");

    let action = h.reconcile("w").await;

    assert!(about(&action, Duration::from_secs(1)), "{action:?}");
    assert_eq!(
        h.cloud.calls("create"),
        0,
        "nothing reaches the cloud without the finalizer"
    );
    h.settle("w").await;
    assert_eq!(h.ready("w").0, "True");
}
