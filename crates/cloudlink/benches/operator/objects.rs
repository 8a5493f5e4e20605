//! The objects a run creates.

use super::*;

/// A project per cloudpipe (Nova makes one cloudpipe per project), stable for a name.
pub(crate) fn project_of(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}{:016x}", hash.rotate_left(17))
}

pub(crate) fn request_object(name: &str) -> TenantConnectionRequest {
    serde_json::from_value(request(name, json!({}))).expect("request")
}

pub(crate) fn cloudpipe_object(name: &str) -> Cloudpipe {
    serde_json::from_value(cloudpipe(name, json!({"projectId": project_of(name)})))
        .expect("cloudpipe")
}

/// Creates `n` requests and `n` cloudpipes, `concurrency` at a time; returns (kind, name) pairs.
pub(crate) async fn create_objects(
    client: &Client,
    namespace: &str,
    n: usize,
    concurrency: usize,
) -> Vec<(&'static str, String)> {
    let requests: Api<TenantConnectionRequest> = Api::namespaced(client.clone(), namespace);
    let pipes: Api<Cloudpipe> = Api::namespaced(client.clone(), namespace);
    let names: Vec<(&'static str, String)> = (0..n)
        .flat_map(|i| [("tcr", format!("r{i}")), ("cpipe", format!("p{i}"))])
        .collect();
    futures::stream::iter(names.clone())
        .map(|(kind, name)| {
            let (requests, pipes) = (requests.clone(), pipes.clone());
            async move {
                if kind == "tcr" {
                    requests
                        .create(&PostParams::default(), &request_object(&name))
                        .await
                        .map(|_| ())
                } else {
                    pipes
                        .create(&PostParams::default(), &cloudpipe_object(&name))
                        .await
                        .map(|_| ())
                }
                .expect("create")
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    names
}

/// The API server's first create of a kind after its CRD is installed answers in about 2 s
/// (measured: the create call itself, with no operator running); a cluster in use has long paid
/// it. One object of each kind, made and deleted before any run, pays it here.
pub(crate) async fn warm_up(client: &Client) {
    let ns = TestNamespace::new("bench-warm-up");
    create_objects(client, &ns.name, 1, 1).await;
    // Gone before any operator starts: a cluster-wide one would take them up.
    delete_objects(&ns.name, true);
}

/// Deletes every request and cloudpipe of `namespace`; with `wait`, until they are gone.
pub(crate) fn delete_objects(namespace: &str, wait: bool) {
    let wait = format!("--wait={wait}");
    kubectl_ok(
        &[
            "delete",
            "-n",
            namespace,
            "tenantconnectionrequests,cloudpipes",
            "--all",
            &wait,
        ],
        None,
    );
}
