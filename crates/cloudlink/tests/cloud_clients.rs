//! The Rust cloud clients (`cloudlink_cloud`) against the cloud emulator: every client method,
//! and every typed error the reconciler relies on — 401 → exactly one re-authentication, 410,
//! 429/503 with Retry-After, timeouts, connection resets, malformed bodies, and a POST that is
//! never sent twice. The emulator's admin API injects the faults and counts the requests.
//!
//! Malformed answers come from a tiny raw HTTP server in this file (the emulator only speaks
//! well-formed JSON); Keystone is still the emulator's, and clouds.yaml's
//! `compute_endpoint_override` points compute at the raw server.

use cloudlink_testkit as support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudlink_cloud::{
    ApprovalApi, ApprovalDecision, ApprovalFilter, CloudError, CloudSession, CloudpipeApi,
    CreateTenantConnectionRequest, EclClient, NovaClient, SessionKey, SessionOptions, SssClient,
    TenantConnectionApi, TenantConnectionRequestFilter, UpdateTenantConnectionRequest,
};
use serde_json::json;
use support::emulator::{ADMIN, Account, DEMO, Emulator, OWNER, eventually};

const DEADLINE: Duration = Duration::from_secs(20);

fn session_from(yaml: &str, timeout: Duration) -> CloudSession {
    let key = SessionKey::from_clouds_yaml(yaml, "emulator", None).expect("clouds.yaml parses");
    CloudSession::new(
        key,
        SessionOptions {
            timeout,
            ..SessionOptions::default()
        },
    )
    .expect("session")
}

fn session(emulator: &Emulator, account: &Account) -> CloudSession {
    session_from(&emulator.clouds_yaml(account), Duration::from_secs(10))
}

async fn tokens_issued(emulator: &Emulator) -> u64 {
    emulator.count("identity.token.create", "201").await
}

fn network_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// ----- Nova

