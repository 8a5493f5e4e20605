//! The Rust cloud clients against a REAL Keystone (keystone 30.0.0 from PyPI, started by
//! `hack/keystone.sh` through `hack/test.sh`), and the emulator in `--keystone-url` mode trusting
//! that Keystone's tokens — and only valid ones.

use cloudlink_testkit as support;

use std::time::Duration;

use cloudlink_cloud::{
    ApprovalApi, ApprovalDecision, CloudError, CloudSession, CloudpipeApi,
    CreateTenantConnectionRequest, EclClient, NovaClient, SssClient, TenantConnectionApi,
    TenantConnectionRequestFilter,
};
use support::emulator::eventually;
use support::world;

/// Endpoints nobody listens on: enough for tests that only look at the token and its catalog.
fn unreachable_catalog() -> Vec<(&'static str, String)> {
    vec![
        (
            "compute",
            "http://127.0.0.1:9/v2.1/%(tenant_id)s".to_string(),
        ),
        (
            "provider-connectivity",
            "http://127.0.0.1:9/provider-connectivity".to_string(),
        ),
        ("sss", "http://127.0.0.1:9/sss/api/v1.0".to_string()),
    ]
}

fn session(clouds_yaml: &str) -> CloudSession {
    CloudSession::from_clouds_yaml(clouds_yaml, "real", None)
        .expect("clouds.yaml for the real Keystone parses")
}

fn assert_fresh(info_expires_at: jiff::Timestamp) {
    // hack/keystone.sh sets [token] expiration = 3600
    let left = info_expires_at
        .duration_since(jiff::Timestamp::now())
        .as_secs();
    assert!(
        (3000..=3700).contains(&left),
        "token expires in {left}s, expected about an hour"
    );
}

#[tokio::test]
async fn password_auth_gets_a_project_token_with_the_catalog() {
    let keystone = world::keystone();
    let region = keystone.register_catalog(&unreachable_catalog()).await;
    let session = session(&keystone.clouds_yaml_password(&keystone.demo, &region.region));

    let info = session
        .token_info()
        .await
        .expect("password auth against the real Keystone");
    assert_eq!(info.project_id, keystone.demo.project_id);
    assert_eq!(info.project_name, keystone.demo.project);
    assert_eq!(info.user_id, keystone.demo.user_id);
    assert!(
        info.roles.iter().any(|r| r == "member"),
        "roles {:?}",
        info.roles
    );
    assert!(
        info.roles.iter().any(|r| r == "reader"),
        "member implies reader in Keystone: {:?}",
        info.roles
    );
    assert_fresh(info.expires_at);
    // Keystone substituted the project into the compute URL of this test's region
    let compute = info
        .catalog
        .endpoint(
            "real",
            "compute",
            cloudlink_cloud::Interface::Public,
            Some(&region.region),
        )
        .unwrap();
    assert_eq!(
        compute,
        format!("http://127.0.0.1:9/v2.1/{}", keystone.demo.project_id)
    );

    // the token is shared: asking again costs no second authentication
    assert_eq!(
        session.project_id().await.unwrap(),
        keystone.demo.project_id
    );
    assert_eq!(session.tokens_issued(), 1);
}

#[tokio::test]
async fn admin_password_auth_carries_the_admin_role() {
    let keystone = world::keystone();
    let session = session(&keystone.clouds_yaml_password(&keystone.admin, &keystone.region));
    let info = session.token_info().await.expect("admin password auth");
    assert_eq!(info.project_id, keystone.admin.project_id);
    assert!(
        info.roles.iter().any(|r| r == "admin"),
        "roles {:?}",
        info.roles
    );
}

#[tokio::test]
async fn application_credential_auth_gets_the_credential_project() {
    let keystone = world::keystone();
    let region = keystone.register_catalog(&unreachable_catalog()).await;
    for (credential, account) in [
        (&keystone.appcred, &keystone.demo),
        (&keystone.admin_appcred, &keystone.admin),
    ] {
        let session = session(&keystone.clouds_yaml_appcred(credential, &region.region));
        let info = session
            .token_info()
            .await
            .expect("application credential auth against the real Keystone");
        assert_eq!(info.project_id, account.project_id, "{}", credential.name);
        assert_eq!(info.user_id, account.user_id, "{}", credential.name);
        assert_fresh(info.expires_at);
        let pc = info
            .catalog
            .endpoint(
                "real",
                "provider-connectivity",
                cloudlink_cloud::Interface::Public,
                Some(&region.region),
            )
            .unwrap();
        assert_eq!(pc, "http://127.0.0.1:9/provider-connectivity");
    }
}

#[tokio::test]
async fn wrong_password_and_wrong_secret_are_unauthorized_without_leaking_them() {
    let keystone = world::keystone();
    let mut demo = keystone.demo.clone();
    demo.password = "Wrong-Password-4711".into();
    let error = session(&keystone.clouds_yaml_password(&demo, &keystone.region))
        .token_info()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CloudError::Unauthorized { .. }),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    assert!(text.contains("401"), "{text}");
    assert!(
        !text.contains("Wrong-Password-4711"),
        "the password leaked: {text}"
    );

    let mut credential = keystone.appcred.clone();
    credential.secret = "Wrong-Secret-4711".into();
    let error = session(&keystone.clouds_yaml_appcred(&credential, &keystone.region))
        .token_info()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CloudError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("Wrong-Secret-4711"));
}

