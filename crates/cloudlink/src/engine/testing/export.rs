//! `spec.export`: the ConfigMap that publishes the cloud's answer.

use super::harness::Harness;
use super::widget::managed;
use crate::api::common::ExportSpec;

fn exporting(name: &str, config_map: &str) -> crate::engine::testing::widget::Widget {
    let mut widget = managed(name);
    widget.spec.management.export = Some(ExportSpec {
        config_map_name: config_map.into(),
    });
    widget
}

#[tokio::test(start_paused = true)]
async fn the_export_follows_the_cloud_and_is_written_only_when_it_changes() {
    let h = Harness::start();
    h.apply(exporting("w", "w-out"));

    h.settle("w").await;

    let id = h.id("w").unwrap();
    let map = h.api.config_map("w-out").expect("the ConfigMap is created");
    let data = map.data.unwrap();
    assert_eq!(data.get("id"), Some(&id));
    let owner = &map.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Widget", Some(true))
    );
    assert_eq!(h.condition("w", "Exported").status, "True");

    // A resync with nothing new writes nothing.
    h.journal.take();
    h.reconcile("w").await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());

    h.edit("w", |w| {
        w.spec.resource.as_mut().unwrap().description = "changed".into()
    });
    h.reconcile("w").await;
    let data = h.api.config_map("w-out").unwrap().data.unwrap();
    assert_eq!(data.get("description").map(String::as_str), Some("changed"));
}

#[tokio::test(start_paused = true)]
async fn a_config_map_cloudlink_did_not_create_is_left_alone() {
    let h = Harness::start();
    h.api.add_config_map("taken");
    h.apply(exporting("w", "taken"));

    h.settle("w").await;

    assert_eq!(h.ready("w").0, "True", "the cloud resource itself is fine");
    let exported = h.condition("w", "Exported");
    assert_eq!(
        (exported.status.as_str(), exported.reason.as_str()),
        ("False", "Conflict")
    );
    assert!(
        exported.message.contains("spec.export.configMapName"),
        "{}",
        exported.message
    );
    assert!(
        h.api.config_map("taken").unwrap().data.is_none(),
        "not written to"
    );
    let refusals = h
        .event_reasons("w")
        .iter()
        .filter(|r| *r == "ExportRefused")
        .count();
    assert_eq!(refusals, 1, "one Event, not one per reconcile");

    // Without spec.export the condition goes.
    h.edit("w", |w| w.spec.management.export = None);
    h.reconcile("w").await;
    let status = h.object("w").status.unwrap();
    assert!(!status.conditions.iter().any(|c| c.type_ == "Exported"));
}