#[tokio::test]
async fn cloudpipe_lifecycle_with_one_shared_token() {
    let emulator = Emulator::start(&[
        "--server-build-delay",
        "300ms",
        "--server-delete-delay",
        "200ms",
    ]);
    let session = session(&emulator, &ADMIN);
    let nova = NovaClient::new(&session);

    assert_eq!(nova.project_id().await.unwrap(), ADMIN.project_id);
    assert!(nova.list_cloudpipes().await.unwrap().is_empty());

    // Create is idempotent per project in Nova: the second POST returns the same server.
    let id = nova
        .create_cloudpipe(None)
        .await
        .expect("create in the token's project");
    assert_eq!(nova.create_cloudpipe(None).await.unwrap(), id);
    assert_eq!(
        nova.create_cloudpipe(Some(ADMIN.project_id)).await.unwrap(),
        id
    );
    let other = nova
        .create_cloudpipe(Some(OWNER.project_id))
        .await
        .expect("create for another project (admin may)");
    assert_ne!(other, id);

    let list = nova.list_cloudpipes().await.unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let mine = list
        .iter()
        .find(|c| c.project_id == ADMIN.project_id)
        .expect("our cloudpipe is listed");
    assert_eq!(mine.instance_id, id);
    assert!(mine.created_at.is_some());

    let server = nova.get_server(&id).await.unwrap();
    assert_eq!(server.id, id);
    assert_eq!(server.name, format!("{}-vpn", ADMIN.project_id));
    let active = eventually(DEADLINE, "the VPN server turns ACTIVE", || async {
        let s = nova.get_server(&id).await.unwrap();
        (s.status == "ACTIVE").then_some(s)
    })
    .await;
    assert_eq!(active.vm_state.as_deref(), Some("active"));

    let ip: IpAddr = "203.0.113.10".parse().unwrap();
    nova.configure_project(ip, 1194)
        .await
        .expect("configure-project (202, empty body)");
    let list = nova.list_cloudpipes().await.unwrap();
    let mine = list
        .iter()
        .find(|c| c.project_id == ADMIN.project_id)
        .unwrap();
    assert_eq!(mine.public_ip.as_deref(), Some("203.0.113.10"));
    assert_eq!(
        mine.public_port,
        Some(1194),
        "the port is sent as a string and read back either way"
    );
    let theirs = list
        .iter()
        .find(|c| c.project_id == OWNER.project_id)
        .unwrap();
    assert_eq!(
        theirs.public_ip, None,
        "configure-project changes only the token's project"
    );

    nova.delete_server(&id).await.expect("delete (204)");
    let gone = eventually(DEADLINE, "the deleted server disappears", || async {
        match nova.get_server(&id).await {
            Err(e) if e.is_not_found() => Some(e),
            Ok(s) => {
                assert!(
                    s.task_state.as_deref() == Some("deleting") || s.status == "ACTIVE",
                    "{s:?}"
                );
                None
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    })
    .await;
    assert!(!gone.is_transient());
    assert!(
        nova.list_cloudpipes()
            .await
            .unwrap()
            .iter()
            .all(|c| c.instance_id != id)
    );
    assert!(nova.delete_server(&id).await.unwrap_err().is_not_found());

    // An empty id never reaches the wire (it would turn GET /servers/{id} into a list).
    let before = emulator.total("nova.server.get").await;
    assert!(matches!(
        nova.get_server("").await,
        Err(CloudError::Config(_))
    ));
    assert_eq!(emulator.total("nova.server.get").await, before);

    // All of the above on one token, shared by clones and by the other clients.
    EclClient::new(&session)
        .list_requests(&TenantConnectionRequestFilter::default())
        .await
        .unwrap();
    SssClient::new(&session)
        .list_approvals(&ApprovalFilter::default())
        .await
        .unwrap();
    assert_eq!(tokens_issued(&emulator).await, 1);
    assert_eq!(session.tokens_issued(), 1);
}

#[tokio::test]
async fn cloudpipe_errors_are_typed() {
    let emulator = Emulator::start(&[]);

    // Nova's policy: cloudpipe is admin-only.
    let error = NovaClient::new(&session(&emulator, &DEMO))
        .list_cloudpipes()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CloudError::Forbidden { message, .. } if message.contains("Policy doesn't allow")),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(error.to_string().contains("admin role"), "{error}");

    let nova = NovaClient::new(&session(&emulator, &ADMIN));
    let error = nova
        .create_cloudpipe(Some("bad.project.id"))
        .await
        .unwrap_err();
    assert!(matches!(error, CloudError::BadRequest { .. }), "{error:?}");
    let error = nova
        .get_server("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CloudError::NotFound { message, .. } if message.contains("could not be found")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("req-"),
        "Nova's request id is kept for support: {error}"
    );

    // From Pike on, os-cloudpipe answers 410 to every method.
    emulator.set_nova_release("pike").await;
    let errors = [
        nova.list_cloudpipes().await.unwrap_err(),
        nova.create_cloudpipe(None).await.unwrap_err(),
        nova.configure_project("192.0.2.1".parse().unwrap(), 1194)
            .await
            .unwrap_err(),
    ];
    for error in errors {
        assert!(
            error.is_gone() && !error.is_transient() && error.status() == Some(410),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("This resource is no longer available.  No forwarding address is given."),
            "{text}"
        );
        assert!(text.contains("os-cloudpipe"), "{text}");
    }
    assert_eq!(
        emulator.count("nova.cloudpipe.create", "410").await,
        1,
        "a 410 is not retried"
    );
}

#[tokio::test]
async fn application_credential_session() {
    let emulator = Emulator::start(&[]);
    let session = session_from(&emulator.clouds_yaml_appcred(), Duration::from_secs(10));
    let info = session
        .token_info()
        .await
        .expect("application credential auth");
    assert_eq!(info.project_id, ADMIN.project_id);
    assert!(info.roles.iter().any(|r| r == "admin"), "{:?}", info.roles);
    NovaClient::new(&session)
        .list_cloudpipes()
        .await
        .expect("admin's credential may list cloudpipes");
}

#[tokio::test]
async fn a_region_missing_from_the_catalog_is_a_configuration_error() {
    let emulator = Emulator::start(&[]);
    let yaml = emulator
        .clouds_yaml(&ADMIN)
        .replace("region_name: RegionOne", "region_name: Nowhere");
    let error = NovaClient::new(&session_from(&yaml, Duration::from_secs(10)))
        .list_cloudpipes()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, CloudError::Config(_)), "{error:?}");
    assert!(
        text.contains("'compute'") && text.contains("Nowhere") && text.contains("RegionOne"),
        "{text}"
    );
}

// ----- ECL and SSS