#[tokio::test]
async fn the_catalog_names_what_is_missing_in_another_region() {
    let keystone = world::keystone();
    let session = session(&keystone.clouds_yaml_password(&keystone.demo, "no-such-region"));
    let error = NovaClient::new(&session)
        .list_cloudpipes()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, CloudError::Config(_)), "{error:?}");
    assert!(
        text.contains("compute") && text.contains("no-such-region"),
        "{text}"
    );
}

// ------------------------------------------------------------------------------------------------
// The emulator in --keystone-url mode: the real Keystone decides who may do what.

#[tokio::test]
async fn emulator_accepts_real_keystone_tokens_for_nova_with_the_roles_keystone_gives() {
    let keystone = world::keystone();
    let emulator = world::emulator_on(&keystone, &["--server-build-delay", "300ms"]);
    let region = keystone.register_emulator(&emulator).await;

    // admin by password: cloudpipe needs the admin role, which only Keystone can vouch for here
    let admin = NovaClient::new(&session(
        &keystone.clouds_yaml_password(&keystone.admin, &region.region),
    ));
    let instance_id = admin
        .create_cloudpipe(None)
        .await
        .expect("create a cloudpipe with a real Keystone token");
    let listed = admin.list_cloudpipes().await.expect("list cloudpipes");
    assert!(
        listed
            .iter()
            .any(|c| c.project_id == keystone.admin.project_id && c.instance_id == instance_id),
        "{listed:?}"
    );
    let server = eventually(
        Duration::from_secs(20),
        "the VPN server turns ACTIVE",
        || {
            let admin = admin.clone();
            let id = instance_id.clone();
            async move {
                admin
                    .get_server(&id)
                    .await
                    .ok()
                    .filter(|s| s.status == "ACTIVE")
            }
        },
    )
    .await;
    assert_eq!(server.name, format!("{}-vpn", keystone.admin.project_id));
    assert_eq!(
        server.tenant_id.as_deref(),
        Some(keystone.admin.project_id.as_str())
    );

    // the same project through admin's application credential: same cloudpipe (create is idempotent)
    let by_appcred = NovaClient::new(&session(
        &keystone.clouds_yaml_appcred(&keystone.admin_appcred, &region.region),
    ));
    assert_eq!(
        by_appcred
            .create_cloudpipe(None)
            .await
            .expect("create via application credential"),
        instance_id
    );
    by_appcred
        .configure_project("192.0.2.10".parse().unwrap(), 1194)
        .await
        .expect("configure-project via application credential");
    let configured = by_appcred.list_cloudpipes().await.unwrap();
    let ours = configured
        .iter()
        .find(|c| c.project_id == keystone.admin.project_id)
        .expect("our cloudpipe");
    assert_eq!(ours.public_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(ours.public_port, Some(1194));

    // demo has only member (and the implied reader) in the real Keystone: Nova's policy says no
    let demo = NovaClient::new(&session(
        &keystone.clouds_yaml_password(&keystone.demo, &region.region),
    ));
    let error = demo.list_cloudpipes().await.unwrap_err();
    assert!(matches!(error, CloudError::Forbidden { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Policy doesn't allow os_compute_api:os-cloudpipe to be performed."),
        "{error}"
    );

    admin
        .delete_server(&instance_id)
        .await
        .expect("delete the VPN server");
}

#[tokio::test]
async fn emulator_accepts_real_keystone_tokens_for_ecl_and_sss_across_two_tenants() {
    let keystone = world::keystone();
    let emulator = world::emulator_on(
        &keystone,
        &[
            "--tcr-registering-delay",
            "100ms",
            "--tcr-registered-delay",
            "100ms",
        ],
    );
    let region = keystone.register_emulator(&emulator).await;

    // demo (by application credential) asks for admin's network; admin (by password) owns it
    let requester = session(&keystone.clouds_yaml_appcred(&keystone.appcred, &region.region));
    let owner = session(&keystone.clouds_yaml_password(&keystone.admin, &region.region));
    let network_id = uuid::Uuid::new_v4().to_string();
    let created = EclClient::new(&requester)
        .create_request(&CreateTenantConnectionRequest {
            tenant_id_other: keystone.admin.project_id.clone(),
            network_id: network_id.clone(),
            name: Some("real-keystone".into()),
            description: None,
            tags: None,
        })
        .await
        .expect("create a tenant connection request with a real Keystone token");
    assert_eq!(
        created.tenant_id, keystone.demo.project_id,
        "the tenant is the token's project, from Keystone"
    );
    assert_eq!(created.tenant_id_other, keystone.admin.project_id);

    let registered = eventually(Duration::from_secs(20), "the request is registered", || {
        let api = EclClient::new(&requester);
        let id = created.id.clone();
        async move {
            api.show_request(&id)
                .await
                .ok()
                .filter(|r| r.status == "registered")
        }
    })
    .await;
    let approval_id = registered
        .approval_request_id
        .clone()
        .expect("an approval request once registered");

    // the owner sees it too, and approves it through SSS
    let seen_by_owner = EclClient::new(&owner)
        .list_requests(&TenantConnectionRequestFilter {
            network_id: Some(network_id.clone()),
            ..Default::default()
        })
        .await
        .expect("the owner lists requests made to it");
    assert_eq!(
        seen_by_owner
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        vec![created.id.as_str()]
    );
    let approval = SssClient::new(&owner)
        .show_approval(&approval_id)
        .await
        .expect("the owner shows the approval");
    assert!(approval.approver && !approval.request_user, "{approval:?}");
    SssClient::new(&owner)
        .update_approval(&approval_id, ApprovalDecision::Approve)
        .await
        .expect("approve");
    eventually(Duration::from_secs(20), "the request is approved", || {
        let api = EclClient::new(&requester);
        let id = created.id.clone();
        async move {
            api.show_request(&id)
                .await
                .ok()
                .filter(|r| r.status == "approved")
        }
    })
    .await;

    EclClient::new(&requester)
        .delete_request(&created.id)
        .await
        .expect("delete");
    let gone = EclClient::new(&requester)
        .show_request(&created.id)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
}

/// GET on the emulator's cloudpipe list with `token` (or none): status, WWW-Authenticate, JSON body.
async fn emulator_get(
    emulator: &support::emulator::Emulator,
    project_id: &str,
    token: Option<&str>,
) -> world::Reply {
    let mut request = world::http().get(format!(
        "{}/compute/v2.1/{project_id}/os-cloudpipe",
        emulator.url()
    ));
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    let response = request.send().await.expect("request to the emulator");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    world::Reply {
        status,
        headers,
        body,
    }
}

fn assert_keystone_401(
    reply: &world::Reply,
    keystone_reply: &world::Reply,
    keystone: &world::RealKeystone,
    what: &str,
) {
    assert_eq!(reply.status, 401, "{what}: {reply:?}");
    assert_eq!(
        keystone_reply.status, 401,
        "Keystone itself: {keystone_reply:?}"
    );
    // exactly the body Keystone answers an unusable token with
    assert_eq!(
        reply.json(),
        keystone_reply.json(),
        "{what}: the emulator's 401 body differs from Keystone's"
    );
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": {"code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication."}})
    );
    let keystone_root = keystone.url.trim_end_matches("/v3");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with(&format!("Keystone uri=\"{keystone_root}")),
        "{what}: WWW-Authenticate {challenge:?}"
    );
}

#[tokio::test]
async fn emulator_refuses_a_forged_token_with_keystones_401() {
    let keystone = world::keystone();
    let emulator = world::emulator_on(&keystone, &[]);
    let project = &keystone.admin.project_id;

    let genuine = keystone.token(&keystone.admin).await;
    assert_eq!(
        emulator_get(&emulator, project, Some(&genuine))
            .await
            .status,
        200,
        "a genuine admin token works"
    );

    // a token Keystone never issued: a fernet-looking string, and the genuine one with a byte changed
    let mut tampered = genuine.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for forged in [
        "gAAAAABforgedforgedforgedforgedforgedforgedforgedforged",
        tampered.as_str(),
    ] {
        let reply = emulator_get(&emulator, project, Some(forged)).await;
        let keystone_reply = keystone.unauthorized_reply(forged).await;
        assert_keystone_401(&reply, &keystone_reply, &keystone, "forged token");
    }
    let reply = emulator_get(&emulator, project, None).await;
    assert_keystone_401(
        &reply,
        &keystone.unauthorized_reply("").await,
        &keystone,
        "no token",
    );
}

#[tokio::test]
async fn emulator_refuses_a_revoked_token_with_keystones_401() {
    let keystone = world::keystone();
    let emulator = world::emulator_on(&keystone, &[]);
    let project = &keystone.admin.project_id;
    let token = keystone.token(&keystone.admin).await;
    assert_eq!(
        emulator_get(&emulator, project, Some(&token)).await.status,
        200
    );

    keystone.revoke(&token).await;
    assert_eq!(
        keystone.validate(&token).await.status,
        404,
        "Keystone no longer knows the revoked token"
    );
    // the emulator may reuse a positive answer for --keystone-cache-ttl (2 s): refused within that
    let reply = eventually(
        Duration::from_secs(10),
        "the emulator refuses the revoked token",
        || {
            let (emulator, token) = (&emulator, &token);
            async move {
                Some(emulator_get(emulator, project, Some(token)).await).filter(|r| r.status != 200)
            }
        },
    )
    .await;
    assert_keystone_401(
        &reply,
        &keystone.unauthorized_reply(&token).await,
        &keystone,
        "revoked token",
    );

    // a new token for the same user works again
    let fresh = keystone.token(&keystone.admin).await;
    assert_eq!(
        emulator_get(&emulator, project, Some(&fresh)).await.status,
        200
    );
}
