//! `--features otel`: the real operator, pointed by `OTEL_EXPORTER_OTLP_*` at a collector run by the
//! test (OTLP/HTTP, protobuf, decoded with opentelemetry-proto), exports a `reconcile` span naming
//! the object — and never the cloud password, in any attribute of any span, event or resource.
#![cfg(feature = "otel")]

use cloudlink_testkit as support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use support::cluster::{TestNamespace, install_crds, kubeconfig};
use support::emulator::{ADMIN, Emulator, eventually};
use support::operator::Operator;
use support::scenario::{DEADLINE, World, cloudpipe};

/// An OTLP/HTTP trace receiver: keeps every request body it is sent.
struct Collector {
    url: String,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl Collector {
    async fn start() -> Collector {
        let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(bodies.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Collector { url, bodies }
    }

    fn bodies(&self) -> Vec<Bytes> {
        self.bodies.lock().unwrap().clone()
    }

    /// Every span received, with the `service.name` of its resource.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut spans = Vec::new();
        for body in self.bodies() {
            let request =
                ExportTraceServiceRequest::decode(body).expect("the exporter sends OTLP protobuf");
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.unwrap_or_default();
                let service =
                    string_attribute(&resource.attributes, "service.name").unwrap_or_default();
                for scope_spans in resource_spans.scope_spans {
                    spans.extend(
                        scope_spans
                            .spans
                            .into_iter()
                            .map(|span| (service.clone(), span)),
                    );
                }
            }
        }
        spans
    }

    /// Every string value in what was received: resource, span and event attributes, nested ones too.
    fn strings(&self) -> Vec<String> {
        let mut strings = Vec::new();
        for body in self.bodies() {
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            for resource_spans in request.resource_spans {
                collect_strings(
                    &resource_spans.resource.unwrap_or_default().attributes,
                    &mut strings,
                );
                for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                    strings.push(span.name.clone());
                    collect_strings(&span.attributes, &mut strings);
                    for event in &span.events {
                        strings.push(event.name.clone());
                        collect_strings(&event.attributes, &mut strings);
                    }
                }
            }
        }
        strings
    }
}

