//! The cloud emulator driven over HTTP as a client would, asserting the contract of the upstream
//! APIs (Nova 15.0.0, Keystone v3, ECL provider-connectivity and SSS): status codes, bodies,
//! headers, lifecycles (polled with deadlines), faults, counters, the 410 mode, token expiry and
//! the `--keystone-url` mode. Tenant connections (`emulator/connections.rs`) and the SSS owner's
//! view (`emulator/approvals.rs`) have files of their own.

use cloudlink_testkit as support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::emulator::{ADMIN, APPCRED_ID, APPCRED_SECRET, DEMO, Emulator, OWNER, eventually};

/// Lifecycle steps are shortened so that the whole file runs in seconds.
const FAST: &[&str] = &[
    "--server-build-delay",
    "150ms",
    "--server-delete-delay",
    "150ms",
    "--tcr-registering-delay",
    "50ms",
    "--tcr-registered-delay",
    "50ms",
];

mod approvals;
mod connections;

const DEADLINE: Duration = Duration::from_secs(5);

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

async fn call(
    emulator: &Emulator,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = emulator
        .http()
        .request(method, format!("{}{path}", emulator.url()));
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Reply {
        status,
        headers,
        text,
    }
}

async fn get(emulator: &Emulator, path: &str, token: &str) -> Reply {
    call(emulator, Method::GET, path, Some(token), None).await
}

fn keystone_401() -> Value {
    json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})
}

fn tcr_body(network_id: &str) -> Value {
    json!({"tenant_connection_request": {
        "tenant_id_other": OWNER.project_id, "network_id": network_id,
        "name": "to-shared-net", "description": "connect our servers", "tags": {"env": "test"}}})
}

const TCRS: &str = "/provider-connectivity/v2.0/tenant_connection_requests";

async fn create_tcr(emulator: &Emulator, token: &str, network_id: &str) -> Value {
    let reply = call(
        emulator,
        Method::POST,
        TCRS,
        Some(token),
        Some(tcr_body(network_id)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["tenant_connection_request"].clone()
}

/// Polls the TCR until it has `status`, returning it.
async fn tcr_reaches(emulator: &Emulator, token: &str, id: &str, status: &str) -> Value {
    eventually(DEADLINE, &format!("TCR {id} becomes {status}"), || async {
        let tcr =
            get(emulator, &format!("{TCRS}/{id}"), token).await.json()["tenant_connection_request"]
                .clone();
        (tcr["status"] == status).then_some(tcr)
    })
    .await
}

// ----- identity

#[tokio::test]
async fn discovery_answers_like_keystone() {
    let emulator = Emulator::start(&[]);
    let root = call(&emulator, Method::GET, "/", None, None).await;
    assert_eq!(root.status, 300);
    assert_eq!(root.header("location"), format!("{}/v3/", emulator.url()));
    assert_eq!(root.json()["versions"]["values"][0]["id"], "v3.14");
    let v3 = call(&emulator, Method::GET, "/v3", None, None).await;
    assert_eq!(v3.status, 200);
    assert_eq!(
        v3.json()["version"]["links"][0]["href"],
        format!("{}/v3/", emulator.url())
    );
}

#[tokio::test]
async fn password_token_carries_roles_project_and_a_catalog_pointing_at_the_emulator() {
    let emulator = Emulator::start(&[]);
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": ADMIN.password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
    let reply = call(&emulator, Method::POST, "/v3/auth/tokens", None, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(!reply.header("x-subject-token").is_empty());
    let token = &reply.json()["token"];
    assert_eq!(token["project"]["id"], ADMIN.project_id);
    assert_eq!(token["user"]["id"], ADMIN.user_id);
    assert_eq!(token["methods"], json!(["password"]));
    assert!(
        token["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "admin")
    );
    let expires_at = token["expires_at"].as_str().unwrap();
    // `2026-11-24T13:00:00.123456Z`: microseconds and Z, one hour ahead by default
    assert_eq!(expires_at.len(), 27, "{expires_at}");
    assert!(expires_at.ends_with('Z') && expires_at.as_bytes()[19] == b'.');
    let lifetime = expires_at
        .parse::<jiff::Timestamp>()
        .unwrap()
        .duration_since(jiff::Timestamp::now());
    assert!(
        lifetime > jiff::SignedDuration::from_mins(59)
            && lifetime <= jiff::SignedDuration::from_mins(60)
    );

    let url_of = |kind: &str| {
        let service = token["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == kind)
            .unwrap_or_else(|| panic!("{kind}"));
        let public: Vec<&Value> = service["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["interface"] == "public")
            .collect();
        assert_eq!(public.len(), 1, "one public {kind} endpoint");
        public[0]["url"].as_str().unwrap().to_owned()
    };
    let base = emulator.url();
    assert_eq!(
        url_of("compute"),
        format!("{base}/compute/v2.1/{}", ADMIN.project_id)
    );
    assert_eq!(
        url_of("provider-connectivity"),
        format!("{base}/provider-connectivity")
    );
    assert_eq!(url_of("sss"), format!("{base}/sss/api/v1.0"));
    assert_eq!(url_of("sssv2"), format!("{base}/sss/api/v2"));
    assert_eq!(url_of("identity"), format!("{base}/v3"));
}

#[tokio::test]
async fn user_name_without_domain_and_application_credentials_are_accepted() {
    let emulator = Emulator::start(&[]);
    // eclcli's first auth request of each command has no user domain (seen running eclcli 4.8.0)
    let no_domain = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "owner", "password": OWNER.password}}}, "scope": {"project": {"id": OWNER.project_id}}}});
    let reply = call(
        &emulator,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(no_domain),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    let appcred = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": APPCRED_ID, "secret": APPCRED_SECRET}}}});
    let reply = call(
        &emulator,
        Method::POST,
        "/v3/auth/tokens?nocatalog",
        None,
        Some(appcred),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let token = &reply.json()["token"];
    assert_eq!(token["methods"], json!(["application_credential"]));
    assert_eq!(token["application_credential"]["id"], APPCRED_ID);
    assert_eq!(token["project"]["id"], ADMIN.project_id);
    assert!(
        token.get("catalog").is_none(),
        "?nocatalog leaves the catalog out"
    );
    // the app-cred token works on an admin-only API
    let list = get(
        &emulator,
        "/compute/v2.1/os-cloudpipe",
        reply.header("x-subject-token"),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text);
}

#[tokio::test]
async fn bad_credentials_get_keystones_401_and_malformed_requests_a_400() {
    let emulator = Emulator::start(&[]);
    let wrong = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "not-it"}}}}});
    let reply = call(
        &emulator,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(wrong),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json(), keystone_401());
    assert_eq!(
        reply.header("www-authenticate"),
        format!("Keystone uri=\"{}\"", emulator.url())
    );
    assert!(!reply.text.contains("not-it"));

    let wrong_secret = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": APPCRED_ID, "secret": "nope"}}}});
    assert_eq!(
        call(
            &emulator,
            Method::POST,
            "/v3/auth/tokens",
            None,
            Some(wrong_secret)
        )
        .await
        .status,
        401
    );

    let no_domain_for_project = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": ADMIN.user_id, "password": ADMIN.password}}}, "scope": {"project": {"name": "admin"}}}});
    let reply = call(
        &emulator,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(no_domain_for_project),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Expecting to find domain in project.")
    );

    let garbage = emulator
        .http()
        .post(format!("{}/v3/auth/tokens", emulator.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
}

#[tokio::test]
async fn tokens_validate_and_revoke_as_keystone_does() {
    let emulator = Emulator::start(&[]);
    let admin = emulator.token(&ADMIN).await;
    let demo = emulator.token(&DEMO).await;
    let validate = |auth: String, subject: String| {
        let request = emulator
            .http()
            .get(format!("{}/v3/auth/tokens", emulator.url()))
            .header("X-Auth-Token", auth)
            .header("X-Subject-Token", subject);
        async move { request.send().await.unwrap() }
    };
    let reply = validate(admin.clone(), demo.clone()).await;
    assert_eq!(reply.status().as_u16(), 200);
    assert_eq!(reply.headers()["x-subject-token"], demo.as_str());
    assert_eq!(
        reply.json::<Value>().await.unwrap()["token"]["user"]["name"],
        "demo"
    );
    assert_eq!(
        validate(demo.clone(), admin.clone())
            .await
            .status()
            .as_u16(),
        403,
        "demo may not validate admin's token"
    );
    assert_eq!(
        validate(demo.clone(), demo.clone()).await.status().as_u16(),
        200,
        "anyone may validate their own"
    );
    assert_eq!(
        validate(admin.clone(), "forged".into())
            .await
            .status()
            .as_u16(),
        404
    );

    let revoke = emulator
        .http()
        .delete(format!("{}/v3/auth/tokens", emulator.url()))
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &demo)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 204);
    assert_eq!(
        validate(admin.clone(), demo.clone())
            .await
            .status()
            .as_u16(),
        404
    );
    let reply = get(&emulator, TCRS, &demo).await;
    assert_eq!(
        reply.status, 401,
        "a revoked token is refused by the services"
    );
    assert_eq!(reply.json(), keystone_401());
}

