use super::*;

const FULL: &str = r#"
clouds:
  demo:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: demo
      password: s3cretPassw0rd
      project_name: demo
      user_domain_name: Default
      project_domain_id: default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
    cacert: /etc/ssl/ca.pem
    compute_endpoint_override: http://127.0.0.1:8774/v2.1
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:5000/v3
      application_credential_id: 423f19a4ac1e4f48bbb4180756e6eb6c
      application_credential_secret: AppCredSecret123
    verify: false
  ecl:
    auth:
      auth_url: https://keystone-jp1-ecl.api.ntt.com/v3/
      username: apikey
      password: 123456
      tenant_id: 0123456789abcdef0123456789abcdef
      user_domain_id: default
    insecure: true
"#;

fn err(text: &str, cloud: &str) -> String {
    parse_clouds_yaml(text, cloud).unwrap_err().to_string()
}

#[test]
fn password_by_names() {
    let c = parse_clouds_yaml(FULL, "demo").unwrap();
    assert_eq!(c.auth_url, "https://keystone.example.com:5000/v3");
    assert_eq!(
        c.auth,
        AuthMethod::Password {
            user: UserRef::Name {
                name: "demo".into(),
                domain: DomainRef::Name("Default".into())
            },
            password: Secret::new("s3cretPassw0rd"),
            project: ProjectScope::Name {
                name: "demo".into(),
                domain: DomainRef::Id("default".into())
            },
        }
    );
    assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
    assert_eq!(c.interface, Interface::Internal);
    assert!(c.verify);
    assert_eq!(c.cacert_path.as_deref(), Some("/etc/ssl/ca.pem"));
    assert_eq!(
        c.endpoint_overrides.get("compute").map(String::as_str),
        Some("http://127.0.0.1:8774/v2.1")
    );
}

#[test]
fn application_credential_and_verify_false() {
    let c = parse_clouds_yaml(FULL, "appcred").unwrap();
    assert_eq!(
        c.auth,
        AuthMethod::ApplicationCredential {
            credential: AppCredentialRef::Id("423f19a4ac1e4f48bbb4180756e6eb6c".into()),
            secret: Secret::new("AppCredSecret123"),
        }
    );
    assert!(!c.verify);
    assert_eq!(c.interface, Interface::Public);
}

#[test]
fn ecl_style_tenant_id_numeric_password_insecure() {
    let c = parse_clouds_yaml(FULL, "ecl").unwrap();
    let AuthMethod::Password {
        password,
        project,
        user,
    } = &c.auth
    else {
        panic!()
    };
    assert_eq!(password.expose(), "123456");
    assert_eq!(
        project,
        &ProjectScope::Id("0123456789abcdef0123456789abcdef".into())
    );
    assert_eq!(
        user,
        &UserRef::Name {
            name: "apikey".into(),
            domain: DomainRef::Id("default".into())
        }
    );
    assert!(!c.verify);
}

#[test]
fn app_credential_by_name_needs_a_user() {
    let y = "clouds:\n  a:\n    auth:\n      auth_url: http://k/v3\n      application_credential_name: mon\n      application_credential_secret: x\n";
    assert!(err(y, "a").contains(
        "is missing auth.username or auth.user_id (needed with auth.application_credential_name)"
    ));
    let y = format!("{y}      user_id: u1\n");
    let c = parse_clouds_yaml(&y, "a").unwrap();
    assert!(matches!(
        c.auth,
        AuthMethod::ApplicationCredential {
            credential: AppCredentialRef::Name { .. },
            ..
        }
    ));
}