#[tokio::test]
async fn tenant_connection_request_lifecycle_and_approval() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "100ms",
        "--tcr-registered-delay",
        "100ms",
    ]);
    let requester = session(&emulator, &ADMIN);
    let owner = session(&emulator, &OWNER);
    let ecl = EclClient::new(&requester);
    let owner_ecl = EclClient::new(&owner);
    let network = network_id();

    assert_eq!(ecl.project_id().await.unwrap(), ADMIN.project_id);
    let create = CreateTenantConnectionRequest {
        tenant_id_other: OWNER.project_id.to_owned(),
        network_id: network.clone(),
        name: Some("to-shared-net".into()),
        description: Some("connect our servers".into()),
        tags: Some(tags(&[("cloudlink.dev/uid", "u-1"), ("env", "test")])),
    };
    let created = ecl.create_request(&create).await.expect("create (200)");
    assert_eq!(created.status, "creating");
    assert_eq!(
        created.approval_request_id, None,
        "\"\" is read as no approval request yet"
    );
    assert_eq!(created.tenant_id, ADMIN.project_id);
    assert_eq!(created.tenant_id_other, OWNER.project_id);
    assert_eq!(
        created.tags.get("cloudlink.dev/uid").map(String::as_str),
        Some("u-1")
    );
    let id = created.id.clone();

    // Deleting while the asynchronous create runs is refused; a second create for the same pair too.
    let error = ecl.delete_request(&id).await.unwrap_err();
    assert!(matches!(error, CloudError::Conflict { .. }), "{error:?}");
    let error = ecl.create_request(&create).await.unwrap_err();
    assert!(
        matches!(&error, CloudError::Conflict { message, .. } if message.contains("already exists")),
        "{error:?}"
    );

    assert_eq!(ecl.show_request(&id).await.unwrap().id, id);
    for filter in [
        TenantConnectionRequestFilter {
            network_id: Some(network.clone()),
            ..Default::default()
        },
        TenantConnectionRequestFilter {
            tenant_id_other: Some(OWNER.project_id.into()),
            ..Default::default()
        },
        TenantConnectionRequestFilter {
            name: Some("to-shared-net".into()),
            ..Default::default()
        },
        TenantConnectionRequestFilter {
            tenant_connection_request_id: Some(id.clone()),
            ..Default::default()
        },
    ] {
        let found = ecl.list_requests(&filter).await.unwrap();
        assert_eq!(
            found.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            vec![id.as_str()],
            "{filter:?}"
        );
    }
    let none = TenantConnectionRequestFilter {
        status: Some("approved".into()),
        ..Default::default()
    };
    assert!(ecl.list_requests(&none).await.unwrap().is_empty());
    let bad = TenantConnectionRequestFilter {
        status: Some("sideways".into()),
        ..Default::default()
    };
    assert!(matches!(
        ecl.list_requests(&bad).await,
        Err(CloudError::BadRequest { .. })
    ));

    let registered = eventually(DEADLINE, "the request is registered", || async {
        let t = ecl.show_request(&id).await.unwrap();
        (t.status == "registered").then_some(t)
    })
    .await;
    let approval_id = registered
        .approval_request_id
        .clone()
        .expect("a registered request has an approval request");

    // Update sends only what is set: the rest is kept, "" clears.
    let update = UpdateTenantConnectionRequest {
        name: Some("renamed".into()),
        ..Default::default()
    };
    let updated = ecl.update_request(&id, &update).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.description.as_str()),
        ("renamed", "connect our servers")
    );
    assert_eq!(updated.tags.len(), 2);
    let clear = UpdateTenantConnectionRequest {
        description: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        ecl.update_request(&id, &clear).await.unwrap().description,
        ""
    );
    // The owner's fields belong to the owner.
    let theirs = UpdateTenantConnectionRequest {
        name_other: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        ecl.update_request(&id, &theirs).await,
        Err(CloudError::Forbidden { .. })
    ));
    let by_owner = UpdateTenantConnectionRequest {
        name_other: Some("from-network-owner".into()),
        tags_other: Some(tags(&[("cost", "a1")])),
        ..Default::default()
    };
    let updated = owner_ecl.update_request(&id, &by_owner).await.unwrap();
    assert_eq!(updated.name_other, "from-network-owner");
    assert_eq!(updated.name, "renamed");
    assert_eq!(owner_ecl.project_id().await.unwrap(), OWNER.project_id);
    let owner_view = owner_ecl
        .list_requests(&TenantConnectionRequestFilter::default())
        .await
        .unwrap();
    assert!(
        owner_view.iter().any(|t| t.id == id),
        "the owner sees requests made to it"
    );

    // SSS: the owner approves; the requester may not.
    let sss_owner = SssClient::new(&owner);
    let sss_requester = SssClient::new(&requester);
    let pending = sss_owner
        .list_approvals(&ApprovalFilter {
            status: Some("registered".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        pending.iter().any(|a| a.request_id == approval_id),
        "{pending:?}"
    );
    let shown = sss_owner.show_approval(&approval_id).await.unwrap();
    assert_eq!(shown.status, "registered");
    assert!(shown.approver && !shown.request_user);
    let shown = sss_requester.show_approval(&approval_id).await.unwrap();
    assert!(shown.request_user && !shown.approver);
    let error = sss_requester
        .update_approval(&approval_id, ApprovalDecision::Approve)
        .await
        .unwrap_err();
    assert!(matches!(error, CloudError::Forbidden { .. }), "{error:?}");

    sss_owner
        .update_approval(&approval_id, ApprovalDecision::Approve)
        .await
        .expect("approve (204)");
    assert_eq!(
        sss_owner.show_approval(&approval_id).await.unwrap().status,
        "approved"
    );
    eventually(DEADLINE, "the request is approved", || async {
        (ecl.show_request(&id).await.unwrap().status == "approved").then_some(())
    })
    .await;
    let error = sss_owner
        .update_approval(&approval_id, ApprovalDecision::Deny)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CloudError::Conflict { .. }),
        "only a registered request can change: {error:?}"
    );
    assert!(
        sss_owner
            .show_approval("req-does-not-exist")
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Only the requester deletes; then it is gone.
    assert!(matches!(
        owner_ecl.delete_request(&id).await,
        Err(CloudError::Forbidden { .. })
    ));
    ecl.delete_request(&id).await.expect("delete (204)");
    let error = ecl.show_request(&id).await.unwrap_err();
    assert!(
        matches!(&error, CloudError::NotFound { message, .. } if message.contains(&id)),
        "{{\"cause\"}} is the message: {error:?}"
    );
    assert!(ecl.delete_request(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn approval_deny_and_cancel() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "50ms",
        "--tcr-registered-delay",
        "50ms",
    ]);
    let requester = session(&emulator, &ADMIN);
    let owner = session(&emulator, &OWNER);
    let ecl = EclClient::new(&requester);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let create = CreateTenantConnectionRequest {
            tenant_id_other: OWNER.project_id.into(),
            network_id: network_id(),
            ..Default::default()
        };
        ids.push(ecl.create_request(&create).await.unwrap().id);
    }
    let mut approvals = Vec::new();
    for id in &ids {
        approvals.push(
            eventually(DEADLINE, "registered", || async {
                ecl.show_request(id).await.unwrap().approval_request_id
            })
            .await,
        );
    }
    eventually(DEADLINE, "both registered", || async {
        let all = ecl
            .list_requests(&TenantConnectionRequestFilter {
                status: Some("registered".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        (all.len() == 2).then_some(())
    })
    .await;

    SssClient::new(&owner)
        .update_approval(&approvals[0], ApprovalDecision::Deny)
        .await
        .expect("the owner denies");
    let error = SssClient::new(&owner)
        .update_approval(&approvals[1], ApprovalDecision::Cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CloudError::Forbidden { .. }),
        "only the requester cancels: {error:?}"
    );
    SssClient::new(&requester)
        .update_approval(&approvals[1], ApprovalDecision::Cancel)
        .await
        .expect("the requester cancels");

    for (id, status) in ids.iter().zip(["denied", "cancelled"]) {
        eventually(DEADLINE, status, || async {
            (ecl.show_request(id).await.unwrap().status == status).then_some(())
        })
        .await;
    }
}

// ----- 401: one re-authentication, and never a resent POST

#[tokio::test]
async fn a_revoked_token_costs_exactly_one_reauthentication() {
    let emulator = Emulator::start(&[]);
    let session = session(&emulator, &ADMIN);
    let nova = NovaClient::new(&session);
    nova.list_cloudpipes().await.unwrap();
    assert_eq!(tokens_issued(&emulator).await, 1);

    emulator.revoke_tokens().await;
    nova.list_cloudpipes()
        .await
        .expect("the GET is resent with a new token");
    assert_eq!(tokens_issued(&emulator).await, 2);
    assert_eq!(emulator.count("nova.cloudpipe.list", "401").await, 1);
    assert_eq!(emulator.count("nova.cloudpipe.list", "200").await, 2);

    // Many callers meeting the 401 at once still cost one token (single-flight renewal).
    emulator.revoke_tokens().await;
    let ecl = EclClient::new(&session);
    let calls = (0..8).map(|i| {
        let (nova, ecl) = (nova.clone(), ecl.clone());
        async move {
            if i % 2 == 0 {
                nova.list_cloudpipes().await.map(|_| ())
            } else {
                ecl.list_requests(&TenantConnectionRequestFilter::default())
                    .await
                    .map(|_| ())
            }
        }
    });
    for result in futures::future::join_all(calls).await {
        result.expect("every caller succeeds after the renewal");
    }
    assert_eq!(
        tokens_issued(&emulator).await,
        3,
        "eight callers, one re-authentication"
    );
    assert_eq!(session.tokens_issued(), 3);
}

#[tokio::test]
async fn a_post_meeting_a_401_is_not_resent() {
    let emulator = Emulator::start(&[]);
    let session = session(&emulator, &ADMIN);
    let nova = NovaClient::new(&session);
    nova.list_cloudpipes().await.unwrap();
    emulator.revoke_tokens().await;

    let error = nova.create_cloudpipe(None).await.unwrap_err();
    assert!(
        matches!(error, CloudError::TokenRejected { .. }),
        "{error:?}"
    );
    assert!(error.is_transient(), "the reconciler may retry it at once");
    assert_eq!(
        emulator.total("nova.cloudpipe.create").await,
        1,
        "the POST went out once"
    );
    assert_eq!(
        tokens_issued(&emulator).await,
        2,
        "but the token was renewed"
    );

    // The reconciler's retry goes out with the new token, without another authentication.
    nova.create_cloudpipe(None).await.expect("retry succeeds");
    assert_eq!(tokens_issued(&emulator).await, 2);
    assert_eq!(emulator.count("nova.cloudpipe.create", "200").await, 1);
}

#[tokio::test]
async fn a_token_refused_even_when_fresh_is_unauthorized() {
    let emulator = Emulator::start(&[]);
    let ecl = EclClient::new(&session(&emulator, &ADMIN));
    ecl.list_requests(&TenantConnectionRequestFilter::default())
        .await
        .unwrap();
    emulator
        .set_fault("ecl.tcr.list", json!({"error_status": 401}))
        .await;
    let error = ecl
        .list_requests(&TenantConnectionRequestFilter::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CloudError::Unauthorized { message, .. } if message.contains("freshly issued")),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_eq!(
        emulator.count("ecl.tcr.list", "401").await,
        2,
        "sent, renewed, resent once — no more"
    );
    assert_eq!(tokens_issued(&emulator).await, 2);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    // 2 s tokens: the client renews a tenth of the lifetime before expiry, so no call meets a 401.
    let emulator = Emulator::start(&["--token-ttl", "2s"]);
    let session = session(&emulator, &ADMIN);
    let nova = NovaClient::new(&session);
    let started = Instant::now();
    eventually(
        DEADLINE,
        "a second token, fetched before the first expired",
        || async {
            nova.list_cloudpipes()
                .await
                .expect("no call fails across the renewal");
            (session.tokens_issued() >= 2).then_some(())
        },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the first token was used for most of its life: {:?}",
        started.elapsed()
    );
    assert_eq!(emulator.count("nova.cloudpipe.list", "401").await, 0);
}

#[tokio::test]
async fn wrong_credentials_fail_once_for_all_waiting_callers() {
    let emulator = Emulator::start(&[]);
    let wrong = Account {
        password: "Wrong-Password-4711",
        ..ADMIN
    };
    let nova = NovaClient::new(&session(&emulator, &wrong));
    let calls = (0..6).map(|_| {
        let nova = nova.clone();
        async move { nova.list_cloudpipes().await }
    });
    for result in futures::future::join_all(calls).await {
        let error = result.unwrap_err();
        assert!(
            matches!(error, CloudError::Unauthorized { .. }) && !error.is_transient(),
            "{error:?}"
        );
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains("Wrong-Password-4711"),
            "the password leaked: {text}"
        );
        assert!(text.contains("clouds.yaml"), "{text}");
    }
    assert_eq!(
        emulator.count("identity.token.create", "401").await,
        1,
        "callers queued behind the failed attempt share it"
    );
    assert_eq!(emulator.total("nova.cloudpipe.list").await, 0);
}