#[tokio::test]
async fn tokens_expire_after_the_configured_ttl() {
    let emulator = Emulator::start(&["--token-ttl", "300ms"]);
    let token = emulator.token(&ADMIN).await;
    assert_eq!(get(&emulator, TCRS, &token).await.status, 200);
    eventually(DEADLINE, "the token expires", || async {
        (get(&emulator, TCRS, &token).await.status == 401).then_some(())
    })
    .await;
    assert_eq!(
        get(&emulator, TCRS, &emulator.token(&ADMIN).await)
            .await
            .status,
        200,
        "a new token works"
    );
}

#[tokio::test]
async fn an_identity_config_file_defines_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("identity.yaml");
    std::fs::write(
        &config,
        "projects: [{name: alpha}, {id: 00000000000000000000000000000bbb, name: beta}]\n\
         users:\n  - {name: alice, password: a-secret, project: alpha, roles: [admin]}\n  \
         - {name: bob, password: b-secret, project: beta}\n",
    )
    .unwrap();
    let emulator = Emulator::start(&["--identity-config", config.to_str().unwrap()]);
    let state = emulator.state().await;
    assert!(
        !state.to_string().contains("a-secret"),
        "the dump never shows passwords"
    );
    let bob = &state["identity"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob["project_id"], "00000000000000000000000000000bbb");
    assert_eq!(bob["roles"], json!(["member", "reader"]));
    let login = |name: &str, password: &str| {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}}}})
    };
    assert_eq!(
        call(
            &emulator,
            Method::POST,
            "/v3/auth/tokens",
            None,
            Some(login("alice", "a-secret"))
        )
        .await
        .status,
        201
    );
    assert_eq!(
        call(
            &emulator,
            Method::POST,
            "/v3/auth/tokens",
            None,
            Some(login("admin", ADMIN.password))
        )
        .await
        .status,
        401
    );

    std::fs::write(
        &config,
        "projects: []\nusers: [{name: x, password: y, project: nowhere}]\n",
    )
    .unwrap();
    let refused = Emulator::try_start(&["--identity-config", config.to_str().unwrap()])
        .err()
        .expect("an identity file naming a missing project is refused");
    assert!(refused.contains("no project \"nowhere\""), "{refused}");
}

// ----- Nova