async fn receive(
    State(bodies): State<Arc<Mutex<Vec<Bytes>>>>,
    body: Bytes,
) -> ([(axum::http::HeaderName, &'static str); 1], Vec<u8>) {
    bodies.lock().unwrap().push(body);
    (
        [(CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

fn collect_strings(attributes: &[KeyValue], into: &mut Vec<String>) {
    for kv in attributes {
        into.push(kv.key.clone());
        if let Some(value) = &kv.value {
            collect_value(value, into);
        }
    }
}

fn collect_value(value: &AnyValue, into: &mut Vec<String>) {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => into.push(s.clone()),
        Some(any_value::Value::BytesValue(b)) => into.push(String::from_utf8_lossy(b).into_owned()),
        Some(any_value::Value::ArrayValue(array)) => {
            array.values.iter().for_each(|v| collect_value(v, into))
        }
        Some(any_value::Value::KvlistValue(list)) => collect_strings(&list.values, into),
        _ => {}
    }
}

/// `World::start`, with the operator's environment given (`World::start` has no way to pass it).
fn world(prefix: &str, env: &[(&str, &str)]) -> World {
    install_crds();
    let ns = TestNamespace::new(prefix);
    let cloud = Emulator::start(&["--server-build-delay", "300ms"]);
    let args = [
        "--namespace",
        ns.name.as_str(),
        "--log",
        "info,cloudlink=debug",
    ];
    let world = World {
        operator: Operator::start_as(&kubeconfig(), &args, env),
        ns,
        cloud,
    };
    world.secret("cloud", &world.cloud.clouds_yaml(&ADMIN));
    world
}

/// The `reconcile` spans of Cloudpipe `name` in the world's namespace, with their service names.
fn reconcile_spans(collector: &Collector, w: &World, name: &str) -> Vec<(String, Span)> {
    collector
        .spans()
        .into_iter()
        .filter(|(_, span)| {
            span.name == "reconcile"
                && string_attribute(&span.attributes, "kind").as_deref() == Some("Cloudpipe")
                && string_attribute(&span.attributes, "namespace").as_deref()
                    == Some(w.ns.name.as_str())
                && string_attribute(&span.attributes, "name").as_deref() == Some(name)
        })
        .collect()
}

/// What both tests check of what was exported: the object's uid, and no password anywhere.
fn assert_exported_safely(collector: &Collector, spans: &[(String, Span)], uid: &str) {
    for (_, span) in spans {
        assert_eq!(
            string_attribute(&span.attributes, "uid").as_deref(),
            Some(uid),
            "{span:?}"
        );
    }
    assert!(
        spans.iter().any(|(_, span)| !span.events.is_empty()),
        "the events logged in a reconcile (cloud calls) travel with it too"
    );
    let strings = collector.strings();
    let leaks: Vec<&String> = strings
        .iter()
        .filter(|s| s.contains(ADMIN.password))
        .collect();
    assert!(
        leaks.is_empty(),
        "exported attributes hold the cloud password: {leaks:?}"
    );
    // The same on the bytes sent, in case something travels outside an attribute.
    let password = ADMIN.password.as_bytes();
    for body in collector.bodies() {
        assert!(
            !body.windows(password.len()).any(|w| w == password),
            "an export request holds the cloud password"
        );
    }
}

// Multi-threaded: the collector must answer while the test thread waits on kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_spans_are_exported_while_the_operator_runs() {
    let collector = Collector::start().await;
    // Batches every 100 ms instead of 5 s: the test waits less.
    let w = world(
        "otel",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    w.apply(&cloudpipe("vpn", json!({})));
    let object = w.condition("cloudpipe", "vpn", "Ready", "True", None).await;
    let uid = object["metadata"]["uid"].as_str().unwrap().to_owned();

    // Ready is written by a reconcile that is over by the time it is read; its span follows within a batch.
    let spans = eventually(
        DEADLINE,
        "reconcile spans of cloudpipe/vpn at the collector",
        || async {
            let spans = reconcile_spans(&collector, &w, "vpn");
            (spans.len() >= 2).then_some(spans)
        },
    )
    .await;
    assert!(
        spans.iter().all(|(service, _)| service == "cloudlink"),
        "service.name: {:?}",
        spans.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    assert_exported_safely(&collector, &spans, &uid);
    assert!(
        w.operator.log().contains("exporting spans over OTLP/HTTP"),
        "{}",
        w.operator.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_batched_are_exported_when_the_operator_stops() {
    let collector = Collector::start().await;
    // A batch every hour: only the flush at shutdown can deliver these spans. The traces-only
    // variable is a full URL, used as it is; OTEL_SERVICE_NAME wins over `cloudlink`.
    let endpoint = format!("{}/v1/traces", collector.url);
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
        ("OTEL_SERVICE_NAME", "cloudlink-test"),
    ];
    let mut w = world("otel-flush", &env);
    w.apply(&cloudpipe("vpn", json!({})));
    let object = w.condition("cloudpipe", "vpn", "Ready", "True", None).await;
    let uid = object["metadata"]["uid"].as_str().unwrap().to_owned();
    assert!(
        collector.bodies().is_empty(),
        "nothing is sent before the batch is due"
    );

    assert!(
        w.operator.terminate(),
        "the operator exits cleanly on SIGTERM: {}",
        w.operator.log()
    );
    let spans = reconcile_spans(&collector, &w, "vpn");
    assert!(
        spans.len() >= 2,
        "the reconciles before SIGTERM were exported as the operator stopped: {} bodies received",
        collector.bodies().len()
    );
    assert!(
        spans.iter().all(|(service, _)| service == "cloudlink-test"),
        "OTEL_SERVICE_NAME is the service name"
    );
    assert_exported_safely(&collector, &spans, &uid);
}
