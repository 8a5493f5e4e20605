//! SSS approval requests as each side sees them: `approver` / `request_user`, the `status` and
//! `service` filters, and expiry (`--approval-deadline`): `expired`, refused decisions, the
//! request `unavailable` and no connection on it.

use super::*;

const APPROVALS: &str = "/sss/api/v1.0/approval-requests";

async fn approvals(emulator: &Emulator, token: &str, query: &str) -> Vec<Value> {
    let reply = get(emulator, &format!("{APPROVALS}{query}"), token).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    reply.json()["approval_requests"]
        .as_array()
        .unwrap()
        .clone()
}

fn ids(listed: &[Value]) -> Vec<&str> {
    listed
        .iter()
        .map(|a| a["request_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_owner_sees_approver_true_and_filters_by_status_and_service() {
    let emulator = Emulator::start(FAST);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let mut requests = Vec::new();
    for network in ["net-1", "net-2"] {
        let id = create_tcr(&emulator, &requester, network).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let registered = tcr_reaches(&emulator, &requester, &id, "registered").await;
        requests.push(
            registered["approval_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    let as_owner = approvals(&emulator, &owner, "").await;
    assert_eq!(ids(&as_owner), requests, "oldest first");
    for approval in &as_owner {
        assert_eq!(
            (
                &approval["approver"],
                &approval["request_user"],
                &approval["approver_id"],
                &approval["status"]
            ),
            (
                &json!(true),
                &json!(false),
                &json!(OWNER.project_id),
                &json!("registered")
            ),
            "{approval}"
        );
    }
    for approval in approvals(&emulator, &requester, "").await {
        assert_eq!(
            (&approval["approver"], &approval["request_user"]),
            (&json!(false), &json!(true)),
            "{approval}"
        );
    }

    let first = format!("{APPROVALS}/{}", requests[0]);
    let approve = call(
        &emulator,
        Method::PUT,
        &first,
        Some(&owner),
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!((approve.status, approve.text.as_str()), (204, ""));
    let cancel = call(
        &emulator,
        Method::PUT,
        &format!("{APPROVALS}/{}", requests[1]),
        Some(&requester),
        Some(json!({"status": "cancelled"})),
    )
    .await;
    assert_eq!(cancel.status, 204, "{}", cancel.text);

    assert_eq!(
        ids(&approvals(
            &emulator,
            &owner,
            "?status=approved&service=provider-connectivity"
        )
        .await),
        [requests[0].as_str()]
    );
    assert_eq!(
        ids(&approvals(&emulator, &owner, "?status=cancelled").await),
        [requests[1].as_str()]
    );
    assert_eq!(
        ids(&approvals(&emulator, &owner, "?status=registered").await),
        Vec::<&str>::new()
    );
    assert_eq!(
        ids(&approvals(&emulator, &owner, "?service=network").await),
        Vec::<&str>::new(),
        "every approval request here is provider-connectivity's"
    );
    let shown = get(&emulator, &first, &owner).await.json();
    assert_eq!(
        (&shown["status"], &shown["approver"]),
        (&json!("approved"), &json!(true))
    );
    assert!(shown["updated_time"].is_string(), "{shown}");
}

#[tokio::test]
async fn an_expired_approval_request_refuses_decisions_and_connections() {
    let mut args = FAST.to_vec();
    args.extend(["--approval-deadline", "300ms"]);
    let emulator = Emulator::start(&args);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let id = create_tcr(&emulator, &requester, "net-late").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unavailable = tcr_reaches(&emulator, &requester, &id, "unavailable").await;
    let request_id = unavailable["approval_request_id"].as_str().unwrap();
    let path = format!("{APPROVALS}/{request_id}");

    let shown = get(&emulator, &path, &owner).await.json();
    assert_eq!(shown["status"], "expired", "{shown}");
    assert_eq!(
        ids(&approvals(&emulator, &owner, "?status=expired").await),
        [request_id]
    );
    let late = call(
        &emulator,
        Method::PUT,
        &path,
        Some(&owner),
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(
        (late.status, late.json()),
        (
            409,
            json!({"cause": format!("Approval request {request_id} is expired; only a registered request can be changed.")})
        )
    );
    assert_eq!(
        get(&emulator, &path, &owner).await.json()["status"],
        "expired",
        "unchanged"
    );

    let connection = call(
        &emulator,
        Method::POST,
        "/provider-connectivity/v2.0/tenant_connections",
        Some(&requester),
        Some(json!({"tenant_connection": {
            "tenant_connection_request_id": id,
            "device_type": "ECL::Compute::Server", "device_id": "server-1"}})),
    )
    .await;
    assert_eq!(
        (connection.status, connection.json()),
        (
            409,
            json!({"cause": format!("Tenant Connection Request {id} is unavailable; a tenant connection needs an approved request.")})
        )
    );
}
