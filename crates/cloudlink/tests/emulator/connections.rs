//! ECL tenant connections: the requester attaches a device to the network of an approved
//! request; creating → active, deleting → 404; validation; the 409s on a request not approved and
//! on deleting a request still used by connections.

use super::*;

const TCS: &str = "/provider-connectivity/v2.0/tenant_connections";

/// The sixteen keys of eclcloud's `TenantConnection`.
const TC_KEYS: [&str; 16] = [
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
];

/// Slow enough that `creating` and `deleting` are seen by the next call on a busy machine.
const CONNECTIONS: &[&str] = &[
    "--tcr-registering-delay",
    "50ms",
    "--tcr-registered-delay",
    "50ms",
    "--tc-active-delay",
    "1s",
    "--tc-delete-delay",
    "1s",
];

/// A request from ADMIN to OWNER, approved by OWNER through SSS; its id.
async fn approved_tcr(emulator: &Emulator, requester: &str, owner: &str, network: &str) -> String {
    let id = create_tcr(emulator, requester, network).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = tcr_reaches(emulator, requester, &id, "registered").await;
    let approval = registered["approval_request_id"].as_str().unwrap();
    let decided = call(
        emulator,
        Method::PUT,
        &format!("/sss/api/v1.0/approval-requests/{approval}"),
        Some(owner),
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(decided.status, 204, "{}", decided.text);
    tcr_reaches(emulator, requester, &id, "approved").await;
    id
}

fn compute_body(tcr_id: &str) -> Value {
    json!({"tenant_connection": {
    "tenant_connection_request_id": tcr_id,
    "device_type": "ECL::Compute::Server",
    "device_id": "8c235a3b-8dee-41a1-b81a-64e06edc0986",
    "name": "web-1", "description": "web server", "tags": {"role": "web"},
    "attachment_opts": {
        "fixed_ips": [{"ip_address": "192.168.1.1", "subnet_id": "1f424165-2202-4022-ad70-0fa6f9ec99e1"}],
        "allowed_address_pairs": [{"ip_address": "192.168.1.2", "mac_address": "11:22:33:aa:bb:cc"}],
    }}})
}

async fn create_tc(emulator: &Emulator, token: &str, body: Value) -> Value {
    let reply = call(emulator, Method::POST, TCS, Some(token), Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["tenant_connection"].clone()
}

/// Polls the connection until it has `status`, returning it.
async fn tc_reaches(emulator: &Emulator, token: &str, id: &str, status: &str) -> Value {
    eventually(DEADLINE, &format!("TC {id} becomes {status}"), || async {
        let tc =
            get(emulator, &format!("{TCS}/{id}"), token).await.json()["tenant_connection"].clone();
        (tc["status"] == status).then_some(tc)
    })
    .await
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

async fn put(emulator: &Emulator, path: &str, token: &str, body: Value) -> Reply {
    call(emulator, Method::PUT, path, Some(token), Some(body)).await
}

#[tokio::test]
async fn tc_lifecycle_from_creating_to_active_then_deleting_to_404() {
    let emulator = Emulator::start(CONNECTIONS);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let tcr_id = approved_tcr(&emulator, &requester, &owner, "net-1").await;

    let created = create_tc(&emulator, &requester, compute_body(&tcr_id)).await;
    assert_eq!(keys(&created), TC_KEYS, "exactly eclcloud's sixteen keys");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        created,
        json!({
            "id": id, "tenant_connection_request_id": tcr_id,
            "name": "web-1", "description": "web server", "tags": {"role": "web"},
            "tenant_id": ADMIN.project_id,
            "name_other": "", "description_other": "", "tags_other": {},
            "tenant_id_other": OWNER.project_id, "network_id": "net-1",
            "device_type": "ECL::Compute::Server", "device_id": "8c235a3b-8dee-41a1-b81a-64e06edc0986",
            "device_interface_id": "", "port_id": "", "status": "creating",
        })
    );
    assert_eq!(emulator.count("ecl.tc.create", "200").await, 1);

    let active = tc_reaches(&emulator, &requester, &id, "active").await;
    let port = active["port_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(port).is_ok(),
        "a port once active: {active}"
    );
    let as_owner = get(&emulator, &format!("{TCS}/{id}"), &owner).await;
    assert_eq!(
        (
            as_owner.status,
            as_owner.json()["tenant_connection"].clone()
        ),
        (200, active.clone()),
        "the network owner sees the connection too"
    );
    let state = emulator.state().await;
    assert_eq!(
        state["tenant_connections"][0]["attachment_opts"],
        compute_body(&tcr_id)["tenant_connection"]["attachment_opts"],
        "the admin dump keeps attachment_opts as sent"
    );

    // each side labels its own side only
    let path = format!("{TCS}/{id}");
    let renamed = put(
        &emulator,
        &path,
        &requester,
        json!({"tenant_connection": {"name": "web-01", "tags": {}}}),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let renamed = renamed.json()["tenant_connection"].clone();
    assert_eq!(
        (&renamed["name"], &renamed["tags"], &renamed["description"]),
        (&json!("web-01"), &json!({}), &json!("web server")),
        "only the fields sent change"
    );
    let labelled = put(
        &emulator,
        &path,
        &owner,
        json!({"tenant_connection": {"name_other": "from-team-a", "tags_other": {"cost": "a1"}}}),
    )
    .await;
    assert_eq!(labelled.status, 200, "{}", labelled.text);
    assert_eq!(
        labelled.json()["tenant_connection"]["tags_other"],
        json!({"cost": "a1"})
    );
    for (token, body, status, cause) in [
        (
            &owner,
            json!({"tenant_connection": {"name": "hijacked"}}),
            403,
            "Only the requesting tenant (tenant_id) can update name.",
        ),
        (
            &requester,
            json!({"tenant_connection": {"description_other": "x"}}),
            403,
            "Only the network owner tenant (tenant_id_other) can update description_other.",
        ),
        (
            &requester,
            json!({"tenant_connection": {"device_id": "other"}}),
            400,
            "Attribute 'device_id' cannot be updated.",
        ),
        (
            &requester,
            json!({"tenant_connection": {"colour": "red"}}),
            400,
            "Unrecognized attribute(s) 'colour'",
        ),
    ] {
        let reply = put(&emulator, &path, token, body.clone()).await;
        assert_eq!(
            (reply.status, reply.json()),
            (status, json!({"cause": cause})),
            "{body}"
        );
    }

    // the request cannot go while the connection uses it
    let tcr_path = format!("{TCRS}/{tcr_id}");
    let refused = call(&emulator, Method::DELETE, &tcr_path, Some(&requester), None).await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            409,
            json!({"cause": format!("Tenant Connection Request {tcr_id} cannot be deleted: it is used by tenant connection(s) {id}.")})
        )
    );

    let by_owner = call(&emulator, Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(by_owner.status, 403, "{}", by_owner.text);
    let deleted = call(&emulator, Method::DELETE, &path, Some(&requester), None).await;
    assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
    assert_eq!(
        get(&emulator, &path, &requester).await.json()["tenant_connection"]["status"],
        "deleting"
    );
    assert_eq!(
        call(&emulator, Method::DELETE, &tcr_path, Some(&requester), None)
            .await
            .status,
        409,
        "a connection still deleting uses the request"
    );
    let updating = put(
        &emulator,
        &path,
        &requester,
        json!({"tenant_connection": {"name": "late"}}),
    )
    .await;
    assert_eq!(updating.status, 409, "{}", updating.text);
    eventually(DEADLINE, "the connection is gone", || async {
        let reply = get(&emulator, &path, &requester).await;
        (reply.status == 404).then_some(reply.json())
    })
    .await;
    let gone = get(&emulator, &path, &requester).await;
    assert_eq!(
        gone.json(),
        json!({"cause": format!("Tenant Connection {id} not found.")})
    );
    let deleted = call(&emulator, Method::DELETE, &tcr_path, Some(&requester), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        emulator.state().await["tenant_connections"],
        json!([]),
        "nothing left"
    );
}

#[tokio::test]
async fn tc_baremetal_and_vsrx_answers_follow_the_recorded_quirks() {
    let mut args = FAST.to_vec();
    args.extend(["--tc-active-delay", "100ms"]);
    let emulator = Emulator::start(&args);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let tcr_id = approved_tcr(&emulator, &requester, &owner, "net-bm").await;

    let baremetal = create_tc(
        &emulator,
        &requester,
        json!({"tenant_connection": {
            "tenant_connection_request_id": tcr_id,
            "device_type": "ECL::Baremetal::Server",
            "device_id": "0acab22f-8993-451c-8a6b-398b0244f578",
            "device_interface_id": "46eb7624-d462-46c2-8ac7-f988a15d3280",
            // eclcli sends the segmentation id as a string
            "attachment_opts": {"segmentation_type": "flat", "segmentation_id": "10",
                                "fixed_ips": [{"ip_address": "192.168.1.1"}]}}}),
    )
    .await;
    assert_eq!(
        baremetal["tags_other"], "{}",
        "the create answer of a baremetal server carries tags_other as a string"
    );
    assert_eq!(
        (
            &baremetal["device_interface_id"],
            &baremetal["port_id"],
            &baremetal["status"]
        ),
        (
            &json!("46eb7624-d462-46c2-8ac7-f988a15d3280"),
            &json!(""),
            &json!("creating")
        )
    );
    let id = baremetal["id"].as_str().unwrap();
    let active = tc_reaches(&emulator, &requester, id, "active").await;
    assert_eq!(
        active["tags_other"],
        json!({}),
        "later reads carry an object"
    );
    assert!(uuid::Uuid::parse_str(active["port_id"].as_str().unwrap()).is_ok());

    let vsrx = create_tc(
        &emulator,
        &requester,
        json!({"tenant_connection": {
            "tenant_connection_request_id": tcr_id,
            "device_type": "ECL::VirtualNetworkAppliance::VSRX",
            "device_id": "c291f4c4-a680-4db0-8b88-7e579f0aaa37",
            "device_interface_id": "interface_2",
            "attachment_opts": {"fixed_ips": [{"ip_address": "192.168.1.3"}]}}}),
    )
    .await;
    assert_eq!(vsrx["tags_other"], "{}");
    let id = vsrx["id"].as_str().unwrap();
    let active = tc_reaches(&emulator, &requester, id, "active").await;
    assert_eq!(
        active["port_id"], "",
        "a vSRX attaches an interface, no port"
    );

    // list filters (eclcloud's ListOpts)
    let listed = |query: &'static str| {
        let emulator = &emulator;
        let token = requester.clone();
        async move {
            let reply = get(emulator, &format!("{TCS}{query}"), &token).await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.text);
            reply.json()["tenant_connections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|tc| tc["device_type"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let both = vec![
        "ECL::Baremetal::Server".to_owned(),
        "ECL::VirtualNetworkAppliance::VSRX".to_owned(),
    ];
    assert_eq!(listed("").await, both, "oldest first");
    assert_eq!(
        listed("?device_type=ECL::VirtualNetworkAppliance::VSRX").await,
        both[1..]
    );
    assert_eq!(listed("?device_interface_id=interface_2").await, both[1..]);
    assert_eq!(listed("?port_id=").await, both[1..]);
    assert_eq!(listed("?status=active&network_id=net-bm").await, both);
    assert_eq!(listed("?status=deleting").await, Vec::<String>::new());
    assert_eq!(
        listed("?tenant_connection_request_id=other").await,
        Vec::<String>::new()
    );
    let bad = get(&emulator, &format!("{TCS}?status=up"), &requester).await;
    assert_eq!(
        (bad.status, bad.json()),
        (400, json!({"cause": "Invalid value for status: 'up'"}))
    );
}

#[tokio::test]
async fn tc_create_is_refused_on_bad_bodies_and_on_requests_not_approved() {
    let emulator = Emulator::start(CONNECTIONS);
    let requester = emulator.token(&ADMIN).await;
    let owner = emulator.token(&OWNER).await;
    let approved = approved_tcr(&emulator, &requester, &owner, "net-ok").await;

    let with = |patch: Value| {
        let mut body = compute_body(&approved);
        let object = body["tenant_connection"].as_object_mut().unwrap();
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                object.remove(key);
            } else {
                object.insert(key.clone(), value.clone());
            }
        }
        body
    };
    let bm = |opts: Value| {
        with(
            json!({"device_type": "ECL::Baremetal::Server", "device_interface_id": "eth1", "attachment_opts": opts}),
        )
    };
    let cases = [
        (
            json!({"tenant_connection": "x"}),
            "Invalid request body: a 'tenant_connection' object is required.",
        ),
        (
            with(json!({"tenant_connection_request_id": null})),
            "Invalid input for tenant_connection_request_id: it is required and must not be empty.",
        ),
        (
            with(json!({"device_type": "ECL::Compute::VM"})),
            "Invalid input for device_type: 'ECL::Compute::VM' is not one of ECL::Compute::Server, ECL::Baremetal::Server, ECL::VirtualNetworkAppliance::VSRX.",
        ),
        (
            with(json!({"device_type": null})),
            "Invalid input for device_type: it is required and must be one of ECL::Compute::Server, ECL::Baremetal::Server, ECL::VirtualNetworkAppliance::VSRX.",
        ),
        (
            with(json!({"device_id": ""})),
            "Invalid input for device_id: it is required and must not be empty.",
        ),
        (
            with(json!({"device_type": "ECL::Baremetal::Server"})),
            "device_interface_id is required when device_type is ECL::Baremetal::Server.",
        ),
        (
            with(
                json!({"device_type": "ECL::VirtualNetworkAppliance::VSRX", "attachment_opts": null}),
            ),
            "device_interface_id is required when device_type is ECL::VirtualNetworkAppliance::VSRX.",
        ),
        (
            with(json!({"device_interface_id": "eth0"})),
            "device_interface_id must not be given for ECL::Compute::Server.",
        ),
        (
            with(json!({"attachment_opts": {"segmentation_type": "flat"}})),
            "Invalid input for attachment_opts: ECL::Compute::Server takes only fixed_ips, allowed_address_pairs.",
        ),
        (
            with(
                json!({"device_type": "ECL::VirtualNetworkAppliance::VSRX", "device_interface_id": "interface_2"}),
            ),
            "Invalid input for attachment_opts: ECL::VirtualNetworkAppliance::VSRX takes only fixed_ips.",
        ),
        (
            with(json!({"attachment_opts": {"fixed_ips": [{"ip_address": "192.168.1.300"}]}})),
            "Invalid input for attachment_opts.fixed_ips: '192.168.1.300' is not a valid IP address.",
        ),
        (
            with(json!({"attachment_opts": {"fixed_ips": {"ip_address": "192.168.1.3"}}})),
            "Invalid input for attachment_opts.fixed_ips: must be a list.",
        ),
        (
            with(
                json!({"attachment_opts": {"allowed_address_pairs": [{"ip_address": "10.0.0.0/8", "mac_address": "11:22"}]}}),
            ),
            "Invalid input for attachment_opts.allowed_address_pairs: '11:22' is not a valid MAC address.",
        ),
        (
            bm(json!({"segmentation_type": "vxlan"})),
            "Invalid input for attachment_opts.segmentation_type: must be flat or vlan.",
        ),
        (
            bm(json!({"segmentation_type": "vlan", "segmentation_id": 70000})),
            "Invalid input for attachment_opts.segmentation_id: must be an integer from 0 to 65535.",
        ),
        (
            with(json!({"port_id": "mine"})),
            "Unrecognized attribute(s) 'port_id'",
        ),
    ];
    for (body, cause) in cases {
        let reply = call(
            &emulator,
            Method::POST,
            TCS,
            Some(&requester),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (reply.status, reply.json()),
            (400, json!({"cause": cause})),
            "{body}"
        );
    }

    let missing = call(
        &emulator,
        Method::POST,
        TCS,
        Some(&requester),
        Some(with(
            json!({"tenant_connection_request_id": "no-such-request"}),
        )),
    )
    .await;
    assert_eq!(
        (missing.status, missing.json()),
        (
            404,
            json!({"cause": "Tenant Connection Request no-such-request not found."})
        )
    );
    let by_owner = call(
        &emulator,
        Method::POST,
        TCS,
        Some(&owner),
        Some(with(json!({}))),
    )
    .await;
    assert_eq!(
        by_owner.status, 403,
        "the owner approves, the requester attaches: {}",
        by_owner.text
    );

    // a request still awaiting approval, and one denied
    let pending = create_tcr(&emulator, &requester, "net-pending").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tcr_reaches(&emulator, &requester, &pending, "registered").await;
    let refused = call(
        &emulator,
        Method::POST,
        TCS,
        Some(&requester),
        Some(with(json!({"tenant_connection_request_id": pending}))),
    )
    .await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            409,
            json!({"cause": format!("Tenant Connection Request {pending} is registered; a tenant connection needs an approved request.")})
        )
    );
    emulator.deny(&pending).await;
    let denied = call(
        &emulator,
        Method::POST,
        TCS,
        Some(&requester),
        Some(with(json!({"tenant_connection_request_id": pending}))),
    )
    .await;
    assert_eq!(denied.status, 409, "{}", denied.text);
    assert!(
        denied.json()["cause"]
            .as_str()
            .unwrap()
            .contains("is denied;")
    );

    // not while the asynchronous create runs
    let creating = create_tc(&emulator, &requester, with(json!({}))).await;
    let path = format!("{TCS}/{}", creating["id"].as_str().unwrap());
    let early = call(&emulator, Method::DELETE, &path, Some(&requester), None).await;
    assert_eq!(early.status, 409, "{}", early.text);
    assert_eq!(emulator.count("ecl.tc.create", "400").await, 16);
    assert_eq!(emulator.count("ecl.tc.create", "409").await, 2);
    assert_eq!(emulator.count("ecl.tc.delete", "409").await, 1);

    // out of band, the request goes with its connections
    emulator.delete_tcr(&approved).await;
    assert_eq!(get(&emulator, &path, &requester).await.status, 404);
}
