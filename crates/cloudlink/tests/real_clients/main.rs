//! The REAL clients drive the emulator: python-novaclient 9.1.3 (`nova cloudpipe-*`) and
//! eclcli 4.8.0 + eclsdk 1.10.0 (`ecl icc tenant-connection-request *`, and `tenant-connection *`
//! in `real_clients/ecl_connections.rs`), from the cached venvs of
//! `hack/python-clients.sh` (through `hack/test.sh`); and the Go SDK eclcloud/v2 v2.7.0 for the
//! SSS approval requests, which neither eclcli nor eclsdk has (`hack/sss-check.sh`, in
//! `real_clients/sss_approvals.rs`). The tests assert on what a user of those clients sees: the
//! tables or JSON, the exit codes and the error lines.

use cloudlink_testkit as support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::emulator::{ADMIN, Account, DEMO, Emulator, OWNER};
use support::world::{self, CliOutput, field_values, run_cli, table_records, table_rows};

/// A real client may take a few seconds to start on a busy 2-core machine; this is its deadline.
const CLI_DEADLINE: Duration = Duration::from_secs(120);
/// How long the emulator's asynchronous steps may take to be seen through a CLI.
const SETTLE: Duration = Duration::from_secs(60);

const NOVA_DEPRECATION: &str = "The os-cloudpipe Nova API has been removed.";
const GONE_410: &str = "ERROR (ClientException): This resource is no longer available.  No forwarding address is given. (HTTP 410)";

// ------------------------------------------------------------------------------------------ nova

/// The environment a user would `source` for the emulator's built-in identity.
fn nova_env(
    auth_url: &str,
    user: &str,
    password: &str,
    project_id: &str,
    region: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("OS_AUTH_URL", auth_url.to_owned()),
        ("OS_USERNAME", user.to_owned()),
        ("OS_PASSWORD", password.to_owned()),
        ("OS_PROJECT_ID", project_id.to_owned()),
        ("OS_USER_DOMAIN_ID", "default".to_owned()),
        ("OS_PROJECT_DOMAIN_ID", "default".to_owned()),
        ("OS_REGION_NAME", region.to_owned()),
    ]
}

fn emulator_nova_env(emulator: &Emulator, account: &Account) -> Vec<(&'static str, String)> {
    nova_env(
        &emulator.auth_url(),
        account.user,
        account.password,
        account.project_id,
        "RegionOne",
    )
}

async fn nova(env: &[(&str, String)], args: &[&str]) -> CliOutput {
    run_cli(&world::nova_cli(), args, env, CLI_DEADLINE).await
}

/// The cloudpipe list table: header and rows.
fn cloudpipe_table(out: &CliOutput) -> Vec<std::collections::BTreeMap<String, String>> {
    assert!(out.success(), "nova cloudpipe-list failed:\n{out}");
    let rows = table_rows(&out.stdout);
    assert_eq!(
        rows.first().cloned().unwrap_or_default(),
        vec!["Project Id", "Public IP", "Public Port", "Internal IP"],
        "cloudpipe-list columns:\n{out}"
    );
    table_records(&out.stdout)
}

fn error_line(out: &CliOutput) -> &str {
    out.stderr
        .lines()
        .find(|l| l.starts_with("ERROR "))
        .unwrap_or_else(|| panic!("no ERROR line:\n{out}"))
}

