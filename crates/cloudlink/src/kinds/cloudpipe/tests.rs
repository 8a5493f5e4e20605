//! The cloudpipe's pure decisions: what its server and entry mean, and what a configure sends.

use super::*;
use crate::api::cloudpipe::{CloudpipeResourceSpec, CloudpipeSpec, VpnEndpoint};
use crate::api::common::CloudCredentialsRef;

fn object(vpn: Option<(&str, i32)>) -> Cloudpipe {
    Cloudpipe::new(
        "vpn",
        CloudpipeSpec {
            management: ManagementSpec {
                cloud_credentials_ref: CloudCredentialsRef {
                    secret_name: "s".into(),
                    cloud_name: "c".into(),
                },
                management_policy: Default::default(),
                on_delete: Default::default(),
                import: None,
                resync_period: None,
                export: None,
            },
            resource: Some(CloudpipeResourceSpec {
                project_id: None,
                vpn: vpn.map(|(ip, port)| VpnEndpoint {
                    public_ip: ip.into(),
                    public_port: port,
                }),
            }),
        },
    )
}

fn observed(status: &str, public: Option<(&str, i64)>) -> ObservedCloudpipe {
    ObservedCloudpipe {
        server: Server {
            id: "srv".into(),
            status: status.into(),
            ..Default::default()
        },
        entry: Some(nova::CloudpipeEntry {
            project_id: "p".into(),
            instance_id: "srv".into(),
            public_ip: public.map(|p| p.0.into()),
            public_port: public.map(|p| p.1),
            ..Default::default()
        }),
    }
}

#[test]
fn building_is_progressing_and_active_is_ready() {
    assert!(matches!(
        phase(&object(None), &observed("BUILD", None)),
        Phase::Progressing {
            reason: Reason::Progressing,
            ..
        }
    ));
    assert!(matches!(
        phase(&object(None), &observed("ACTIVE", None)),
        Phase::Ready { .. }
    ));
}

#[test]
fn error_is_stalled() {
    assert!(matches!(
        phase(&object(None), &observed("ERROR", None)),
        Phase::Stalled {
            reason: Reason::UnrecoverableError,
            ..
        }
    ));
}

#[test]
fn active_with_the_wrong_vpn_address_is_not_ready() {
    let want = object(Some(("203.0.113.10", 1194)));
    assert!(matches!(
        phase(&want, &observed("ACTIVE", Some(("203.0.113.9", 1194)))),
        Phase::Progressing { .. }
    ));
    assert!(matches!(
        phase(&want, &observed("ACTIVE", Some(("203.0.113.10", 1194)))),
        Phase::Ready { .. }
    ));
}

#[test]
fn the_view_carries_what_nova_reported() {
    let v = view(&observed("ACTIVE", Some(("203.0.113.10", 1194))));
    assert_eq!(v.instance_id.as_deref(), Some("srv"));
    assert_eq!(v.server_status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        (v.public_ip.as_deref(), v.public_port),
        (Some("203.0.113.10"), Some(1194))
    );
}