// ----- Rate limits, server errors, timeouts, resets

#[tokio::test]
async fn rate_limits_and_unavailability_carry_retry_after() {
    let emulator = Emulator::start(&[]);
    let session = session(&emulator, &ADMIN);
    let (nova, ecl, sss) = (
        NovaClient::new(&session),
        EclClient::new(&session),
        SssClient::new(&session),
    );
    nova.list_cloudpipes().await.unwrap();

    emulator
        .set_fault(
            "nova.cloudpipe.list",
            json!({"error_status": 429, "retry_after_s": 7, "times": 1}),
        )
        .await;
    let error = nova.list_cloudpipes().await.unwrap_err();
    assert!(
        matches!(error, CloudError::RateLimited { .. }) && error.is_transient(),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.to_string().contains("retry after 7s"), "{error}");
    nova.list_cloudpipes()
        .await
        .expect("the fault was for one request");
    assert_eq!(
        emulator.count("nova.cloudpipe.list", "429").await,
        1,
        "not retried by the client"
    );

    emulator
        .set_fault(
            "ecl.tcr.get",
            json!({"error_status": 429, "retry_after_s": 3, "times": 1}),
        )
        .await;
    let error = ecl.show_request("any").await.unwrap_err();
    assert!(matches!(error, CloudError::RateLimited { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));

    emulator
        .set_fault(
            "sss.approval.list",
            json!({"error_status": 503, "retry_after_s": 2, "times": 1}),
        )
        .await;
    let error = sss
        .list_approvals(&ApprovalFilter::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, CloudError::Unavailable { status: 503, .. }) && error.is_transient(),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));

    emulator
        .set_fault("ecl.tcr.list", json!({"error_status": 500, "times": 1}))
        .await;
    let error = ecl
        .list_requests(&TenantConnectionRequestFilter::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CloudError::Server { status: 500, message, .. } if message == "Internal Server Error"),
        "{error:?}"
    );
    assert!(error.is_transient() && error.retry_after().is_none());

    emulator
        .set_fault("nova.server.get", json!({"error_status": 500, "times": 1}))
        .await;
    let error = nova.get_server("x").await.unwrap_err();
    assert!(
        matches!(&error, CloudError::Server { message, .. } if message.contains("Unexpected API Error")),
        "{error:?}"
    );
}