#[tokio::test]
async fn nova_cloudpipe_create_list_configure() {
    let emulator = Emulator::start(&["--server-build-delay", "200ms"]);
    let admin = emulator_nova_env(&emulator, &ADMIN);

    let empty = nova(&admin, &["cloudpipe-list"]).await;
    assert!(
        cloudpipe_table(&empty).is_empty(),
        "no cloudpipes yet:\n{empty}"
    );

    let created = nova(&admin, &["cloudpipe-create", ADMIN.project_id]).await;
    assert!(created.success(), "{created}");
    assert_eq!(
        created.stdout.trim(),
        "",
        "cloudpipe-create prints nothing on success"
    );
    assert!(
        created.stderr.contains(NOVA_DEPRECATION),
        "novaclient 9.1.3 warns that the API is deprecated:\n{created}"
    );

    let listed = cloudpipe_table(&nova(&admin, &["cloudpipe-list"]).await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let row = &listed[0];
    assert_eq!(row["Project Id"], ADMIN.project_id);
    assert_eq!(
        (row["Public IP"].as_str(), row["Public Port"].as_str()),
        ("-", "-"),
        "not configured yet: {row:?}"
    );
    assert!(
        row["Internal IP"].parse::<std::net::Ipv4Addr>().is_ok(),
        "an internal IPv4 address: {row:?}"
    );

    // create is idempotent per project: still one cloudpipe
    assert!(
        nova(&admin, &["cloudpipe-create", ADMIN.project_id])
            .await
            .success()
    );
    assert_eq!(
        cloudpipe_table(&nova(&admin, &["cloudpipe-list"]).await).len(),
        1
    );

    let configured = nova(&admin, &["cloudpipe-configure", "192.0.2.10", "1194"]).await;
    assert!(configured.success(), "{configured}");
    assert_eq!(configured.stdout.trim(), "");
    let listed = cloudpipe_table(&nova(&admin, &["cloudpipe-list"]).await);
    assert_eq!(listed[0]["Public IP"], "192.0.2.10");
    assert_eq!(listed[0]["Public Port"], "1194");

    // an admin may create the cloudpipe of another project; the list spans projects
    assert!(
        nova(&admin, &["cloudpipe-create", OWNER.project_id])
            .await
            .success()
    );
    let listed = cloudpipe_table(&nova(&admin, &["cloudpipe-list"]).await);
    let projects: BTreeSet<&str> = listed.iter().map(|r| r["Project Id"].as_str()).collect();
    assert_eq!(
        projects,
        BTreeSet::from([ADMIN.project_id, OWNER.project_id]),
        "{listed:?}"
    );
}

#[tokio::test]
async fn nova_shows_novas_errors() {
    let emulator = Emulator::start(&[]);
    let admin = emulator_nova_env(&emulator, &ADMIN);

    let forbidden = nova(&emulator_nova_env(&emulator, &DEMO), &["cloudpipe-list"]).await;
    assert_eq!(forbidden.code, Some(1), "{forbidden}");
    assert!(
        error_line(&forbidden)
            .starts_with("ERROR (Forbidden): Policy doesn't allow os_compute_api:os-cloudpipe to be performed. (HTTP 403)"),
        "{forbidden}"
    );

    let bad_project = nova(&admin, &["cloudpipe-create", "bad.project.id"]).await;
    assert_eq!(bad_project.code, Some(1), "{bad_project}");
    assert!(
        error_line(&bad_project).starts_with(
            "ERROR (BadRequest): Invalid input for field/attribute project_id. Value: bad.project.id. \
             'bad.project.id' does not match '^[a-zA-Z0-9-]*$' (HTTP 400)"
        ),
        "{bad_project}"
    );

    let bad_ip = nova(&admin, &["cloudpipe-configure", "300.1.1.1", "1194"]).await;
    assert_eq!(bad_ip.code, Some(1), "{bad_ip}");
    assert!(
        error_line(&bad_ip).starts_with(
            "ERROR (BadRequest): Invalid input for field/attribute vpn_ip. Value: 300.1.1.1."
        ),
        "{bad_ip}"
    );

    let mut wrong_password = admin.clone();
    wrong_password.retain(|(k, _)| *k != "OS_PASSWORD");
    wrong_password.push(("OS_PASSWORD", "not-the-password".into()));
    let unauthorized = nova(&wrong_password, &["cloudpipe-list"]).await;
    assert_eq!(unauthorized.code, Some(1), "{unauthorized}");
    assert!(
        error_line(&unauthorized).starts_with(
            "ERROR (Unauthorized): The request you have made requires authentication. (HTTP 401)"
        ),
        "{unauthorized}"
    );
    assert!(!format!("{unauthorized}").contains("not-the-password"));
}

#[tokio::test]
async fn nova_against_pike_prints_novas_410() {
    let emulator = Emulator::start(&["--nova-release", "pike"]);
    let admin = emulator_nova_env(&emulator, &ADMIN);
    for args in [
        vec!["cloudpipe-list"],
        vec!["cloudpipe-create", ADMIN.project_id],
        vec!["cloudpipe-configure", "192.0.2.10", "1194"],
    ] {
        let out = nova(&admin, &args).await;
        assert_eq!(out.code, Some(1), "{out}");
        assert!(
            error_line(&out).starts_with(GONE_410),
            "nova {}:\n{out}",
            args.join(" ")
        );
        assert_eq!(out.stdout.trim(), "", "{out}");
    }
}

/// The server metadata cloudlink marks its VPN servers with, as python-novaclient sets, shows and
/// deletes it (`nova meta`, `nova show`); and Nova's 409 while the server still builds.
#[tokio::test]
async fn nova_meta_sets_shows_and_deletes_server_metadata() {
    let emulator = Emulator::start(&["--server-build-delay", "3s"]);
    let admin = emulator_nova_env(&emulator, &ADMIN);
    assert!(
        nova(&admin, &["cloudpipe-create", ADMIN.project_id])
            .await
            .success()
    );
    let server = emulator.state().await["servers"][0]["id"]
        .as_str()
        .expect("the VPN server")
        .to_owned();

    let token = emulator.token(&ADMIN).await;
    let metadata_url = format!(
        "{}/servers/{server}/metadata",
        emulator.compute_url(ADMIN.project_id)
    );
    let building = emulator
        .http()
        .post(&metadata_url)
        .header("x-auth-token", &token)
        .json(&serde_json::json!({"metadata": {"cloudlink.dev:uid": "u1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(building.status().as_u16(), 409);
    let body: serde_json::Value = building.json().await.unwrap();
    assert_eq!(
        body["conflictingRequest"]["message"],
        format!("Cannot 'update metadata' instance {server} while it is in vm_state building")
    );

    support::emulator::eventually(SETTLE, "the VPN server to become ACTIVE", || async {
        let show = nova(&admin, &["show", "--minimal", &server]).await;
        (show.success()
            && field_values(&show.stdout).get("status").map(String::as_str) == Some("ACTIVE"))
        .then_some(())
    })
    .await;

    let set = nova(
        &admin,
        &[
            "meta",
            &server,
            "set",
            "cloudlink.dev:uid=u1",
            "cloudlink.dev:object=ns/vpn",
        ],
    )
    .await;
    assert!(set.success(), "{set}");
    let shown = field_values(&nova(&admin, &["show", "--minimal", &server]).await.stdout);
    let metadata: serde_json::Value =
        serde_json::from_str(&shown["metadata"]).expect("nova show prints metadata as JSON");
    assert_eq!(
        metadata,
        serde_json::json!({"cloudlink.dev:uid": "u1", "cloudlink.dev:object": "ns/vpn"})
    );

    let deleted = nova(&admin, &["meta", &server, "delete", "cloudlink.dev:object"]).await;
    assert!(deleted.success(), "{deleted}");
    let shown = field_values(&nova(&admin, &["show", "--minimal", &server]).await.stdout);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&shown["metadata"]).unwrap(),
        serde_json::json!({"cloudlink.dev:uid": "u1"})
    );

    // Nova's key rule has no '/': a key like a Kubernetes label is refused.
    let bad_key = nova(&admin, &["meta", &server, "set", "cloudlink.dev/uid=u1"]).await;
    assert_eq!(bad_key.code, Some(1), "{bad_key}");
    assert!(
        error_line(&bad_key).starts_with(
            "ERROR (BadRequest): Invalid input for field/attribute metadata. Value: {'cloudlink.dev/uid': 'u1'}. Additional properties are not allowed ('cloudlink.dev/uid' was unexpected) (HTTP 400)"
        ),
        "{bad_key}"
    );
}

/// The whole chain with nothing emulated but Nova: novaclient authenticates against the real
/// Keystone, finds the emulator in the real catalog (this test's region), and the emulator accepts
/// the token because the real Keystone vouches for it — with the roles Keystone gives.
#[tokio::test]
async fn nova_through_the_real_keystone() {
    let keystone = world::keystone();
    let emulator = world::emulator_on(&keystone, &["--server-build-delay", "200ms"]);
    let region = keystone.register_emulator(&emulator).await;
    let env = |account: &world::Account| {
        nova_env(
            &keystone.url,
            &account.user,
            &account.password,
            &account.project_id,
            &region.region,
        )
    };

    let created = nova(
        &env(&keystone.admin),
        &["cloudpipe-create", &keystone.admin.project_id],
    )
    .await;
    assert!(created.success(), "{created}");
    let listed = cloudpipe_table(&nova(&env(&keystone.admin), &["cloudpipe-list"]).await);
    assert_eq!(
        listed
            .iter()
            .map(|r| r["Project Id"].as_str())
            .collect::<Vec<_>>(),
        vec![keystone.admin.project_id.as_str()]
    );
    assert!(
        nova(
            &env(&keystone.admin),
            &["cloudpipe-configure", "198.51.100.7", "443"]
        )
        .await
        .success()
    );
    let listed = cloudpipe_table(&nova(&env(&keystone.admin), &["cloudpipe-list"]).await);
    assert_eq!(
        (
            listed[0]["Public IP"].as_str(),
            listed[0]["Public Port"].as_str()
        ),
        ("198.51.100.7", "443")
    );

    // demo is only a member in the real Keystone
    let forbidden = nova(&env(&keystone.demo), &["cloudpipe-list"]).await;
    assert_eq!(forbidden.code, Some(1), "{forbidden}");
    assert!(
        error_line(&forbidden)
            .starts_with("ERROR (Forbidden): Policy doesn't allow os_compute_api:os-cloudpipe"),
        "{forbidden}"
    );
}

// ------------------------------------------------------------------------------------------- ecl

mod ecl_connections;
mod sss_approvals;

/// eclcli's environment: it wants OS_TENANT_ID (OS_PROJECT_ID is not recognised) and the domains.
fn ecl_env(emulator: &Emulator, account: &Account) -> Vec<(&'static str, String)> {
    vec![
        ("OS_AUTH_URL", emulator.auth_url()),
        ("OS_USERNAME", account.user.to_owned()),
        ("OS_PASSWORD", account.password.to_owned()),
        ("OS_TENANT_ID", account.project_id.to_owned()),
        ("OS_USER_DOMAIN_ID", "default".to_owned()),
        ("OS_PROJECT_DOMAIN_ID", "default".to_owned()),
    ]
}

async fn ecl(env: &[(&str, String)], args: &[&str]) -> CliOutput {
    let mut full = vec!["icc", "tenant-connection-request"];
    full.extend_from_slice(args);
    run_cli(&world::ecl_cli(), &full, env, CLI_DEADLINE).await
}

/// `ecl … show|create|update`: the Field/Value table.
fn ecl_fields(out: &CliOutput) -> std::collections::BTreeMap<String, String> {
    assert!(out.success(), "ecl failed:\n{out}");
    let rows = table_rows(&out.stdout);
    assert_eq!(
        rows.first().cloned().unwrap_or_default(),
        vec!["Field", "Value"],
        "{out}"
    );
    let fields = field_values(&out.stdout);
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "approval_request_id",
            "description",
            "description_other",
            "id",
            "name",
            "name_other",
            "network_id",
            "status",
            "tags",
            "tags_other",
            "tenant_id",
            "tenant_id_other",
        ],
        "the twelve fields of a tenant connection request:\n{out}"
    );
    fields
}

/// `ecl … list`: nothing at all when empty, else the six-column table.
fn ecl_list(out: &CliOutput) -> Vec<std::collections::BTreeMap<String, String>> {
    assert!(out.success(), "ecl list failed:\n{out}");
    if out.stdout.trim().is_empty() {
        return Vec::new();
    }
    assert_eq!(
        table_rows(&out.stdout).first().cloned().unwrap_or_default(),
        vec![
            "ID",
            "Name",
            "Name Other",
            "Tenant ID",
            "Network ID",
            "Status"
        ],
        "{out}"
    );
    table_records(&out.stdout)
}

/// Polls `ecl … show` until the request has `status`; its fields.
async fn tcr_shows(
    env: &[(&str, String)],
    id: &str,
    status: &str,
) -> std::collections::BTreeMap<String, String> {
    shows(status, || async {
        ecl_fields(&ecl(env, &["show", id]).await)
    })
    .await
}

/// Polls `show` (a CLI's fields) until they have `status`, within [`SETTLE`]; the fields.
async fn shows<F, Fut>(status: &str, show: F) -> std::collections::BTreeMap<String, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::collections::BTreeMap<String, String>>,
{
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let shown = show().await;
        if shown.get("status").map(String::as_str) == Some(status) {
            return shown;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not {status} within {SETTLE:?}: {shown:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ecl_error(out: &CliOutput) -> String {
    assert_eq!(out.code, Some(1), "ecl should have failed:\n{out}");
    out.stderr
        .lines()
        .chain(out.stdout.lines())
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn ecl_tenant_connection_request_lifecycle() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "100ms",
        "--tcr-registered-delay",
        "100ms",
    ]);
    let requester = ecl_env(&emulator, &ADMIN);
    let owner = ecl_env(&emulator, &OWNER);
    let network_id = "5d2c0e7a-3b41-4f6e-8c9d-0a1b2c3d4e5f";

    assert!(
        ecl_list(&ecl(&requester, &["list"]).await).is_empty(),
        "eclcli prints nothing for an empty list"
    );

    let created = ecl_fields(
        &ecl(
            &requester,
            &[
                "create",
                "--network-id",
                network_id,
                "--tenant-id-other",
                OWNER.project_id,
                "--name",
                "to-shared-net",
                "--description",
                "connect our servers",
                "--tags",
                "env=test",
                "--tags",
                "team=a",
            ],
        )
        .await,
    );
    assert_eq!(
        created["status"], "creating",
        "the create answer is the request before registration: {created:?}"
    );
    assert_eq!(created["approval_request_id"], "");
    assert_eq!(created["name"], "to-shared-net");
    assert_eq!(created["description"], "connect our servers");
    assert_eq!(created["tags"], "env='test', team='a'");
    assert_eq!(created["tenant_id"], ADMIN.project_id);
    assert_eq!(created["tenant_id_other"], OWNER.project_id);
    assert_eq!(created["network_id"], network_id);
    let id = created["id"].clone();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    // registered with an approval request, as `show` tells
    let shown = tcr_shows(&requester, &id, "registered").await;
    assert!(!shown["approval_request_id"].is_empty(), "{shown:?}");

    // both tenants list it
    for (who, env) in [("requester", &requester), ("owner", &owner)] {
        let listed = ecl_list(&ecl(env, &["list"]).await);
        assert_eq!(listed.len(), 1, "{who}: {listed:?}");
        let row = &listed[0];
        assert_eq!(
            (
                row["ID"].as_str(),
                row["Name"].as_str(),
                row["Tenant ID"].as_str(),
                row["Network ID"].as_str(),
                row["Status"].as_str()
            ),
            (
                id.as_str(),
                "to-shared-net",
                ADMIN.project_id,
                network_id,
                "registered"
            ),
            "{who}: {row:?}"
        );
    }

    // each side updates its own fields
    let renamed = ecl_fields(
        &ecl(
            &requester,
            &["update", &id, "--name", "renamed", "--tags", "env=prod"],
        )
        .await,
    );
    assert_eq!(
        (renamed["name"].as_str(), renamed["tags"].as_str()),
        ("renamed", "env='prod'")
    );
    assert_eq!(
        renamed["description"], "connect our servers",
        "fields not sent are kept"
    );
    let answered = ecl_fields(
        &ecl(
            &owner,
            &[
                "update",
                &id,
                "--name-other",
                "from-owner",
                "--description-other",
                "ok",
                "--tags-other",
                "cost=a1",
            ],
        )
        .await,
    );
    assert_eq!(
        (
            answered["name_other"].as_str(),
            answered["description_other"].as_str(),
            answered["tags_other"].as_str()
        ),
        ("from-owner", "ok", "cost='a1'")
    );
    assert_eq!(answered["name"], "renamed");

    // ... and not the other side's
    let refused = ecl(&owner, &["update", &id, "--name", "hijacked"]).await;
    let message = ecl_error(&refused);
    assert!(message.contains("name"), "{refused}");
    assert_eq!(
        ecl_fields(&ecl(&requester, &["show", &id]).await)["name"],
        "renamed"
    );

    // delete prints nothing; afterwards show and delete report eclsdk's NotFoundException
    let deleted = ecl(&requester, &["delete", &id]).await;
    assert!(deleted.success(), "{deleted}");
    assert_eq!(deleted.stdout.trim(), "");
    let not_found = format!("NotFoundException: Tenant Connection Request {id} not found.");
    assert_eq!(ecl_error(&ecl(&requester, &["show", &id]).await), not_found);
    assert_eq!(
        ecl_error(&ecl(&requester, &["delete", &id]).await),
        not_found
    );
}

#[tokio::test]
async fn ecl_reports_a_wrong_password() {
    let emulator = Emulator::start(&[]);
    let mut env = ecl_env(&emulator, &ADMIN);
    env.retain(|(k, _)| *k != "OS_PASSWORD");
    env.push(("OS_PASSWORD", "not-the-password".into()));
    let out = ecl(&env, &["list"]).await;
    assert_eq!(
        ecl_error(&out),
        "The request you have made requires authentication. (HTTP 401)"
    );
    assert!(!format!("{out}").contains("not-the-password"));
}

/// eclcli against the real Keystone: it authenticates twice per command (eclcli, then eclsdk,
/// keystoneauth1 3.4.0 against Keystone 30), finds the emulator through the real catalog and gets
/// its tenant from the real token. eclsdk cannot choose a region, so the two tenants are projects
/// of this test's own whose catalogs hold only this test's endpoints.
#[tokio::test]
async fn ecl_through_the_real_keystone() {
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
    let requester_project = keystone.isolated_project(&region, &keystone.demo).await;
    let owner_project = keystone.isolated_project(&region, &keystone.demo).await;
    let env = |project_id: &str| {
        vec![
            ("OS_AUTH_URL", keystone.url.clone()),
            ("OS_USERNAME", keystone.demo.user.clone()),
            ("OS_PASSWORD", keystone.demo.password.clone()),
            ("OS_TENANT_ID", project_id.to_owned()),
            ("OS_USER_DOMAIN_ID", keystone.domain.clone()),
            ("OS_PROJECT_DOMAIN_ID", keystone.domain.clone()),
        ]
    };
    let (requester, owner) = (env(&requester_project.id), env(&owner_project.id));
    let network_id = uuid::Uuid::new_v4().to_string();

    let created = ecl_fields(
        &ecl(
            &requester,
            &[
                "create",
                "--network-id",
                &network_id,
                "--tenant-id-other",
                &owner_project.id,
                "--name",
                "via-keystone",
            ],
        )
        .await,
    );
    assert_eq!(
        created["tenant_id"], requester_project.id,
        "the tenant comes from the real token: {created:?}"
    );
    assert_eq!(created["tenant_id_other"], owner_project.id);
    let id = created["id"].clone();

    let listed = ecl_list(&ecl(&owner, &["list"]).await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0]["ID"].as_str(), listed[0]["Name"].as_str()),
        (id.as_str(), "via-keystone")
    );

    let deleted = ecl(&requester, &["delete", &id]).await;
    assert!(deleted.success(), "{deleted}");
    assert_eq!(
        ecl_error(&ecl(&requester, &["show", &id]).await),
        format!("NotFoundException: Tenant Connection Request {id} not found.")
    );
}
