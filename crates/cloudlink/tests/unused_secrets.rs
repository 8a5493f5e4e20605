//! cloudlink reads only the Secrets its objects name. Every other Secret in the cluster (Helm keeps
//! each release in one, often hundreds of KB) reaches it as metadata at most: its LISTs and WATCHes
//! of Secrets ask for `PartialObjectMetadata` and are answered without `data`, and each Secret it
//! reads or patches on its own is one that an object names. Seen on the wire, watch streams
//! included, by a recording proxy between a cluster-wide operator and the API server.

use cloudlink_testkit as support;

use std::collections::HashSet;

use serde_json::json;
use support::api_recorder::{ApiRecorder, Exchange};
use support::cluster::{TestNamespace, kubectl_ok};
use support::emulator::{ADMIN, eventually};
use support::operator::Operator;
use support::scenario::{DEADLINE, World, cloudpipe};

/// What a request for Secrets asked for, from its path.
#[derive(Debug, PartialEq)]
enum SecretRequest {
    /// A LIST or WATCH, in one namespace or all.
    Collection,
    /// One Secret: (namespace, name).
    One(String, String),
}

fn secret_request(uri: &str) -> Option<SecretRequest> {
    let path = uri.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v1", "secrets"] | ["api", "v1", "namespaces", _, "secrets"] => {
            Some(SecretRequest::Collection)
        }
        ["api", "v1", "namespaces", namespace, "secrets", name, ..] => {
            Some(SecretRequest::One(namespace.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// A Secret the way Helm stores a release, created as Helm creates it (not with `kubectl apply`,
/// which would copy the content into an annotation). Returns the content as the API serves it
/// (base64, in `data`).
fn helm_release(namespace: &str, version: u32, payload: &str) -> String {
    let content = format!("{payload}-{version}");
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": release_name(version), "labels": {"owner": "helm", "name": "app"}},
        "stringData": {"release": content}});
    kubectl_ok(
        &["create", "-n", namespace, "-f", "-"],
        Some(&secret.to_string()),
    );
    let served = serde_json::to_string(&k8s_openapi::ByteString(content.into_bytes())).unwrap();
    served.trim_matches('"').to_owned()
}

fn release_name(version: u32) -> String {
    format!("sh.helm.release.v1.app.v{version}")
}

#[tokio::test]
async fn secrets_no_object_names_reach_the_operator_without_their_data() {
    // The world's operator watches one namespace; the one under test watches all of them.
    let mut w = World::start("unused-secrets", &[], &[]);
    w.operator.kill();
    let other = TestNamespace::new("unused-secrets-helm");
    let payload = format!("release-payload-{:08x}", rand::random::<u32>());
    let mut contents = vec![
        helm_release(&other.name, 1, &payload),
        helm_release(&w.ns.name, 1, &payload),
    ];

    let recorder = ApiRecorder::start().await;
    let mut operator = Operator::start_as(
        recorder.kubeconfig(),
        &["--log", "info,cloudlink=debug"],
        &[],
    );

    // An object whose Secret comes later: only the Secret watch can bring it back, so names are
    // enough for it.
    let mut vpn = cloudpipe("vpn", json!({}));
    vpn["spec"]["cloudCredentialsRef"]["secretName"] = json!("late");
    w.apply(&vpn);
    w.condition(
        "cloudpipe",
        "vpn",
        "Stalled",
        "True",
        Some("InvalidConfiguration"),
    )
    .await;
    w.secret("late", &w.cloud.clouds_yaml(&ADMIN));
    w.condition("cloudpipe", "vpn", "Ready", "True", None).await;

    // A release upgraded while the operator runs reaches it through a watch.
    contents.push(helm_release(&other.name, 2, &payload));
    eventually(
        DEADLINE,
        "a Secret watch to report the new release",
        || async {
            recorder
                .exchanges()
                .iter()
                .filter(|e| {
                    secret_request(&e.uri) == Some(SecretRequest::Collection) && e.is_watch()
                })
                .any(|e| names_in(e).contains(&(other.name.clone(), release_name(2))))
                .then_some(())
        },
    )
    .await;
    operator.kill();
    let exchanges = recorder.exchanges();

    // The collections: metadata asked for, metadata answered.
    let collections: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| secret_request(&e.uri) == Some(SecretRequest::Collection))
        .collect();
    assert!(
        collections.iter().any(|e| !e.is_watch()) && collections.iter().any(|e| e.is_watch()),
        "the operator lists and watches Secrets: {:?}",
        collections.iter().map(|e| &e.uri).collect::<Vec<_>>()
    );
    let listed: HashSet<(String, String)> = collections.iter().flat_map(|e| names_in(e)).collect();
    assert!(
        listed.contains(&(other.name.clone(), release_name(1)))
            && listed.contains(&(w.ns.name.clone(), release_name(1))),
        "the Secrets no object names were listed (as metadata)"
    );
    for exchange in &collections {
        assert!(
            exchange.accept.contains("as=PartialObjectMetadata"),
            "{} {} asked for whole Secrets (Accept: {:?})",
            exchange.method,
            exchange.uri,
            exchange.accept
        );
        for object in exchange.objects() {
            let kind = object["kind"].as_str().unwrap_or_default();
            if kind == "Status" {
                continue; // a watch's expiry or error
            }
            assert!(
                kind == "PartialObjectMetadata"
                    && object.get("data").is_none()
                    && object.get("stringData").is_none(),
                "{} {} was answered with a Secret's content: kind {kind:?}, {}",
                exchange.method,
                exchange.uri,
                object["metadata"]["name"]
            );
        }
    }

    // Single Secrets: only those an object names, from the objects the operator was sent.
    let named: HashSet<(String, String)> = exchanges
        .iter()
        .filter(|e| e.uri.starts_with("/apis/cloudlink.dev/"))
        .flat_map(Exchange::objects)
        .filter_map(|o| {
            Some((
                o["metadata"]["namespace"].as_str()?.to_owned(),
                o["spec"]["cloudCredentialsRef"]["secretName"]
                    .as_str()?
                    .to_owned(),
            ))
        })
        .collect();
    let mut read_late = false;
    for exchange in &exchanges {
        if let Some(SecretRequest::One(namespace, name)) = secret_request(&exchange.uri) {
            assert!(
                named.contains(&(namespace.clone(), name.clone())),
                "{} {}: a Secret no object names",
                exchange.method,
                exchange.uri
            );
            read_late |=
                exchange.method == "GET" && (namespace, name) == (w.ns.name.clone(), "late".into());
        }
    }
    assert!(read_late, "the Secret the object names was read");

    // And no answer of any kind carried the releases' content.
    for exchange in &exchanges {
        let body = String::from_utf8_lossy(&exchange.body()).into_owned();
        for content in &contents {
            assert!(
                !body.contains(content.as_str()),
                "{} {} carried a release's content",
                exchange.method,
                exchange.uri
            );
        }
    }
}

/// (namespace, name) of each object in an answer.
fn names_in(exchange: &Exchange) -> Vec<(String, String)> {
    exchange
        .objects()
        .iter()
        .filter_map(|o| {
            Some((
                o["metadata"]["namespace"].as_str()?.to_owned(),
                o["metadata"]["name"].as_str()?.to_owned(),
            ))
        })
        .collect()
}
