//! The SSS approval-request API through the real Go SDK, eclcloud/v2 v2.7.0 (`hack/sss-check`, its
//! `approval_requests` List / Get / Update), which neither eclcli nor eclsdk has: the requester makes
//! a tenant connection request with eclcli, the network owner finds, reads and decides its approval
//! request with eclcloud, and the requester sees the decision with eclcli. Both clients log in
//! with the same `OS_*` environment.

use super::*;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// The emulator names this region in its catalog and in the approval requests' actions.
const REGION: &str = "jp1";

/// The checker, built (once per test binary, cached across runs) by its script.
fn sss_check_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let out = Command::new(format!("{}/hack/sss-check.sh", support::REPO))
            .stderr(Stdio::inherit())
            .output()
            .expect("hack/sss-check.sh runs");
        assert!(
            out.status.success(),
            "hack/sss-check.sh failed (it needs Go and the Go module proxy on first use)"
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// eclcli's environment plus the region, which eclcloud uses to pick the catalog endpoint.
fn sss_env(emulator: &Emulator, account: &Account) -> Vec<(&'static str, String)> {
    let mut env = ecl_env(emulator, account);
    env.push(("OS_REGION_NAME", REGION.to_owned()));
    env
}

async fn sss(env: &[(&str, String)], args: &[&str]) -> CliOutput {
    run_cli(sss_check_binary(), args, env, CLI_DEADLINE).await
}

/// What eclcloud extracted, printed as JSON.
fn sss_json(out: &CliOutput) -> Value {
    assert!(out.success(), "sss-check failed:\n{out}");
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("sss-check prints JSON ({e}):\n{out}"))
}

/// The one error line of a failed command (exit 1, nothing on stdout).
fn sss_error(out: &CliOutput) -> String {
    assert_eq!(out.code, Some(1), "sss-check should have failed:\n{out}");
    assert_eq!(out.stdout, "", "{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line:\n{out}");
    lines[0].to_owned()
}

/// A decision the service accepted: 204, which sss-check acknowledges with nothing at all.
fn assert_decided(out: &CliOutput) {
    assert!(out.success(), "{out}");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("", ""),
        "{out}"
    );
}

async fn listed_ids(env: &[(&str, String)], filters: &[&str]) -> Vec<String> {
    let mut args = vec!["list"];
    args.extend_from_slice(filters);
    let listed = sss_json(&sss(env, &args).await);
    listed
        .as_array()
        .unwrap_or_else(|| panic!("a JSON array: {listed}"))
        .iter()
        .map(|a| a["request_id"].as_str().expect("request_id").to_owned())
        .collect()
}

/// The requester's tenant connection request, once registered: (its id, its approval request id).
async fn registered_request(requester: &[(&str, String)], network_id: &str) -> (String, String) {
    let created = ecl(
        requester,
        &[
            "create",
            "--network-id",
            network_id,
            "--tenant-id-other",
            OWNER.project_id,
        ],
    )
    .await;
    let id = ecl_fields(&created)["id"].clone();
    let registered = tcr_shows(requester, &id, "registered").await;
    (id, registered["approval_request_id"].clone())
}

fn start_emulator() -> Emulator {
    Emulator::start(&[
        "--region",
        REGION,
        "--tcr-registering-delay",
        "100ms",
        "--tcr-registered-delay",
        "100ms",
    ])
}