#[tokio::test]
async fn slow_answers_time_out_and_are_not_retried() {
    let emulator = Emulator::start(&[]);
    let timeout = Duration::from_millis(600);
    let session = session_from(&emulator.clouds_yaml(&ADMIN), timeout);
    let nova = NovaClient::new(&session);
    nova.list_cloudpipes().await.unwrap();

    emulator
        .set_fault(
            "nova.cloudpipe.list",
            json!({"latency_ms": 5000, "times": 1}),
        )
        .await;
    let started = Instant::now();
    let error = nova.list_cloudpipes().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, CloudError::Timeout { after, .. } if after == timeout),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert!(
        took >= timeout && took < Duration::from_secs(3),
        "gave up after {took:?}"
    );
    assert!(
        error
            .to_string()
            .contains("may or may not have taken effect"),
        "{error}"
    );

    // Keystone is under the same deadline.
    let fresh = session_from(&emulator.clouds_yaml(&ADMIN), timeout);
    emulator
        .set_fault(
            "identity.token.create",
            json!({"latency_ms": 5000, "times": 1}),
        )
        .await;
    let error = fresh.token_info().await.unwrap_err();
    assert!(
        matches!(&error, CloudError::Timeout { request, .. } if request.contains("/v3/auth/tokens")),
        "{error:?}"
    );
}