#[tokio::test]
async fn cloudpipe_create_is_idempotent_and_its_server_builds_then_gets_configured() {
    let emulator = Emulator::start(FAST);
    let token = emulator.token(&ADMIN).await;
    let base = format!("/compute/v2.1/{}", ADMIN.project_id);
    let create = json!({"cloudpipe": {"project_id": OWNER.project_id}});
    let first = call(
        &emulator,
        Method::POST,
        &format!("{base}/os-cloudpipe"),
        Some(&token),
        Some(create.clone()),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let instance_id = first.json()["instance_id"].as_str().unwrap().to_owned();
    // the URL form without the project id reaches the same cloud
    let second = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(create),
    )
    .await;
    assert_eq!(
        second.json()["instance_id"],
        instance_id.as_str(),
        "one VPN server per project"
    );

    let list = get(&emulator, &format!("{base}/os-cloudpipe"), &token)
        .await
        .json();
    let entry = &list["cloudpipes"][0];
    assert_eq!(list["cloudpipes"].as_array().unwrap().len(), 1);
    assert_eq!(entry["project_id"], OWNER.project_id);
    assert_eq!(entry["instance_id"], instance_id.as_str());
    assert!(
        entry.get("internal_ip").is_none(),
        "a building server has no network info yet: {entry}"
    );

    let server = get(&emulator, &format!("{base}/servers/{instance_id}"), &token)
        .await
        .json()["server"]
        .clone();
    assert_eq!(server["status"], "BUILD");
    assert_eq!(server["name"], format!("{}-vpn", OWNER.project_id));
    assert_eq!(server["tenant_id"], OWNER.project_id);
    eventually(DEADLINE, "the VPN server becomes ACTIVE", || async {
        let server = get(&emulator, &format!("{base}/servers/{instance_id}"), &token)
            .await
            .json();
        (server["server"]["status"] == "ACTIVE"
            && server["server"]["OS-EXT-STS:task_state"].is_null())
        .then_some(())
    })
    .await;
    let entry = get(&emulator, &format!("{base}/os-cloudpipe"), &token)
        .await
        .json()["cloudpipes"][0]
        .clone();
    assert_eq!(
        entry["state"], "invalid",
        "no VPN endpoint configured yet: {entry}"
    );
    assert!(entry["public_ip"].is_null() && entry["internal_ip"].is_string());

    // configure-project sets the caller's own project's endpoint: give the admin project a VPN
    // server of its own and configure that.
    let own = call(
        &emulator,
        Method::POST,
        &format!("{base}/os-cloudpipe"),
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    let own_id = own.json()["instance_id"].as_str().unwrap().to_owned();
    assert_ne!(own_id, instance_id);
    let configure = json!({"configure_project": {"vpn_ip": "203.0.113.10", "vpn_port": "1194"}});
    let reply = call(
        &emulator,
        Method::PUT,
        &format!("{base}/os-cloudpipe/configure-project"),
        Some(&token),
        Some(configure),
    )
    .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.text, "");
    let own_entry = eventually(
        DEADLINE,
        "the admin project's VPN server is listed as running",
        || async {
            let list = get(&emulator, &format!("{base}/os-cloudpipe"), &token)
                .await
                .json();
            list["cloudpipes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["instance_id"] == own_id.as_str() && e["state"] == "running")
                .cloned()
        },
    )
    .await;
    assert_eq!(own_entry["public_ip"], "203.0.113.10");
    assert_eq!(
        own_entry["public_port"], 1194,
        "the port reads back as a number"
    );
}

#[tokio::test]
async fn cloudpipe_refuses_non_admins_and_foreign_project_urls_exactly_as_nova() {
    let emulator = Emulator::start(&[]);
    let demo = emulator.token(&DEMO).await;
    let forbidden = json!({"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:os-cloudpipe to be performed."}});
    let list = get(&emulator, "/compute/v2.1/os-cloudpipe", &demo).await;
    assert_eq!((list.status, list.json()), (403, forbidden.clone()));
    let create = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&demo),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    assert_eq!((create.status, create.json()), (403, forbidden));
    // validation comes before policy on create (the schema decorator runs first)
    let invalid = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&demo),
        Some(json!({})),
    )
    .await;
    assert_eq!(invalid.status, 400);

    let admin = emulator.token(&ADMIN).await;
    let foreign = get(
        &emulator,
        &format!("/compute/v2.1/{}/os-cloudpipe", OWNER.project_id),
        &admin,
    )
    .await;
    assert_eq!(foreign.status, 400);
    assert_eq!(
        foreign.json()["badRequest"]["message"],
        format!(
            "Malformed request URL: URL's project_id '{}' doesn't match Context's project_id '{}'",
            OWNER.project_id, ADMIN.project_id
        )
    );
    let not_a_project = get(&emulator, "/compute/v2.1/NOT-HEX/os-cloudpipe", &admin).await;
    assert_eq!(not_a_project.status, 404);
    let unauthenticated = call(
        &emulator,
        Method::GET,
        "/compute/v2.1/os-cloudpipe",
        None,
        None,
    )
    .await;
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(unauthenticated.json(), keystone_401());
    assert!(
        unauthenticated
            .header("x-compute-request-id")
            .starts_with("req-"),
        "request ids on 401s too"
    );
}

#[tokio::test]
async fn cloudpipe_validation_messages_follow_nova() {
    let emulator = Emulator::start(&[]);
    let token = emulator.token(&ADMIN).await;
    let message = |reply: Reply| {
        assert_eq!(reply.status, 400, "{}", reply.text);
        reply.json()["badRequest"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let post = |body: Value| {
        call(
            &emulator,
            Method::POST,
            "/compute/v2.1/os-cloudpipe",
            Some(&token),
            Some(body),
        )
    };
    assert_eq!(
        message(post(json!({"cloudpipe": {"project_id": "bad.project.id"}})).await),
        "Invalid input for field/attribute project_id. Value: bad.project.id. 'bad.project.id' does not match '^[a-zA-Z0-9-]*$'"
    );
    assert_eq!(
        message(post(json!({"pipe": {}})).await),
        "'cloudpipe' is a required property"
    );
    assert_eq!(
        message(post(json!({"cloudpipe": {"project_id": "p", "extra": 1}})).await),
        "Invalid input for field/attribute cloudpipe. Value: {'extra': 1, 'project_id': 'p'}. \
         Additional properties are not allowed ('extra' was unexpected)"
    );
    let malformed = emulator
        .http()
        .post(format!("{}/compute/v2.1/os-cloudpipe", emulator.url()))
        .header("X-Auth-Token", &token)
        .header("Content-Type", "application/json")
        .body("{\"cloudpipe\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(
        malformed.json::<Value>().await.unwrap()["badRequest"]["message"],
        "Malformed request body"
    );

    let put = |action: &str, body: Value| {
        let (emulator, token, path) = (
            &emulator,
            &token,
            format!("/compute/v2.1/os-cloudpipe/{action}"),
        );
        async move { call(emulator, Method::PUT, &path, Some(token), Some(body)).await }
    };
    assert_eq!(
        message(
            put(
                "configure-project",
                json!({"configure_project": {"vpn_ip": "203.0.113.1", "vpn_port": 65536}})
            )
            .await
        ),
        "Invalid input for field/attribute vpn_port. Value: 65536. 65536 is greater than the maximum of 65535"
    );
    assert_eq!(
        message(
            put(
                "configure-project",
                json!({"configure_project": {"vpn_ip": "300.1.1.1", "vpn_port": 1}})
            )
            .await
        ),
        "Invalid input for field/attribute vpn_ip. Value: 300.1.1.1. '300.1.1.1' is not valid under any of the given schemas"
    );
    assert_eq!(
        message(
            put(
                "configure",
                json!({"configure_project": {"vpn_ip": "::1", "vpn_port": 1}})
            )
            .await
        ),
        "Unknown action configure"
    );
    let other = call(
        &emulator,
        Method::GET,
        "/compute/v2.1/os-cloudpipe/anything",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        other.json(),
        json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}})
    );
}