#[tokio::test]
async fn eclcloud_finds_reads_and_approves_an_approval_request_as_the_owner() {
    let emulator = start_emulator();
    let requester_ecl = ecl_env(&emulator, &ADMIN);
    let (owner, requester) = (sss_env(&emulator, &OWNER), sss_env(&emulator, &ADMIN));
    let network_id = "5d2c0e7a-3b41-4f6e-8c9d-0a1b2c3d4e5f";
    let (tcr, approval) = registered_request(&requester_ecl, network_id).await;

    // the owner finds it among the pending provider-connectivity requests, and only there
    assert_eq!(
        listed_ids(
            &owner,
            &[
                "--status",
                "registered",
                "--service",
                "provider-connectivity"
            ]
        )
        .await,
        [approval.as_str()]
    );
    assert_eq!(
        listed_ids(&owner, &["--status", "approved"]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed_ids(&owner, &["--service", "network"]).await,
        Vec::<String>::new()
    );

    let got = sss(&owner, &["get", &approval]).await;
    assert!(
        !format!("{got}").contains(OWNER.password),
        "eclcloud logs its requests, the password among them: none of it is printed\n{got}"
    );
    let shown = sss_json(&got);
    assert_eq!(
        (
            &shown["request_id"],
            &shown["status"],
            &shown["approver"],
            &shown["request_user"],
            &shown["approver_type"],
            &shown["approver_id"],
            &shown["service"],
            &shown["updated_time"]
        ),
        (
            &json!(approval),
            &json!("registered"),
            &json!(true),
            &json!(false),
            &json!("tenant_owner"),
            &json!(OWNER.project_id),
            &json!("provider-connectivity"),
            &Value::Null
        ),
        "{shown:#}"
    );
    // what approving does: the requester's create of a request for the owner's network
    assert_eq!(
        shown["actions"],
        json!([{
            "service": "provider-connectivity", "region": REGION,
            "api_path": "/v2.0/tenant_connection_requests", "method": "POST",
            "body": {"tenant_connection_request": {
                "tenant_id_other": OWNER.project_id, "network_id": network_id,
            }},
        }]),
        "{shown:#}"
    );
    assert_eq!(shown["external_request_id"], json!(tcr), "{shown:#}");

    // the requester lists it too, as the sender, and may not approve it
    let as_requester = sss_json(&sss(&requester, &["list"]).await);
    assert_eq!(
        as_requester,
        json!([shown_as_requester(&shown)]),
        "the requester sees the same approval request, from its side"
    );
    assert_eq!(
        sss_error(&sss(&requester, &["update", &approval, "approved"]).await),
        format!(
            "sss-check: update {approval}: Request forbidden: [PUT {}/approval-requests/{approval}], \
             error message: {{\"cause\":\"Only the approver (the network owner tenant) can set status approved.\"}} \
             (HTTP 403)",
            emulator.sss_url()
        )
    );

    assert_decided(&sss(&owner, &["update", &approval, "approved"]).await);
    let approved = sss_json(&sss(&owner, &["get", &approval]).await);
    assert_eq!(approved["status"], "approved", "{approved:#}");
    assert!(approved["updated_time"].is_string(), "{approved:#}");
    assert_eq!(
        listed_ids(&owner, &["--status", "approved"]).await,
        [approval.as_str()]
    );
    assert_eq!(
        listed_ids(&owner, &["--status", "registered"]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ecl_fields(&ecl(&requester_ecl, &["show", &tcr]).await)["status"],
        "approved",
        "the requester's tenant connection request follows at once"
    );

    // a decision is final: neither the same one again nor another
    for status in ["approved", "denied"] {
        assert_eq!(
            sss_error(&sss(&owner, &["update", &approval, status]).await),
            format!(
                "sss-check: update {approval}: Request conflicted (HTTP 409): Approval request \
                 {approval} is approved; only a registered request can be changed."
            )
        );
    }
    assert_eq!(
        sss_json(&sss(&owner, &["get", &approval]).await)["status"],
        "approved"
    );
}

/// `shown` as the requester's tenant sees it: the sender, not the approver.
fn shown_as_requester(shown: &Value) -> Value {
    let mut seen = shown.clone();
    seen["approver"] = json!(false);
    seen["request_user"] = json!(true);
    seen
}

#[tokio::test]
async fn eclcloud_denies_an_approval_request_and_reports_the_services_errors() {
    let emulator = start_emulator();
    let requester_ecl = ecl_env(&emulator, &ADMIN);
    let owner = sss_env(&emulator, &OWNER);
    let (tcr, approval) = registered_request(&requester_ecl, "net-denied").await;

    let invalid = sss_error(&sss(&owner, &["update", &approval, "maybe"]).await);
    assert!(
        invalid.ends_with("'status' must be one of approved, denied, cancelled.\"} (HTTP 400)"),
        "{invalid}"
    );

    assert_decided(&sss(&owner, &["update", &approval, "denied"]).await);
    assert_eq!(
        sss_json(&sss(&owner, &["get", &approval]).await)["status"],
        "denied"
    );
    assert_eq!(
        ecl_fields(&ecl(&requester_ecl, &["show", &tcr]).await)["status"],
        "denied"
    );

    let unknown = "no-such-request";
    for args in [vec!["get", unknown], vec!["update", unknown, "approved"]] {
        assert_eq!(
            sss_error(&sss(&owner, &args).await),
            format!(
                "sss-check: {} {unknown}: Resource not found (HTTP 404): Approval request {unknown} not found.",
                args[0]
            )
        );
    }

    // SSS is looked up in the catalog by type `sss` and the region
    let mut elsewhere = owner.clone();
    elsewhere.retain(|(k, _)| *k != "OS_REGION_NAME");
    elsewhere.push(("OS_REGION_NAME", "jp9".into()));
    assert_eq!(
        sss_error(&sss(&elsewhere, &["list"]).await),
        "sss-check: service catalog (type sss): No suitable endpoint could be found in the service catalog."
    );

    let mut wrong_password = owner.clone();
    wrong_password.retain(|(k, _)| *k != "OS_PASSWORD");
    wrong_password.push(("OS_PASSWORD", "not-the-password".into()));
    let refused = sss(&wrong_password, &["list"]).await;
    assert_eq!(
        sss_error(&refused),
        "sss-check: authentication: Authentication failed (HTTP 401): The request you have made \
         requires authentication."
    );
    assert!(!format!("{refused}").contains("not-the-password"));
}