#[test]
fn errors_name_the_key() {
    let base = "clouds:\n  x:\n    auth:\n";
    assert_eq!(
        err(&format!("{base}      username: u\n"), "x"),
        "cloud configuration: clouds.yaml: cloud 'x' is missing auth.auth_url"
    );
    let with_url = format!("{base}      auth_url: http://k:5000/v3\n");
    assert!(err(&with_url, "x").contains("is missing auth.username or auth.user_id"));
    let with_user = format!("{with_url}      username: u\n");
    assert!(
        err(&with_user, "x").contains("is missing auth.user_domain_name or auth.user_domain_id")
    );
    let with_domain = format!("{with_user}      user_domain_id: default\n");
    assert!(err(&with_domain, "x").contains("is missing auth.password"));
    let with_pw = format!("{with_domain}      password: p\n");
    assert!(err(&with_pw, "x").contains("is missing auth.project_id or auth.project_name"));
    let with_pname = format!("{with_pw}      project_name: p\n");
    assert!(
        err(&with_pname, "x")
            .contains("is missing auth.project_domain_name or auth.project_domain_id")
    );
    let ok = format!("{with_pname}      default_domain: default\n");
    assert!(parse_clouds_yaml(&ok, "x").is_ok());

    assert!(err("clouds:\n  x:\n    region_name: r\n", "x").contains("cloud 'x' is missing auth"));
    assert_eq!(
        err("clouds:\n  a: {auth: {}}\n  b: {auth: {}}\n", "c"),
        "cloud configuration: clouds.yaml has no cloud 'c' (it has: a, b)"
    );
    assert!(err("foo: 1\n", "c").contains("has no 'clouds' key"));
    assert!(err("- a\n", "c").contains("must be a mapping"));
    assert!(err("clouds: [1]\n", "c").contains("'clouds' must be a mapping"));
    assert!(err("clouds:\n  x: 3\n", "x").contains("cloud 'x' must be a mapping"));
    assert!(
        err("clouds: {x: {auth: {auth_url: 'not a url'}}}", "x")
            .contains("auth.auth_url that is not a URL")
    );
    assert!(
        err("clouds: {x: {auth: {auth_url: 'ftp://k'}}}", "x").contains("neither http nor https")
    );
    assert!(
        err(
            "clouds: {x: {auth_type: token, auth: {auth_url: 'http://k'}}}",
            "x"
        )
        .contains("auth_type 'token'")
    );
    assert!(
        err(
            "clouds: {x: {identity_api_version: 2, auth: {auth_url: 'http://k'}}}",
            "x"
        )
        .contains("identity_api_version")
    );
    assert!(err(&format!("{ok}    interface: sideways\n"), "x").contains("interface 'sideways'"));
    assert!(
        err(&format!("{ok}    verify: maybe\n"), "x")
            .contains("verify that is neither true nor false")
    );
    assert!(
        err(&format!("{ok}    compute_endpoint_override: nope\n"), "x")
            .contains("compute_endpoint_override that is not a URL")
    );
    assert!(err("clouds:\n  x:\n    auth:\n   bad: [\n", "x").contains("not valid YAML"));
    assert!(err("", "x").contains("must be a mapping"));
}

#[test]
fn errors_never_quote_values() {
    let y = "clouds:\n  x:\n    auth:\n      auth_url: http://k/v3\n      username: u\n      user_domain_id: d\n      password: [TopSecretValue]\n";
    let e = err(y, "x");
    assert!(e.contains("auth.password that is not a string"), "{e}");
    assert!(!e.contains("TopSecretValue"));
}

#[test]
fn debug_never_shows_secrets() {
    for cloud in ["demo", "appcred"] {
        let c = parse_clouds_yaml(FULL, cloud).unwrap();
        let dbg = format!("{c:?} {c:#?}");
        assert!(
            !dbg.contains("s3cretPassw0rd") && !dbg.contains("AppCredSecret123"),
            "{dbg}"
        );
        assert!(dbg.contains("<redacted>"));
    }
}

#[test]
fn interface_accepts_v2_spelling() {
    let y = "clouds: {x: {endpoint_type: publicURL, auth: {auth_url: 'http://k', user_id: u, password: p, project_id: p}}}";
    assert_eq!(
        parse_clouds_yaml(y, "x").unwrap().interface,
        Interface::Public
    );
}