#[tokio::test]
async fn microversions_are_negotiated_and_echoed() {
    let emulator = Emulator::start(&[]);
    let token = emulator.token(&ADMIN).await;
    let with = |name: &'static str, value: &'static str| {
        let request = emulator
            .http()
            .get(format!("{}/compute/v2.1/os-cloudpipe", emulator.url()))
            .header("X-Auth-Token", &token)
            .header(name, value);
        async move { request.send().await.unwrap() }
    };
    let legacy = with("X-OpenStack-Nova-API-Version", "2.42").await;
    assert_eq!(legacy.status().as_u16(), 200);
    assert_eq!(legacy.headers()["x-openstack-nova-api-version"], "2.42");
    assert_eq!(legacy.headers()["openstack-api-version"], "compute 2.42");
    assert!(
        legacy.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("X-OpenStack-Nova-API-Version")
    );
    let request_id = legacy.headers()["x-compute-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        request_id.starts_with("req-") && uuid::Uuid::parse_str(&request_id[4..]).is_ok(),
        "{request_id}"
    );
    let latest = with("OpenStack-API-Version", "compute latest").await;
    assert_eq!(latest.headers()["x-openstack-nova-api-version"], "2.42");
    let none = get(&emulator, "/compute/v2.1/os-cloudpipe", &token).await;
    assert_eq!(none.header("x-openstack-nova-api-version"), "2.1");

    let too_new = with("X-OpenStack-Nova-API-Version", "2.43").await;
    assert_eq!(too_new.status().as_u16(), 406);
    assert_eq!(
        too_new.json::<Value>().await.unwrap()["computeFault"]["message"],
        "Version 2.43 is not supported by the API. Minimum is 2.1 and maximum is 2.42."
    );
    let garbled = with("OpenStack-API-Version", "compute two").await;
    assert_eq!(garbled.status().as_u16(), 400);
    assert_eq!(
        garbled.json::<Value>().await.unwrap()["badRequest"]["message"],
        "API Version String two is of invalid format. Must be of format MajorNum.MinorNum."
    );
    let doc = call(
        &emulator,
        Method::GET,
        &format!("/compute/v2.1/{}", ADMIN.project_id),
        None,
        None,
    )
    .await;
    assert_eq!(
        doc.status, 200,
        "novaclient's discovery at the catalog URL needs no token"
    );
    assert_eq!(doc.json()["version"]["version"], "2.42");
    assert_eq!(doc.json()["version"]["min_version"], "2.1");
}