#[tokio::test]
async fn commit_then_fail_is_reported_and_the_post_not_resent() {
    let emulator = Emulator::start(&[]);
    let session = session_from(&emulator.clouds_yaml(&ADMIN), Duration::from_millis(800));
    let ecl = EclClient::new(&session);
    let network = network_id();
    let create = CreateTenantConnectionRequest {
        tenant_id_other: OWNER.project_id.into(),
        network_id: network.clone(),
        tags: Some(tags(&[("cloudlink.dev/uid", "u-2")])),
        ..Default::default()
    };

    emulator
        .set_fault(
            "ecl.tcr.create",
            json!({"commit_then_fail": "error", "times": 1}),
        )
        .await;
    let error = ecl.create_request(&create).await.unwrap_err();
    assert!(
        matches!(error, CloudError::Server { status: 500, .. }) && error.is_transient(),
        "{error:?}"
    );
    assert_eq!(
        emulator.total("ecl.tcr.create").await,
        1,
        "a POST is never resent by the client"
    );
    // The request exists although the answer said otherwise: the reconciler must look before creating again.
    let found = ecl
        .list_requests(&TenantConnectionRequestFilter {
            network_id: Some(network.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].tags.get("cloudlink.dev/uid").map(String::as_str),
        Some("u-2")
    );

    // The same with the answer lost to a timeout.
    let nova = NovaClient::new(&session);
    emulator
        .set_fault(
            "nova.cloudpipe.create",
            json!({"commit_then_fail": "timeout", "hang_ms": 1500, "times": 1}),
        )
        .await;
    let error = nova.create_cloudpipe(None).await.unwrap_err();
    assert!(matches!(error, CloudError::Timeout { .. }), "{error:?}");
    // The hanging request is never counted (the emulator drops it with the connection the client
    // closed); a resent one would have been answered and counted, since the fault was for one request.
    assert_eq!(
        emulator.total("nova.cloudpipe.create").await,
        0,
        "a POST is never resent by the client"
    );
    let listed = nova.list_cloudpipes().await.unwrap();
    assert_eq!(listed.len(), 1, "the cloudpipe was created all the same");
}

#[tokio::test]
async fn a_reset_connection_is_a_transient_connect_error() {
    let emulator = Emulator::start(&[]);
    let session = session(&emulator, &ADMIN);
    let nova = NovaClient::new(&session);
    nova.list_cloudpipes().await.unwrap();
    for route in ["nova.server.get", "nova.cloudpipe.create"] {
        emulator
            .set_fault(route, json!({"reset_rate": 1.0, "times": 1}))
            .await;
    }
    let error = nova.get_server("x").await.unwrap_err();
    assert!(
        matches!(error, CloudError::Connect { .. }) && error.is_transient(),
        "{error:?}"
    );
    let error = nova.create_cloudpipe(None).await.unwrap_err();
    assert!(matches!(error, CloudError::Connect { .. }), "{error:?}");
    assert_eq!(emulator.count("nova.cloudpipe.create", "reset").await, 1);
    assert_eq!(
        emulator.total("nova.cloudpipe.create").await,
        1,
        "not resent"
    );
}

// ----- Malformed answers (a raw HTTP server stands in for compute)

/// Answers every request with the current canned bytes, then closes the connection.
struct RawServer {
    url: String,
    answer: Arc<Mutex<Vec<u8>>>,
    /// The last request received (head and body), as text.
    last_request: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    async fn start() -> RawServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let last_request: Arc<Mutex<String>> = Arc::default();
        let (canned, seen) = (answer.clone(), last_request.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (canned, seen) = (canned.clone(), seen.clone());
                tokio::spawn(async move {
                    // Read the whole request first, so that closing does not reset the connection.
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text
                                .lines()
                                .find_map(|l| {
                                    l.strip_prefix("content-length:")
                                        .and_then(|v| v.trim().parse::<usize>().ok())
                                })
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    *seen.lock().unwrap() = String::from_utf8_lossy(&request).into_owned();
                    let bytes = canned.lock().unwrap().clone();
                    let _ = stream.write_all(&bytes).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        RawServer {
            url,
            answer,
            last_request,
            task,
        }
    }

    fn answer(&self, status: &str, body: &str) {
        self.answer_raw(format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
    }

    fn answer_raw(&self, raw: String) {
        *self.answer.lock().unwrap() = raw.into_bytes();
    }

    /// A header of the last request.
    fn last_header(&self, name: &str) -> Option<String> {
        let request = self.last_request.lock().unwrap().clone();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        request
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

#[tokio::test]
async fn malformed_answers_are_clear_errors() {
    let emulator = Emulator::start(&[]);
    let raw = RawServer::start().await;
    let yaml = format!(
        "{}    compute_endpoint_override: '{}/v2.1'\n",
        emulator.clouds_yaml(&ADMIN),
        raw.url
    );
    let nova = NovaClient::new(&session_from(&yaml, Duration::from_secs(5)));

    let invalid = |e: CloudError, needle: &str| {
        let text = e.to_string();
        assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(text.contains(needle), "{needle:?} not in {text}");
    };

    raw.answer("200 OK", r#"{"cloudpipes": [{"project_id": "p""#);
    invalid(
        nova.list_cloudpipes().await.unwrap_err(),
        "is not valid JSON (expected a cloudpipe list",
    );
    raw.answer("200 OK", "<html><body>Welcome to nginx</body></html>");
    invalid(
        nova.list_cloudpipes().await.unwrap_err(),
        "is not valid JSON",
    );
    raw.answer("200 OK", r#"{"cloudpipes": 5}"#);
    invalid(
        nova.list_cloudpipes().await.unwrap_err(),
        "does not have the documented shape",
    );
    raw.answer("200 OK", r#"{"servers": []}"#);
    invalid(
        nova.get_server("x").await.unwrap_err(),
        "does not have the documented shape",
    );
    raw.answer("200 OK", "");
    invalid(nova.create_cloudpipe(None).await.unwrap_err(), "empty body");
    raw.answer("200 OK", r#"{"instance_id": ""}"#);
    invalid(
        nova.create_cloudpipe(None).await.unwrap_err(),
        "empty instance_id",
    );

    // Loose but readable answers are accepted: odd field types do not sink the whole answer.
    raw.answer(
        "200 OK",
        r#"{"cloudpipes": [{"project_id": "p", "instance_id": "i", "public_port": "1194", "public_ip": null, "state": 3}]}"#,
    );
    let list = nova.list_cloudpipes().await.unwrap();
    assert_eq!(
        (
            list[0].public_port,
            list[0].public_ip.as_deref(),
            list[0].state.as_deref()
        ),
        (Some(1194), None, Some("3"))
    );

    // An error status with a body that is not JSON keeps a bounded text message.
    raw.answer(
        "502 Bad Gateway",
        &format!("<html>{}</html>", "x".repeat(10_000)),
    );
    let error = nova.list_cloudpipes().await.unwrap_err();
    assert!(
        matches!(&error, CloudError::Server { status: 502, message, .. } if message.len() < 1000),
        "{error:?}"
    );

    // A body cut short by the server is a broken connection, not a parse error.
    raw.answer_raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"cloudpipes\": [".into());
    let error = nova.list_cloudpipes().await.unwrap_err();
    assert!(
        matches!(error, CloudError::Connect { .. }) && error.is_transient(),
        "{error:?}"
    );

    // Not HTTP at all.
    raw.answer_raw("SSH-2.0-OpenSSH_9.2\r\n".into());
    let error = nova.list_cloudpipes().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");

    // A redirect is not followed (it would carry the token elsewhere).
    raw.answer_raw("HTTP/1.1 302 Found\r\nLocation: http://example.invalid/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into());
    let error = nova.list_cloudpipes().await.unwrap_err();
    assert!(
        matches!(error, CloudError::HttpStatus { status: 302, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn ecl_fixture_quirks_are_tolerated() {
    let emulator = Emulator::start(&[]);
    let raw = RawServer::start().await;
    let yaml = format!(
        "{}    provider_connectivity_endpoint_override: '{}/provider-connectivity'\n",
        emulator.clouds_yaml(&ADMIN),
        raw.url
    );
    let ecl = EclClient::new(&session_from(&yaml, Duration::from_secs(5)));
    // One real baremetal fixture answers `"tags_other": "{}"` (a string) — and nulls happen.
    raw.answer(
        "200 OK",
        r#"{"tenant_connection_request": {"id": "t1", "status": "registered", "name": "n", "description": null,
            "tags": {"a": "b"}, "tenant_id": "x", "name_other": "", "description_other": "", "tags_other": "{}",
            "tenant_id_other": "y", "network_id": "z", "approval_request_id": "req0000010454"}}"#,
    );
    let t = ecl.show_request("t1").await.unwrap();
    assert!(t.tags_other.is_empty());
    assert_eq!(t.description, "");
    assert_eq!(t.approval_request_id.as_deref(), Some("req0000010454"));

    // An API gateway's fault shape is read too.
    raw.answer(
        "403 Forbidden",
        r#"{"fault": {"faultstring": "Access denied by the gateway"}}"#,
    );
    let error = ecl.show_request("t1").await.unwrap_err();
    assert!(
        matches!(&error, CloudError::Forbidden { message, .. } if message == "Access denied by the gateway"),
        "{error:?}"
    );
}

/// Collects what the cloud layer logs, at every level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn nothing_secret_reaches_debug_display_or_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let dispatch = tracing::Dispatch::new(subscriber);
    // With a single live dispatcher, tracing caches each callsite's interest from whichever thread
    // registers it first — possibly another test's thread, which has no subscriber. A second live
    // dispatcher makes it combine all of them, so this thread's subscriber sees every event.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    let _guard = tracing::dispatcher::set_default(&dispatch);

    let emulator = Emulator::start(&[]);
    let raw = RawServer::start().await;
    let yaml = format!(
        "{}    compute_endpoint_override: '{}/v2.1'\n",
        emulator.clouds_yaml(&ADMIN),
        raw.url
    );
    let session = session_from(&yaml, Duration::from_secs(5));
    let nova = NovaClient::new(&session);

    // Nova refuses the token: the client renews it and resends, and finally reports Unauthorized.
    raw.answer("401 Unauthorized", r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#);
    let refused = nova.get_server("i1").await.unwrap_err();
    assert!(
        matches!(refused, CloudError::Unauthorized { .. }),
        "{refused:?}"
    );
    let token = raw
        .last_header("x-auth-token")
        .expect("the client sent a token");
    assert!(token.len() > 16, "{token}");
    assert_eq!(
        raw.last_header("x-openstack-nova-api-version").as_deref(),
        Some("2.1")
    );
    assert_eq!(
        raw.last_header("openstack-api-version").as_deref(),
        Some("compute 2.1")
    );

    raw.answer(
        "404 Not Found",
        r#"{"itemNotFound": {"code": 404, "message": "Instance i1 could not be found."}}"#,
    );
    let missing = nova.get_server("i1").await.unwrap_err();
    let wrong = session_from(
        &emulator.clouds_yaml(&Account {
            password: "Wrong-Password-4711",
            ..ADMIN
        }),
        Duration::from_secs(5),
    )
    .token_info()
    .await
    .unwrap_err();

    let info = session.token_info().await.unwrap();
    let mut text = format!(
        "{session:?} {:?} {:#?} {info:?}",
        session.key(),
        session.key()
    );
    for e in [&refused, &missing, &wrong] {
        text.push_str(&format!(" {e} {e:?}"));
    }
    text.push_str(&String::from_utf8_lossy(&logs.0.lock().unwrap()));
    assert!(text.contains("cloud call"), "the calls were logged: {text}");
    for secret in [token.as_str(), ADMIN.password, "Wrong-Password-4711"] {
        assert!(!text.contains(secret), "{secret:?} leaked into: {text}");
    }
    assert!(text.contains("<redacted>"), "{text}");
}

#[tokio::test]
async fn server_lists_follow_nova_pages_and_filter_by_image() {
    let emulator = Emulator::start(&["--nova-max-limit", "2", "--server-build-delay", "0s"]);
    let nova = NovaClient::new(&session(&emulator, &ADMIN));
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            nova.create_cloudpipe(Some(&format!("project-{i}")))
                .await
                .unwrap(),
        );
    }
    let all = cloudlink_cloud::nova::ServerFilter {
        all_tenants: true,
        image: None,
    };
    let before = emulator.total("nova.server.list").await;
    let servers = nova.list_servers(&all).await.expect("every page");
    let mut listed: Vec<String> = servers.iter().map(|s| s.id.clone()).collect();
    listed.sort();
    created.sort();
    assert_eq!(listed, created, "five servers over pages of two");
    assert_eq!(
        emulator.total("nova.server.list").await - before,
        3,
        "three pages, one call each"
    );
    assert!(
        servers.iter().all(|s| s.image_id.as_deref() == Some("0")),
        "{servers:?}"
    );

    let vpn_image = cloudlink_cloud::nova::ServerFilter {
        all_tenants: true,
        image: Some("0".into()),
    };
    assert_eq!(nova.list_servers(&vpn_image).await.unwrap().len(), 5);
    let other = cloudlink_cloud::nova::ServerFilter {
        all_tenants: true,
        image: Some("another".into()),
    };
    assert!(nova.list_servers(&other).await.unwrap().is_empty());
    let own = cloudlink_cloud::nova::ServerFilter::default();
    assert!(
        nova.list_servers(&own).await.unwrap().is_empty(),
        "the admin's own project has none"
    );

    let demo = NovaClient::new(&session(&emulator, &DEMO));
    let refused = demo
        .list_servers(&all)
        .await
        .expect_err("all_tenants is admin only");
    assert_eq!(refused.status(), Some(403), "{refused}");
}
