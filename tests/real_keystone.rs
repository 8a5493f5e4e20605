//! The Rust cloud clients against a REAL Keystone (keystone 30.0.0 from PyPI, started by
//! `hack/keystone.sh` through `hack/test.sh`), and the emulator in `--keystone-url` mode trusting
//! that Keystone's tokens — and only valid ones.

mod support;

use cloudlink::cloud::{CloudError, CloudSession};
use support::world;

/// Endpoints nobody listens on: enough for tests that only look at the token and its catalog.
fn unreachable_catalog() -> Vec<(&'static str, String)> {
    vec![
        ("compute", "http://127.0.0.1:9/v2.1/%(tenant_id)s".to_string()),
        ("provider-connectivity", "http://127.0.0.1:9/provider-connectivity".to_string()),
        ("sss", "http://127.0.0.1:9/sss/api/v1.0".to_string()),
    ]
}

fn session(clouds_yaml: &str) -> CloudSession {
    CloudSession::from_clouds_yaml(clouds_yaml, "real", None).expect("clouds.yaml for the real Keystone parses")
}

fn assert_fresh(info_expires_at: jiff::Timestamp) {
    // hack/keystone.sh sets [token] expiration = 3600
    let left = info_expires_at.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((3000..=3700).contains(&left), "token expires in {left}s, expected about an hour");
}

#[tokio::test]
async fn password_auth_gets_a_project_token_with_the_catalog() {
    let keystone = world::keystone();
    let region = keystone.register_catalog(&unreachable_catalog()).await;
    let session = session(&keystone.clouds_yaml_password(&keystone.demo, &region.region));

    let info = session.token_info().await.expect("password auth against the real Keystone");
    assert_eq!(info.project_id, keystone.demo.project_id);
    assert_eq!(info.project_name, keystone.demo.project);
    assert_eq!(info.user_id, keystone.demo.user_id);
    assert!(info.roles.iter().any(|r| r == "member"), "roles {:?}", info.roles);
    assert!(info.roles.iter().any(|r| r == "reader"), "member implies reader in Keystone: {:?}", info.roles);
    assert_fresh(info.expires_at);
    // Keystone substituted the project into the compute URL of this test's region
    let compute = info.catalog.endpoint("real", "compute", cloudlink::cloud::Interface::Public, Some(&region.region)).unwrap();
    assert_eq!(compute, format!("http://127.0.0.1:9/v2.1/{}", keystone.demo.project_id));

    // the token is shared: asking again costs no second authentication
    assert_eq!(session.project_id().await.unwrap(), keystone.demo.project_id);
    assert_eq!(session.tokens_issued(), 1);
}

#[tokio::test]
async fn admin_password_auth_carries_the_admin_role() {
    let keystone = world::keystone();
    let session = session(&keystone.clouds_yaml_password(&keystone.admin, &keystone.region));
    let info = session.token_info().await.expect("admin password auth");
    assert_eq!(info.project_id, keystone.admin.project_id);
    assert!(info.roles.iter().any(|r| r == "admin"), "roles {:?}", info.roles);
}

#[tokio::test]
async fn application_credential_auth_gets_the_credential_project() {
    let keystone = world::keystone();
    let region = keystone.register_catalog(&unreachable_catalog()).await;
    for (credential, account) in [(&keystone.appcred, &keystone.demo), (&keystone.admin_appcred, &keystone.admin)] {
        let session = session(&keystone.clouds_yaml_appcred(credential, &region.region));
        let info = session.token_info().await.expect("application credential auth against the real Keystone");
        assert_eq!(info.project_id, account.project_id, "{}", credential.name);
        assert_eq!(info.user_id, account.user_id, "{}", credential.name);
        assert_fresh(info.expires_at);
        let pc = info
            .catalog
            .endpoint("real", "provider-connectivity", cloudlink::cloud::Interface::Public, Some(&region.region))
            .unwrap();
        assert_eq!(pc, "http://127.0.0.1:9/provider-connectivity");
    }
}

#[tokio::test]
async fn wrong_password_and_wrong_secret_are_unauthorized_without_leaking_them() {
    let keystone = world::keystone();
    let mut demo = keystone.demo.clone();
    demo.password = "Wrong-Password-4711".into();
    let error = session(&keystone.clouds_yaml_password(&demo, &keystone.region)).token_info().await.unwrap_err();
    assert!(matches!(error, CloudError::Unauthorized { .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("Wrong-Password-4711"), "the password leaked: {text}");

    let mut credential = keystone.appcred.clone();
    credential.secret = "Wrong-Secret-4711".into();
    let error = session(&keystone.clouds_yaml_appcred(&credential, &keystone.region)).token_info().await.unwrap_err();
    assert!(matches!(error, CloudError::Unauthorized { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("Wrong-Secret-4711"));
}

#[tokio::test]
async fn the_catalog_names_what_is_missing_in_another_region() {
    let keystone = world::keystone();
    let session = session(&keystone.clouds_yaml_password(&keystone.demo, "no-such-region"));
    let error = session.cloudpipes().list_cloudpipes().await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, CloudError::Config(_)), "{error:?}");
    assert!(text.contains("compute") && text.contains("no-such-region"), "{text}");
}
