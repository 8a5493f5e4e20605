//! eclcli 4.8.0's `ecl icc tenant-connection *` against the emulator: the requester attaches a
//! server to the network of a request the owner approved, labels it, sees it listed by both
//! tenants, and deletes it (`deleting`, then eclsdk's NotFoundException).

use super::*;

async fn ecl_tc(env: &[(&str, String)], args: &[&str]) -> CliOutput {
    let mut full = vec!["icc", "tenant-connection"];
    full.extend_from_slice(args);
    run_cli(&world::ecl_cli(), &full, env, CLI_DEADLINE).await
}

/// `ecl icc tenant-connection show|update`: the sixteen fields of the API object.
fn tc_fields(out: &CliOutput) -> std::collections::BTreeMap<String, String> {
    assert!(out.success(), "ecl failed:\n{out}");
    let fields = field_values(&out.stdout);
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "description",
            "description_other",
            "device_id",
            "device_interface_id",
            "device_type",
            "id",
            "name",
            "name_other",
            "network_id",
            "port_id",
            "status",
            "tags",
            "tags_other",
            "tenant_connection_request_id",
            "tenant_id",
            "tenant_id_other",
        ],
        "{out}"
    );
    fields
}

/// Polls `show` until the connection has `status`.
async fn tc_shows(
    env: &[(&str, String)],
    id: &str,
    status: &str,
) -> std::collections::BTreeMap<String, String> {
    shows(status, || async {
        tc_fields(&ecl_tc(env, &["show", id]).await)
    })
    .await
}

