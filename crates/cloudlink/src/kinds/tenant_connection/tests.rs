//! The connection's pure decisions.

use std::time::Duration;

use super::assessment::{attachment_body, changes, phase, request_allows_connection};
use crate::api::tenant_connection::{
    AttachmentOpts, Device, DeviceType, FixedIp, SegmentationType, TenantConnectionResourceSpec,
};
use crate::engine::adapter::AdapterError;
use crate::engine::outcome::{Phase, Reason};
use cloudlink_cloud::connections::TenantConnectionRecord;
use cloudlink_cloud::ecl::TenantConnectionRequestRecord;
use serde_json::json;

fn request(status: &str) -> TenantConnectionRequestRecord {
    TenantConnectionRequestRecord {
        id: "r1".into(),
        status: status.into(),
        tenant_id_other: "owner".into(),
        ..Default::default()
    }
}

#[test]
fn only_an_approved_request_takes_a_connection() {
    let wait = Duration::from_secs(30);
    assert!(request_allows_connection(&request("approved"), wait).is_ok());
    match request_allows_connection(&request("registered"), wait) {
        Err(AdapterError::Waiting {
            reason: Reason::AwaitingApproval,
            message,
            poll,
        }) => {
            assert!(message.contains("tenant owner"), "{message}");
            assert_eq!(poll, wait);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        request_allows_connection(&request("denied"), wait),
        Err(AdapterError::Spec { .. })
    ));
}

#[test]
fn active_is_ready_and_its_port_is_named() {
    let connection = TenantConnectionRecord {
        id: "c1".into(),
        status: "active".into(),
        port_id: "p1".into(),
        ..Default::default()
    };
    match phase(&connection) {
        Phase::Ready { message, .. } => assert!(message.contains("p1")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_changed_labels_are_sent_and_the_marks_stay() {
    let spec = TenantConnectionResourceSpec {
        request_ref: None,
        tenant_connection_request_id: Some("r1".into()),
        device: Device {
            device_type: DeviceType::ComputeServer,
            id: "s".into(),
            interface_id: None,
        },
        attachment_opts: None,
        name: Some("web".into()),
        description: None,
        tags: [("team".to_owned(), "a".to_owned())].into(),
    };
    let mut current = TenantConnectionRecord {
        name: "web".into(),
        tags: [
            ("team".to_owned(), "a".to_owned()),
            ("cloudlink.dev/uid".to_owned(), "u".to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    assert_eq!(changes(&spec, &current), None);
    current.tags.remove("team");
    let update = changes(&spec, &current).unwrap();
    assert_eq!(update.tags.unwrap().get("cloudlink.dev/uid").unwrap(), "u");
    assert_eq!(update.name, None);
}

#[test]
fn attachment_options_use_the_apis_names() {
    let body = attachment_body(&AttachmentOpts {
        fixed_ips: vec![FixedIp {
            ip_address: "192.168.1.1".into(),
            subnet_id: Some("sub".into()),
        }],
        allowed_address_pairs: vec![],
        segmentation_type: Some(SegmentationType::Vlan),
        segmentation_id: Some(100),
    });
    assert_eq!(
        body,
        json!({"fixed_ips": [{"ip_address": "192.168.1.1", "subnet_id": "sub"}],
               "segmentation_type": "vlan", "segmentation_id": 100})
    );
}