#[tokio::test]
async fn deleting_the_vpn_server_passes_through_deleting_and_ends_in_nova_404() {
    let emulator = Emulator::start(FAST);
    let token = emulator.token(&ADMIN).await;
    let create = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    let id = create.json()["instance_id"].as_str().unwrap().to_owned();
    let path = format!("/compute/v2.1/{}/servers/{id}", ADMIN.project_id);
    let deleted = call(&emulator, Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        get(&emulator, &path, &token).await.json()["server"]["OS-EXT-STS:task_state"],
        "deleting"
    );
    eventually(DEADLINE, "the server is gone", || async {
        (get(&emulator, &path, &token).await.status == 404).then_some(())
    })
    .await;
    assert_eq!(
        get(&emulator, &path, &token).await.json(),
        json!({"itemNotFound": {"code": 404, "message": format!("Instance {id} could not be found.")}})
    );
    assert_eq!(
        get(&emulator, "/compute/v2.1/os-cloudpipe", &token)
            .await
            .json(),
        json!({"cloudpipes": []})
    );
    let again = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    assert_ne!(
        again.json()["instance_id"],
        id.as_str(),
        "a new cloudpipe once the old server is gone"
    );
    // other tenants neither see nor delete it
    let owner = emulator.token(&OWNER).await;
    let new_id = again.json()["instance_id"].as_str().unwrap().to_owned();
    let foreign = call(
        &emulator,
        Method::DELETE,
        &format!("/compute/v2.1/servers/{new_id}"),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn pike_and_later_answer_410_with_nova_exact_body() {
    let gone = json!({"computeFault": {"code": 410,
        "message": "This resource is no longer available.  No forwarding address is given."}});
    let emulator = Emulator::start(&["--nova-release", "pike"]);
    let token = emulator.token(&ADMIN).await;
    let demo = emulator.token(&DEMO).await;
    let list = get(&emulator, "/compute/v2.1/os-cloudpipe", &demo).await;
    assert_eq!(
        (list.status, list.json()),
        (410, gone.clone()),
        "no policy check any more"
    );
    let create = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(json!({"anything": 1})),
    )
    .await;
    assert_eq!(
        (create.status, create.json()),
        (410, gone.clone()),
        "and no body validation"
    );
    let configure = call(
        &emulator,
        Method::PUT,
        "/compute/v2.1/os-cloudpipe/x",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!((configure.status, configure.json()), (410, gone.clone()));
    let doc = call(&emulator, Method::GET, "/compute/v2.1/", None, None).await;
    assert_eq!(doc.json()["version"]["version"], "2.53");

    // and at runtime, back and forth
    let ocata = Emulator::start(&[]);
    let token = ocata.token(&ADMIN).await;
    assert_eq!(
        get(&ocata, "/compute/v2.1/os-cloudpipe", &token)
            .await
            .status,
        200
    );
    ocata.set_nova_release("queens").await;
    assert_eq!(
        get(&ocata, "/compute/v2.1/os-cloudpipe", &token)
            .await
            .json(),
        gone
    );
    ocata.reset().await;
    assert_eq!(
        get(&ocata, "/compute/v2.1/os-cloudpipe", &token)
            .await
            .status,
        200,
        "reset restores the startup release"
    );
}

// ----- ECL provider-connectivity and SSS

#[tokio::test]
async fn tcr_lifecycle_from_creating_to_approved_by_the_network_owner() {
    let emulator = Emulator::start(FAST);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let created = create_tcr(&emulator, &requester, "net-1").await;
    assert_eq!(created["status"], "creating");
    assert_eq!(created["approval_request_id"], "");
    assert_eq!(created["tenant_id"], ADMIN.project_id);
    assert_eq!(created["tags_other"], json!({}));
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        12,
        "exactly the twelve documented keys: {keys:?}"
    );
    let id = created["id"].as_str().unwrap();

    let registered = tcr_reaches(&emulator, &requester, id, "registered").await;
    let approval_id = registered["approval_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!approval_id.is_empty());

    for sss in ["/sss/api/v1.0", "/sss/api/v2"] {
        let approval = get(
            &emulator,
            &format!("{sss}/approval-requests/{approval_id}"),
            &owner,
        )
        .await;
        assert_eq!(approval.status, 200);
        let approval = approval.json();
        assert_eq!(
            approval["request_id"],
            approval_id.as_str(),
            "a bare object, not wrapped"
        );
        assert_eq!(approval["status"], "registered");
        assert_eq!(approval["approver"], true);
        assert_eq!(approval["request_user"], false);
        assert_eq!(approval["approver_id"], OWNER.project_id);
        assert_eq!(
            approval["actions"][0]["body"]["tenant_connection_request"]["network_id"],
            "net-1"
        );
    }
    let as_requester = get(
        &emulator,
        &format!("/sss/api/v1.0/approval-requests/{approval_id}"),
        &requester,
    )
    .await
    .json();
    assert_eq!(
        (
            as_requester["approver"].clone(),
            as_requester["request_user"].clone()
        ),
        (json!(false), json!(true))
    );

    let decide = |token: String, status: &'static str| {
        let path = format!("/sss/api/v1.0/approval-requests/{approval_id}");
        let emulator = &emulator;
        async move {
            call(
                emulator,
                Method::PUT,
                &path,
                Some(&token),
                Some(json!({"status": status})),
            )
            .await
        }
    };
    let by_requester = decide(requester.clone(), "approved").await;
    assert_eq!(by_requester.status, 403, "only the network owner approves");
    let approved = decide(owner.clone(), "approved").await;
    assert_eq!(approved.status, 204);
    assert_eq!(approved.text, "");
    assert_eq!(
        tcr_reaches(&emulator, &requester, id, "approved").await["approval_request_id"],
        approval_id.as_str()
    );
    assert_eq!(
        decide(owner.clone(), "denied").await.status,
        409,
        "decided once"
    );
    assert_eq!(decide(owner.clone(), "maybe").await.status, 400);
    let list = get(
        &emulator,
        "/sss/api/v1.0/approval-requests?status=approved",
        &owner,
    )
    .await
    .json();
    assert_eq!(list["approval_requests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_requester_cancels_and_the_owner_denies() {
    let emulator = Emulator::start(FAST);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let first = create_tcr(&emulator, &requester, "net-a").await;
    let second = create_tcr(&emulator, &requester, "net-b").await;
    let first = tcr_reaches(
        &emulator,
        &requester,
        first["id"].as_str().unwrap(),
        "registered",
    )
    .await;
    let approval = first["approval_request_id"].as_str().unwrap();
    let path = format!("/sss/api/v2/approval-requests/{approval}");
    assert_eq!(
        call(
            &emulator,
            Method::PUT,
            &path,
            Some(&owner),
            Some(json!({"status": "cancelled"}))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        call(
            &emulator,
            Method::PUT,
            &path,
            Some(&requester),
            Some(json!({"status": "cancelled"}))
        )
        .await
        .status,
        204
    );
    tcr_reaches(
        &emulator,
        &requester,
        first["id"].as_str().unwrap(),
        "cancelled",
    )
    .await;

    let second_id = second["id"].as_str().unwrap();
    tcr_reaches(&emulator, &requester, second_id, "registered").await;
    emulator.deny(second_id).await;
    tcr_reaches(&emulator, &owner, second_id, "denied").await;
}

#[tokio::test]
async fn auto_approval_for_demos() {
    let mut args = FAST.to_vec();
    args.extend(["--auto-approve-after", "100ms"]);
    let emulator = Emulator::start(&args);
    let token = emulator.token(&ADMIN).await;
    let created = create_tcr(&emulator, &token, "net-demo").await;
    tcr_reaches(
        &emulator,
        &token,
        created["id"].as_str().unwrap(),
        "approved",
    )
    .await;
}

#[tokio::test]
async fn tcr_list_filters_and_visibility_for_both_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("identity.json");
    std::fs::write(
        &config,
        json!({
            "projects": [{"id": ADMIN.project_id, "name": "admin"}, {"id": OWNER.project_id, "name": "network-owner"},
                         {"id": "cccccccccccccccccccccccccccccccc", "name": "bystander"}],
            "users": [{"name": "admin", "password": ADMIN.password, "project": "admin", "roles": ["admin"]},
                      {"name": "owner", "password": OWNER.password, "project": "network-owner"},
                      {"name": "carol", "password": "carol-secret", "project": "bystander"}],
        })
        .to_string(),
    )
    .unwrap();
    let mut args = FAST.to_vec();
    args.extend(["--identity-config", config.to_str().unwrap()]);
    let emulator = Emulator::start(&args);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let carol = emulator
        .token(&support::emulator::Account {
            user: "carol",
            user_id: "",
            password: "carol-secret",
            project: "bystander",
            project_id: "cccccccccccccccccccccccccccccccc",
        })
        .await;
    let one = create_tcr(&emulator, &requester, "net-1").await;
    let two = create_tcr(&emulator, &requester, "net-2").await;
    let one_id = one["id"].as_str().unwrap();
    let one = tcr_reaches(&emulator, &requester, one_id, "registered").await;

    let ids = |reply: Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["tenant_connection_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let both = vec![one_id.to_owned(), two["id"].as_str().unwrap().to_owned()];
    assert_eq!(
        ids(get(&emulator, TCRS, &requester).await),
        both,
        "the requester sees its requests, oldest first"
    );
    assert_eq!(
        ids(get(&emulator, TCRS, &owner).await),
        both,
        "the owner sees the requests made to it"
    );
    assert!(
        ids(get(&emulator, TCRS, &carol).await).is_empty(),
        "a third tenant sees nothing"
    );
    assert_eq!(
        get(&emulator, &format!("{TCRS}/{one_id}"), &carol)
            .await
            .status,
        404
    );

    let only_one = vec![one_id.to_owned()];
    for query in [
        "network_id=net-1".to_owned(),
        format!("tenant_connection_request_id={one_id}"),
        format!(
            "approval_request_id={}",
            one["approval_request_id"].as_str().unwrap()
        ),
        "status=registered&network_id=net-1".to_owned(),
    ] {
        assert_eq!(
            ids(get(&emulator, &format!("{TCRS}?{query}"), &owner).await),
            only_one,
            "{query}"
        );
    }
    assert_eq!(
        ids(get(
            &emulator,
            &format!("{TCRS}?network_id=net-1&network_id=net-2"),
            &owner
        )
        .await),
        both
    );
    assert_eq!(
        ids(get(
            &emulator,
            &format!("{TCRS}?tenant_id_other={}", OWNER.project_id),
            &owner
        )
        .await),
        both
    );
    assert!(ids(get(&emulator, &format!("{TCRS}?name=nope"), &owner).await).is_empty());
    let bad = get(&emulator, &format!("{TCRS}?status=sleeping"), &owner).await;
    assert_eq!(
        (bad.status, bad.json()),
        (
            400,
            json!({"cause": "Invalid value for status: 'sleeping'"})
        )
    );
}

#[tokio::test]
async fn tcr_update_splits_fields_between_requester_and_owner() {
    let emulator = Emulator::start(FAST);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let id = create_tcr(&emulator, &requester, "net-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{TCRS}/{id}");
    let put = |token: &str, fields: Value| {
        let (emulator, path, token) = (&emulator, &path, token.to_owned());
        async move {
            call(
                emulator,
                Method::PUT,
                path,
                Some(&token),
                Some(json!({ "tenant_connection_request": fields })),
            )
            .await
        }
    };
    let renamed = put(&requester, json!({"name": "renamed"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let renamed = renamed.json()["tenant_connection_request"].clone();
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(
        renamed["description"], "connect our servers",
        "a partial body keeps the other fields"
    );
    let by_owner = put(
        &owner,
        json!({"name_other": "from-team-a", "tags_other": {"cost": "a1"}}),
    )
    .await
    .json();
    assert_eq!(
        by_owner["tenant_connection_request"]["tags_other"],
        json!({"cost": "a1"})
    );
    assert_eq!(by_owner["tenant_connection_request"]["name"], "renamed");

    let wrong_side = put(&owner, json!({"name": "mine"})).await;
    assert_eq!(wrong_side.status, 403);
    assert!(wrong_side.json()["cause"].is_string());
    assert_eq!(
        put(&requester, json!({"description_other": "x"}))
            .await
            .status,
        403
    );
    assert_eq!(
        put(&requester, json!({"network_id": "other"})).await.status,
        400,
        "fixed fields"
    );
    assert_eq!(
        put(&requester, json!({"nmae": "typo"})).await.status,
        400,
        "unknown fields"
    );
    assert_eq!(
        put(&requester, json!({"tags": {"n": 1}})).await.status,
        400,
        "tags are strings"
    );
    let cleared = put(&requester, json!({"description": "", "tags": {}}))
        .await
        .json()["tenant_connection_request"]
        .clone();
    assert_eq!(
        (cleared["description"].clone(), cleared["tags"].clone()),
        (json!(""), json!({}))
    );
}

#[tokio::test]
async fn tcr_conflicts_deletes_and_bad_bodies() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "300ms",
        "--tcr-registered-delay",
        "50ms",
    ]);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let id = create_tcr(&emulator, &requester, "net-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate = call(
        &emulator,
        Method::POST,
        TCRS,
        Some(&requester),
        Some(tcr_body("net-1")),
    )
    .await;
    assert_eq!(
        duplicate.status, 409,
        "a live request for the same network and owner"
    );
    assert!(duplicate.json()["cause"].as_str().unwrap().contains(&id));
    let path = format!("{TCRS}/{id}");
    assert_eq!(
        call(&emulator, Method::DELETE, &path, Some(&requester), None)
            .await
            .status,
        409,
        "still creating"
    );

    tcr_reaches(&emulator, &requester, &id, "registered").await;
    assert_eq!(
        call(&emulator, Method::DELETE, &path, Some(&owner), None)
            .await
            .status,
        403,
        "the owner answers via SSS"
    );
    let deleted = call(&emulator, Method::DELETE, &path, Some(&requester), None).await;
    assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
    let gone = get(&emulator, &path, &requester).await;
    assert_eq!(
        (gone.status, gone.json()),
        (
            404,
            json!({"cause": format!("Tenant Connection Request {id} not found.")})
        )
    );
    assert_eq!(
        call(&emulator, Method::DELETE, &path, Some(&requester), None)
            .await
            .status,
        404
    );
    assert_eq!(
        emulator.state().await["approval_requests"][0]["status"],
        "cancelled",
        "its pending approval is withdrawn"
    );

    let raw = |body: Vec<u8>| {
        emulator
            .http()
            .post(format!("{}{TCRS}", emulator.url()))
            .header("X-Auth-Token", &requester)
            .body(body)
            .send()
    };
    let malformed = raw(b"{\"tenant_connection_request\":".to_vec())
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert!(malformed.json::<Value>().await.unwrap()["cause"].is_string());
    let huge = raw(vec![b' '; 200 * 1024]).await.unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    for body in [
        json!([]),
        json!({"tenant_connection_request": {"network_id": "n"}}),
        json!({"tenant_connection_request": {"network_id": "n", "tenant_id_other": 5}}),
        json!({"tenant_connection_request": {"network_id": "n", "tenant_id_other": "t", "status": "approved"}}),
    ] {
        let reply = call(
            &emulator,
            Method::POST,
            TCRS,
            Some(&requester),
            Some(body.clone()),
        )
        .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
    }
    assert_eq!(
        get(&emulator, TCRS, &requester).await.status,
        200,
        "still serving"
    );
}

// ----- faults

#[tokio::test]
async fn injected_errors_use_each_services_shape_and_retry_after() {
    let emulator = Emulator::start(&["--fault", r#"nova.cloudpipe.create={"error_status":500}"#]);
    let token = emulator.token(&ADMIN).await;
    let create = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    assert_eq!(create.status, 500);
    assert!(
        create.json()["computeFault"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unexpected API Error.")
    );
    assert!(create.header("x-compute-request-id").starts_with("req-"));
    assert_eq!(
        emulator.state().await["servers"],
        json!([]),
        "an injected error changes nothing"
    );

    emulator
        .set_fault(
            "nova.cloudpipe.list",
            json!({"error_status": 429, "retry_after_s": 7, "times": 1}),
        )
        .await;
    let limited = get(&emulator, "/compute/v2.1/os-cloudpipe", &token).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), "7");
    assert_eq!(
        limited.json(),
        json!({"overLimit": {"code": 429, "message": "This request was rate-limited.", "retryAfter": "7"}})
    );
    assert_eq!(
        get(&emulator, "/compute/v2.1/os-cloudpipe", &token)
            .await
            .status,
        200,
        "times: 1 fires once"
    );

    emulator
        .set_fault("ecl.*", json!({"error_status": 503}))
        .await;
    let unavailable = get(&emulator, TCRS, &token).await;
    assert_eq!(
        (unavailable.status, unavailable.header("retry-after")),
        (503, "1")
    );
    assert_eq!(unavailable.json(), json!({"cause": "Service Unavailable"}));
    assert_eq!(emulator.count("ecl.tcr.list", "503").await, 1);
    assert_eq!(emulator.count("nova.cloudpipe.list", "429").await, 1);
    assert_eq!(emulator.count("nova.cloudpipe.list", "200").await, 1);
    emulator.clear_faults().await;
    assert_eq!(get(&emulator, TCRS, &token).await.status, 200);

    let unknown = emulator
        .http()
        .put(format!("{}/_admin/faults/ecl.tcr.creat", emulator.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status().as_u16(),
        400,
        "a misspelt route is refused"
    );
    let bad_rate = emulator
        .http()
        .put(format!("{}/_admin/faults/ecl.*", emulator.url()))
        .json(&json!({"reset_rate": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_rate.status().as_u16(), 400);
}

#[tokio::test]
async fn commit_then_fail_keeps_the_create_but_the_client_sees_a_500() {
    let emulator = Emulator::start(FAST);
    let token = emulator.token(&ADMIN).await;
    emulator
        .set_fault(
            "ecl.tcr.create",
            json!({"commit_then_fail": "error", "times": 1}),
        )
        .await;
    let lost = call(
        &emulator,
        Method::POST,
        TCRS,
        Some(&token),
        Some(tcr_body("net-1")),
    )
    .await;
    assert_eq!(
        (lost.status, lost.json()),
        (500, json!({"cause": "Internal Server Error"}))
    );
    let listed = get(&emulator, &format!("{TCRS}?network_id=net-1"), &token)
        .await
        .json();
    assert_eq!(
        listed["tenant_connection_requests"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "committed nonetheless"
    );
    let retry = call(
        &emulator,
        Method::POST,
        TCRS,
        Some(&token),
        Some(tcr_body("net-1")),
    )
    .await;
    assert_eq!(retry.status, 409, "a blind retry conflicts with the orphan");

    // Nova's create is idempotent: the retry finds the server the lost answer named
    emulator
        .set_fault(
            "nova.cloudpipe.create",
            json!({"commit_then_fail": "error", "times": 1}),
        )
        .await;
    let path = "/compute/v2.1/os-cloudpipe";
    assert_eq!(
        call(
            &emulator,
            Method::POST,
            path,
            Some(&token),
            Some(json!({"cloudpipe": {}}))
        )
        .await
        .status,
        500
    );
    let id = call(
        &emulator,
        Method::POST,
        path,
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await
    .json()["instance_id"]
        .clone();
    assert_eq!(
        emulator.state().await["servers"].as_array().unwrap().len(),
        1
    );
    assert_eq!(emulator.state().await["servers"][0]["id"], id);
}

#[tokio::test]
async fn commit_then_timeout_answers_only_after_the_client_gave_up() {
    let emulator = Emulator::start(&[]);
    let token = emulator.token(&ADMIN).await;
    emulator
        .set_fault(
            "ecl.tcr.create",
            json!({"commit_then_fail": "timeout", "hang_ms": 3000}),
        )
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = impatient
        .post(format!("{}{TCRS}", emulator.url()))
        .header("X-Auth-Token", &token)
        .json(&tcr_body("net-1"))
        .send()
        .await;
    assert!(
        outcome.is_err_and(|e| e.is_timeout()),
        "the client times out"
    );
    assert_eq!(
        emulator.state().await["tenant_connection_requests"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "but the create happened"
    );
}

#[tokio::test]
async fn latency_and_dropped_connections() {
    let emulator = Emulator::start(&[]);
    let token = emulator.token(&ADMIN).await;
    emulator
        .set_fault("ecl.tcr.list", json!({"latency_ms": 300, "times": 1}))
        .await;
    let start = Instant::now();
    assert_eq!(get(&emulator, TCRS, &token).await.status, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );

    emulator
        .set_fault("ecl.tcr.list", json!({"reset_rate": 1.0, "times": 1}))
        .await;
    let dropped = emulator
        .http()
        .get(format!("{}{TCRS}", emulator.url()))
        .header("X-Auth-Token", &token)
        .send()
        .await;
    let error = dropped.expect_err("no answer on a dropped connection");
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    assert_eq!(emulator.count("ecl.tcr.list", "reset").await, 1);
    assert_eq!(
        get(&emulator, TCRS, &token).await.status,
        200,
        "the next connection is served"
    );
}

#[tokio::test]
async fn seeded_faults_repeat_exactly() {
    let outcomes = |emulator: Emulator| async move {
        let token = emulator.token(&ADMIN).await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(get(&emulator, TCRS, &token).await.status);
        }
        statuses
    };
    let fault = r#"ecl.tcr.list={"error_status":503,"error_rate":0.5}"#;
    let first = outcomes(Emulator::start(&["--seed", "42", "--fault", fault])).await;
    let second = outcomes(Emulator::start(&["--seed", "42", "--fault", fault])).await;
    assert_eq!(first, second);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
}

// ----- admin

#[tokio::test]
async fn admin_deletes_out_of_band_and_resets() {
    let emulator = Emulator::start(FAST);
    let token = emulator.token(&ADMIN).await;
    let server = call(
        &emulator,
        Method::POST,
        "/compute/v2.1/os-cloudpipe",
        Some(&token),
        Some(json!({"cloudpipe": {}})),
    )
    .await;
    let server_id = server.json()["instance_id"].as_str().unwrap().to_owned();
    let tcr = create_tcr(&emulator, &token, "net-1").await;
    let tcr_id = tcr["id"].as_str().unwrap();

    let state = emulator.state().await;
    assert_eq!(state["servers"][0]["id"], server_id.as_str());
    assert_eq!(state["tenant_connection_requests"][0]["id"], tcr_id);
    assert_eq!(state["nova_release"], "ocata");
    assert!(
        !state.to_string().contains(ADMIN.password) && !state.to_string().contains(APPCRED_SECRET)
    );

    emulator.delete_server(&server_id).await;
    assert_eq!(
        get(
            &emulator,
            &format!("/compute/v2.1/servers/{server_id}"),
            &token
        )
        .await
        .status,
        404
    );
    emulator.delete_tcr(tcr_id).await;
    assert_eq!(
        get(&emulator, &format!("{TCRS}/{tcr_id}"), &token)
            .await
            .status,
        404
    );
    assert!(emulator.total("ecl.tcr.get").await >= 1);

    create_tcr(&emulator, &token, "net-2").await;
    emulator.reset().await;
    let state = emulator.state().await;
    assert_eq!(state["tenant_connection_requests"], json!([]));
    assert_eq!(state["counters"], json!({}));
    assert_eq!(
        get(&emulator, TCRS, &token).await.status,
        200,
        "tokens survive a reset"
    );

    emulator.revoke_tokens().await;
    assert_eq!(get(&emulator, TCRS, &token).await.status, 401);
}

// ----- --keystone-url: another emulator plays the real Keystone

#[tokio::test]
async fn keystone_url_mode_validates_every_token_with_keystone() {
    let keystone = Emulator::start(&[]);
    let service = Emulator::start(&[
        "--keystone-url",
        &keystone.auth_url(),
        "--keystone-service-user",
        "admin",
        "--keystone-service-password",
        ADMIN.password,
        "--keystone-service-project",
        "admin",
        "--keystone-cache-ttl",
        "0",
    ]);
    let admin = keystone.token(&ADMIN).await;
    let demo = keystone.token(&DEMO).await;
    assert_eq!(
        get(&service, "/compute/v2.1/os-cloudpipe", &admin)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&service, "/compute/v2.1/os-cloudpipe", &demo)
            .await
            .status,
        403,
        "roles come from Keystone"
    );
    let forged = get(&service, "/compute/v2.1/os-cloudpipe", "forged").await;
    assert_eq!((forged.status, forged.json()), (401, keystone_401()));
    assert_eq!(
        forged.header("www-authenticate"),
        format!("Keystone uri=\"{}\"", keystone.url())
    );
    assert_eq!(
        call(&service, Method::GET, "/v3", None, None).await.status,
        404,
        "no identity of its own"
    );

    let revoke = keystone
        .http()
        .delete(format!("{}/v3/auth/tokens", keystone.url()))
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &demo)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 204);
    assert_eq!(
        get(&service, TCRS, &demo).await.status,
        401,
        "a revoked token is refused"
    );
    // validation answers are counted on the Keystone side
    assert!(keystone.count("identity.token.validate", "200").await >= 2);
    assert!(keystone.count("identity.token.validate", "404").await >= 2);

    let unreachable = Emulator::start(&[
        "--keystone-url",
        "http://127.0.0.1:9/v3",
        "--keystone-service-password",
        "x",
    ]);
    let reply = get(&unreachable, TCRS, &admin).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["code"], 503);
}

#[tokio::test]
async fn servers_detail_lists_newest_first_in_pages_and_all_tenants_is_admin_only() {
    let emulator = Emulator::start(&["--nova-max-limit", "2", "--server-build-delay", "0s"]);
    let admin = emulator.token(&ADMIN).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = json!({"cloudpipe": {"project_id": format!("project-{i}")}});
        let created = call(
            &emulator,
            Method::POST,
            "/compute/v2.1/os-cloudpipe",
            Some(&admin),
            Some(body),
        )
        .await;
        ids.push(created.json()["instance_id"].as_str().unwrap().to_owned());
    }
    let listed = |reply: &Reply| -> Vec<String> {
        reply.json()["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // A full page (Nova's osapi_max_limit) carries a next link with the last id as marker.
    let first = get(
        &emulator,
        "/compute/v2.1/servers/detail?all_tenants=1",
        &admin,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        listed(&first),
        vec![ids[2].clone(), ids[1].clone()],
        "newest first"
    );
    let next = first.json()["servers_links"][0].clone();
    assert_eq!(next["rel"], "next");
    let next = url::Url::parse(next["href"].as_str().unwrap()).unwrap();
    assert!(
        next.query_pairs()
            .any(|(k, v)| k == "marker" && v == ids[1]),
        "{next}"
    );
    assert!(
        next.query_pairs()
            .any(|(k, v)| k == "all_tenants" && v == "1"),
        "{next}"
    );
    let second = get(
        &emulator,
        &format!(
            "/compute/v2.1/servers/detail?all_tenants=1&marker={}",
            ids[1]
        ),
        &admin,
    )
    .await;
    assert_eq!(listed(&second), vec![ids[0].clone()]);
    assert!(
        second.json().get("servers_links").is_none(),
        "no next link after a short page"
    );
    assert_eq!(second.json()["servers"][0]["tenant_id"], "project-0");
    assert_eq!(second.json()["servers"][0]["image"]["id"], "0");

    // Filters: the image, and without all_tenants only the caller's project.
    let by_image = get(
        &emulator,
        "/compute/v2.1/servers/detail?all_tenants=1&image=0&limit=5",
        &admin,
    )
    .await;
    assert_eq!(
        listed(&by_image).len(),
        2,
        "limit is capped at osapi_max_limit"
    );
    let other_image = get(
        &emulator,
        "/compute/v2.1/servers/detail?all_tenants=1&image=other",
        &admin,
    )
    .await;
    assert_eq!(listed(&other_image), Vec::<String>::new());
    let own = get(&emulator, "/compute/v2.1/servers/detail", &admin).await;
    assert_eq!(
        listed(&own),
        Vec::<String>::new(),
        "the admin's own project has no server"
    );

    let unknown = get(
        &emulator,
        "/compute/v2.1/servers/detail?marker=nope",
        &admin,
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json(),
        json!({"badRequest": {"code": 400, "message": "marker [nope] not found"}})
    );
    let bad_limit = get(&emulator, "/compute/v2.1/servers/detail?limit=-1", &admin).await;
    assert_eq!(bad_limit.status, 400);

    let demo = emulator.token(&DEMO).await;
    let forbidden = get(
        &emulator,
        "/compute/v2.1/servers/detail?all_tenants=1",
        &demo,
    )
    .await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.json()["forbidden"]["message"],
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed."
    );
    assert_eq!(
        listed(&get(&emulator, "/compute/v2.1/servers/detail", &demo).await),
        Vec::<String>::new()
    );
}