#[tokio::test]
async fn ecl_tenant_connection_lifecycle() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "100ms",
        "--tcr-registered-delay",
        "100ms",
        "--tc-active-delay",
        "200ms",
        // long enough for `show` to see `deleting` after eclcli's delete returned
        "--tc-delete-delay",
        "10s",
    ]);
    let requester = ecl_env(&emulator, &ADMIN);
    let owner = ecl_env(&emulator, &OWNER);
    let network_id = "5d2c0e7a-3b41-4f6e-8c9d-0a1b2c3d4e5f";
    let request = ecl_fields(
        &ecl(
            &requester,
            &[
                "create",
                "--network-id",
                network_id,
                "--tenant-id-other",
                OWNER.project_id,
            ],
        )
        .await,
    )["id"]
        .clone();
    let attach = [
        "create",
        "--tenant-connection-request-id",
        &request,
        "--device-type",
        "ECL::Compute::Server",
        "--device-id",
        "8c235a3b-8dee-41a1-b81a-64e06edc0986",
        "--name",
        "web-1",
        "--tags",
        "role=web",
        "--fixed-ip",
        "1f424165-2202-4022-ad70-0fa6f9ec99e1,192.168.1.5",
    ];

    // not before the owner approved (eclsdk has no class of its own for a 409)
    tcr_shows(&requester, &request, "registered").await;
    let early = ecl_tc(&requester, &attach).await;
    assert_eq!(
        ecl_error(&early),
        format!(
            "HttpException: Tenant Connection Request {request} is registered; a tenant connection needs an approved request."
        ),
        "{early}"
    );
    emulator.approve(&request).await;

    let created = ecl_tc(&requester, &attach).await;
    assert!(created.success(), "{created}");
    let created = field_values(&created.stdout);
    assert_eq!(
        (
            created["status"].as_str(),
            created["port_id"].as_str(),
            created["name"].as_str(),
            created["tags"].as_str(),
            created["network_id"].as_str(),
            created["tenant_id_other"].as_str()
        ),
        (
            "creating",
            "",
            "web-1",
            "role='web'",
            network_id,
            OWNER.project_id
        ),
        "{created:?}"
    );
    let id = created["id"].clone();

    let active = tc_shows(&requester, &id, "active").await;
    assert!(
        uuid::Uuid::parse_str(&active["port_id"]).is_ok(),
        "{active:?}"
    );
    for (who, env) in [("requester", &requester), ("owner", &owner)] {
        let out = ecl_tc(env, &["list"]).await;
        assert!(out.success(), "{who}: {out}");
        let rows = table_records(&out.stdout);
        assert_eq!(rows.len(), 1, "{who}: {out}");
        assert_eq!(
            (
                rows[0]["ID"].as_str(),
                rows[0]["Tenant Connection Request ID"].as_str(),
                rows[0]["Status"].as_str()
            ),
            (id.as_str(), request.as_str(), "active"),
            "{who}: {out}"
        );
    }

    let renamed = tc_fields(&ecl_tc(&requester, &["update", &id, "--name", "web-01"]).await);
    assert_eq!(
        (renamed["name"].as_str(), renamed["tags"].as_str()),
        ("web-01", "role='web'")
    );
    let labelled = tc_fields(
        &ecl_tc(
            &owner,
            &[
                "update",
                &id,
                "--name-other",
                "team-a",
                "--tags-other",
                "cost=a1",
            ],
        )
        .await,
    );
    assert_eq!(
        (
            labelled["name_other"].as_str(),
            labelled["tags_other"].as_str()
        ),
        ("team-a", "cost='a1'")
    );
    let refused = ecl_tc(&owner, &["update", &id, "--name", "hijacked"]).await;
    assert!(
        ecl_error(&refused).contains("Only the requesting tenant (tenant_id) can update name."),
        "{refused}"
    );

    // the request cannot go while the connection is attached
    let blocked = ecl(&requester, &["delete", &request]).await;
    assert!(
        ecl_error(&blocked).contains("it is used by tenant connection(s)"),
        "{blocked}"
    );

    let deleted = ecl_tc(&requester, &["delete", &id]).await;
    assert!(deleted.success(), "{deleted}");
    assert_eq!(deleted.stdout.trim(), "");
    assert_eq!(
        tc_fields(&ecl_tc(&requester, &["show", &id]).await)["status"],
        "deleting"
    );
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let out = ecl_tc(&requester, &["show", &id]).await;
        if !out.success() {
            assert_eq!(
                ecl_error(&out),
                format!("NotFoundException: Tenant Connection {id} not found.")
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not gone: {out}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let released = ecl(&requester, &["delete", &request]).await;
    assert!(released.success(), "{released}");
}

/// The real service answers a baremetal (or vSRX) create with `tags_other` as the string `"{}"`
/// (eclcloud's and terraform-provider-ecl's recorded answers); eclcli 4.8.0 cannot print that
/// answer and exits 1, although the connection was made. The emulator reproduces both halves.
#[tokio::test]
async fn ecl_cannot_print_a_baremetal_create_answer() {
    let emulator = Emulator::start(&[
        "--tcr-registering-delay",
        "0s",
        "--tcr-registered-delay",
        "0s",
        "--auto-approve-after",
        "0s",
    ]);
    let requester = ecl_env(&emulator, &ADMIN);
    let request = ecl_fields(
        &ecl(
            &requester,
            &[
                "create",
                "--network-id",
                "net-bm",
                "--tenant-id-other",
                OWNER.project_id,
            ],
        )
        .await,
    )["id"]
        .clone();
    tcr_shows(&requester, &request, "approved").await;
    let out = ecl_tc(
        &requester,
        &[
            "create",
            "--tenant-connection-request-id",
            &request,
            "--device-type",
            "ECL::Baremetal::Server",
            "--device-id",
            "0acab22f-8993-451c-8a6b-398b0244f578",
            "--device-interface-id",
            "46eb7624-d462-46c2-8ac7-f988a15d3280",
            "--segmentation-type",
            "vlan",
            "--segmentation-id",
            "100",
        ],
    )
    .await;
    assert_eq!(
        ecl_error(&out),
        "string indices must be integers, not 'str'",
        "{out}"
    );
    let listed = ecl_tc(&requester, &["list"]).await;
    assert!(listed.success(), "{listed}");
    assert_eq!(
        table_records(&listed.stdout).len(),
        1,
        "made all the same: {listed}"
    );
    let state = emulator.state().await;
    assert_eq!(
        state["tenant_connections"][0]["attachment_opts"],
        serde_json::json!({"segmentation_type": "vlan", "segmentation_id": "100"}),
        "eclcli sends the segmentation id as a string"
    );
}
