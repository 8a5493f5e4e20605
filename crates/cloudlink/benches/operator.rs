//! The figures of docs/benchmarks.md: run with `hack/bench.sh`, which starts a control plane and
//! passes it in CLOUDLINK_TEST_KUBECONFIG. Release build; the operator and the emulator are the
//! real binaries, started the way the integration tests start them.
//!
//! Knobs (environment): BENCH_LATENCY_MS (emulator latency per cloud call, default 20),
//! BENCH_SIZES (objects of each kind per throughput run, default "100,1000"), BENCH_MEMORY
//! (request counts for the memory figures, default "1000,10000"), BENCH_SAMPLES (single-object
//! latency samples, default 50), BENCH_CONCURRENCY (operator and floor concurrency, default 16),
//! BENCH_LOG (the operator's --log, default warn), BENCH_UNRELATED_SECRETS (Secrets no object names
//! for the start-up figures, default 1000), BENCH_UNRELATED_SECRET_KB (their size, default 300).
//! A phase is skipped with "none" (sizes, memory, unrelated Secrets) or 0 (samples), e.g.
//! `BENCH_SIZES=none BENCH_MEMORY=none BENCH_SAMPLES=0` runs the unrelated Secrets phase alone.

use cloudlink_testkit as support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use cloudlink::api::{Cloudpipe, TenantConnectionRequest};
use cloudlink_cloud::ecl::CreateTenantConnectionRequest;
use cloudlink_cloud::{CloudSession, CloudpipeApi, EclClient, NovaClient, TenantConnectionApi};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};
use support::cluster::{TestNamespace, client, install_crds, kubeconfig, kubectl_ok};
use support::emulator::{ADMIN, Emulator, OWNER, eventually};
use support::operator::Operator;
use support::scenario::{cloudpipe, network_id, request};

const DEADLINE: Duration = Duration::from_secs(1800);

fn knob(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn numbers(text: &str) -> Vec<usize> {
    text.split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

#[tokio::main]
async fn main() {
    let latency: u64 = knob("BENCH_LATENCY_MS", "20")
        .parse()
        .expect("BENCH_LATENCY_MS");
    let sizes = numbers(&knob("BENCH_SIZES", "100,1000"));
    let memory = numbers(&knob("BENCH_MEMORY", "1000,10000"));
    let samples: usize = knob("BENCH_SAMPLES", "50").parse().expect("BENCH_SAMPLES");
    let concurrency: usize = knob("BENCH_CONCURRENCY", "16")
        .parse()
        .expect("BENCH_CONCURRENCY");
    let unrelated = numbers(&knob("BENCH_UNRELATED_SECRETS", "1000"));
    let unrelated_kb: usize = knob("BENCH_UNRELATED_SECRET_KB", "300")
        .parse()
        .expect("BENCH_UNRELATED_SECRET_KB");

    install_crds();
    let delay = json!({ "latency_ms": latency }).to_string();
    let faults: Vec<String> = ["nova.*", "ecl.*", "sss.*"]
        .iter()
        .map(|family| format!("{family}={delay}"))
        .collect();
    let mut args = vec!["--auto-approve-after", "1s"];
    for fault in &faults {
        args.extend(["--fault", fault.as_str()]);
    }
    let cloud = Emulator::start(&args);
    let client = client().await;
    let bench = Bench {
        cloud,
        client,
        concurrency,
    };

    println!(
        "Emulator latency {latency} ms per cloud call; concurrency {concurrency}; {} cores.\n",
        num_cpus()
    );
    // First: the cluster-wide operator of this phase would also take up the objects that the
    // other phases leave in their terminating namespaces.
    let mut secret_rows = Vec::new();
    for &count in unrelated.iter().filter(|&&n| n > 0) {
        secret_rows.push((
            count,
            bench.unrelated_secrets(count, unrelated_kb * 1024).await,
        ));
    }
    if !sizes.is_empty() {
        println!("## Throughput (N objects of each kind created at once)\n");
        println!(
            "| N per kind | objects | operator: all ids | floor: all ids | ratio | operator: all Ready |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        let mut call_rows = Vec::new();
        let mut steady_rows = Vec::new();
        for &n in &sizes {
            let run = bench.operator_run(n).await;
            let floor = bench.floor_run(n).await;
            println!(
                "| {n} | {} | {:.2} s | {:.2} s | {:.2} | {:.2} s |",
                2 * n,
                run.ids.as_secs_f64(),
                floor.as_secs_f64(),
                run.ids.as_secs_f64() / floor.as_secs_f64(),
                run.ready.as_secs_f64()
            );
            call_rows.push((n, run.create_calls));
            steady_rows.push((n, run.steady_calls, run.steady_ticks));
        }

        println!("\n## Cloud calls while creating (per object, from the emulator's counters)\n");
        println!("| N per kind | route | calls | per object |");
        println!("|---:|---|---:|---:|");
        for (n, calls) in &call_rows {
            for (route, count) in calls {
                println!(
                    "| {n} | {route} | {count} | {:.2} |",
                    *count as f64 / *n as f64
                );
            }
        }
        println!("\n## Cloud calls per resync in the steady state (one credential)\n");
        println!("| N per kind | route | calls per resync tick |");
        println!("|---:|---|---:|");
        for (n, calls, ticks) in &steady_rows {
            for (route, count) in calls {
                println!("| {n} | {route} | {:.1} |", *count as f64 / *ticks as f64);
            }
        }
    }

    if samples > 0 {
        let (p50, p99, calls_on_path) = bench.latency(samples).await;
        println!(
            "\n## Latency: create → status.id, one object at a time ({samples} TenantConnectionRequests)\n"
        );
        println!(
            "| p50 | p99 | cloud calls on the path | p50 overhead (minus {latency} ms per call) |"
        );
        println!("|---:|---:|---:|---:|");
        let overhead = p50.as_secs_f64() * 1000.0 - (latency as f64 * calls_on_path);
        println!(
            "| {:.1} ms | {:.1} ms | {calls_on_path:.1} | {overhead:.1} ms |",
            ms(p50),
            ms(p99)
        );
    }

    if !memory.is_empty() {
        println!("\n## Memory (operator RSS)\n");
        println!("| objects | RSS |");
        println!("|---:|---:|");
        for (objects, rss) in bench.memory(&memory).await {
            println!("| {objects} | {:.1} MiB |", rss as f64 / 1024.0 / 1024.0);
        }
    }

    for (count, [without, with]) in &secret_rows {
        println!(
            "\n## Start-up with Secrets no object names ({count} of {unrelated_kb} KB, cluster-wide operator)\n"
        );
        println!(
            "A cluster-wide operator (the chart without `watchNamespaces`) starts with {UNRELATED_RUN_OBJECTS} Ready requests in"
        );
        println!(
            "one namespace, before and after {count} Secrets of {unrelated_kb} KB of random data (as Helm's"
        );
        println!(
            "releases) are created in {UNRELATED_NAMESPACES} other namespaces. Peak is the process's VmHWM; steady is VmRSS"
        );
        println!(
            "{} s after `/readyz` first answers 200 (time to `/readyz` counts from the process's start).\n",
            SETTLE.as_secs()
        );
        println!(
            "| Secrets no object names | time to /readyz | peak RSS (VmHWM) | steady RSS (VmRSS) |"
        );
        println!("|---|---:|---:|---:|");
        for (label, figures) in [
            ("none".to_owned(), without),
            (format!("{count} × {unrelated_kb} KB"), with),
        ] {
            println!(
                "| {label} | {:.2} s | {:.1} MiB | {:.1} MiB |",
                figures.ready.as_secs_f64(),
                mib(figures.peak),
                mib(figures.steady)
            );
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

struct Bench {
    cloud: Emulator,
    client: Client,
    concurrency: usize,
}

struct OperatorRun {
    ids: Duration,
    ready: Duration,
    create_calls: BTreeMap<String, u64>,
    steady_calls: BTreeMap<String, u64>,
    steady_ticks: u64,
}

/// Resync period of the throughput runs' operators: short, so that the steady state is measured
/// in the same run.
const RESYNC_SECONDS: u64 = 10;

impl Bench {
    /// An operator watching `namespace`, or every namespace.
    fn start_operator(&self, namespace: Option<&str>, resync: &str) -> Operator {
        let concurrency = self.concurrency.to_string();
        let log = knob("BENCH_LOG", "warn");
        let mut args = match namespace {
            Some(namespace) => vec!["--namespace", namespace],
            None => Vec::new(),
        };
        args.extend([
            "--log",
            &log,
            "--concurrency",
            &concurrency,
            // The default rate (20 calls/s per credential) protects a real cloud; the benchmark
            // measures the engine, so the limiter is opened wide.
            "--cloud-rate",
            "1000",
            "--cloud-burst",
            "1000",
            "--resync",
            resync,
        ]);
        Operator::start_as(&kubeconfig(), &args, &[])
    }

    async fn wait_ready(&self, operator: &Operator) {
        let url = format!("{}/readyz", operator.http_url());
        eventually(
            Duration::from_secs(60),
            "the operator to be ready",
            || async {
                let answer = self.cloud.http().get(&url).send().await;
                answer.is_ok_and(|r| r.status().is_success()).then_some(())
            },
        )
        .await;
    }

    fn secret(&self, namespace: &str) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud"},
                            "stringData": {"clouds.yaml": self.cloud.clouds_yaml(&ADMIN)}});
        kubectl_ok(
            &["apply", "-n", namespace, "-f", "-"],
            Some(&secret.to_string()),
        );
    }

    async fn operator_run(&self, n: usize) -> OperatorRun {
        self.cloud.reset().await;
        let ns = TestNamespace::new(&format!("bench-op-{n}"));
        self.secret(&ns.name);
        let mut operator = self.start_operator(Some(&ns.name), &format!("{RESYNC_SECONDS}s"));
        self.wait_ready(&operator).await;
        let before = self.cloud.counters().await;
        let watch = Progress::watch(self.client.clone(), &ns.name, 2 * n).await;
        let started = Instant::now();
        create_objects(&self.client, &ns.name, n, self.concurrency).await;
        let (ids, ready) = watch.await.expect("watch");
        let (ids, ready) = (ids - started, ready - started);
        let create_calls = delta(&before, &self.cloud.counters().await);

        // Steady state: let two ticks begin (the first may be one that was under way as the last
        // objects became Ready, and still serves their first resyncs), then count the calls of
        // the next ticks.
        let list_route = "ecl.tcr.list";
        let first = self.cloud.total(list_route).await;
        eventually(
            Duration::from_secs(4 * RESYNC_SECONDS),
            "two resync ticks",
            || async { (self.cloud.total(list_route).await > first + 1).then_some(()) },
        )
        .await;
        let before = self.cloud.counters().await;
        let steady_ticks = 3;
        let from = self.cloud.total(list_route).await;
        eventually(
            Duration::from_secs((steady_ticks + 2) * RESYNC_SECONDS),
            "the measured ticks",
            || async { (self.cloud.total(list_route).await >= from + steady_ticks).then_some(()) },
        )
        .await;
        let steady_calls = delta(&before, &self.cloud.counters().await);
        operator.terminate();
        OperatorRun {
            ids,
            ready,
            create_calls,
            steady_calls,
            steady_ticks,
        }
    }

    /// The floor: only the unavoidable work per object, one cloud POST and one status patch, at
    /// the same concurrency, through the same cloud client library and API server.
    async fn floor_run(&self, n: usize) -> Duration {
        self.cloud.reset().await;
        let ns = TestNamespace::new(&format!("bench-floor-{n}"));
        let session =
            CloudSession::from_clouds_yaml(&self.cloud.clouds_yaml(&ADMIN), "emulator", None)
                .expect("session");
        session.project_id().await.expect("token"); // the operator, too, starts with a token
        let started = Instant::now();
        let names = create_objects(&self.client, &ns.name, n, self.concurrency).await;
        let requests: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let pipes: Api<Cloudpipe> = Api::namespaced(self.client.clone(), &ns.name);
        futures::stream::iter(names)
            .map(|(kind, name)| {
                let (session, requests, pipes) = (session.clone(), requests.clone(), pipes.clone());
                async move {
                    let id = if kind == "tcr" {
                        let body = CreateTenantConnectionRequest {
                            tenant_id_other: OWNER.project_id.to_owned(),
                            network_id: network_id(),
                            name: Some(name.clone()),
                            ..Default::default()
                        };
                        EclClient::new(&session)
                            .create_request(&body)
                            .await
                            .expect("floor create")
                            .id
                    } else {
                        NovaClient::new(&session)
                            .create_cloudpipe(Some(&project_of(&name)))
                            .await
                            .expect("floor create")
                    };
                    let patch = Patch::Merge(json!({"status": {"id": id}}));
                    if kind == "tcr" {
                        requests
                            .patch_status(&name, &PatchParams::default(), &patch)
                            .await
                            .expect("floor patch");
                    } else {
                        pipes
                            .patch_status(&name, &PatchParams::default(), &patch)
                            .await
                            .expect("floor patch");
                    }
                }
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        started.elapsed()
    }

    /// Single objects, one after the other: create → the watch shows status.id.
    async fn latency(&self, samples: usize) -> (Duration, Duration, f64) {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-latency");
        self.secret(&ns.name);
        let mut operator = self.start_operator(Some(&ns.name), "10m");
        self.wait_ready(&operator).await;
        let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let mut times = Vec::new();
        let before = self.cloud.counters().await;
        for i in 0..samples {
            let name = format!("single-{i}");
            let watch = Progress::watch_kind::<TenantConnectionRequest>(
                self.client.clone(),
                &ns.name,
                Some(&name),
                1,
            )
            .await;
            let object = request_object(&name);
            let started = Instant::now();
            api.create(&PostParams::default(), &object)
                .await
                .expect("create");
            // The watch ends once the object is Ready as well, so that its polls do not overlap the
            // next sample; only the id's time is kept.
            let (id_seen, _) = watch.await.expect("watch");
            times.push(id_seen - started);
        }
        let after = self.cloud.counters().await;
        operator.terminate();
        // Cloud calls before the id is known: the adoption lookup and the POST.
        let calls = delta(&before, &after);
        let on_path = (calls.get("ecl.tcr.list").copied().unwrap_or(0)
            + calls.get("ecl.tcr.create").copied().unwrap_or(0)) as f64
            / samples as f64;
        times.sort();
        let at =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        (at(0.50), at(0.99), on_path)
    }

    /// RSS of an operator idle, then with each count of Ready requests.
    async fn memory(&self, counts: &[usize]) -> Vec<(usize, u64)> {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-memory");
        self.secret(&ns.name);
        let mut operator = self.start_operator(Some(&ns.name), "10m");
        self.wait_ready(&operator).await;
        tokio::time::sleep(Duration::from_secs(2)).await; // a figure for the idle process, not a test
        let mut figures = vec![(0, rss(operator.pid()))];
        let mut made = 0;
        for &count in counts {
            let watch = Progress::watch_kind::<TenantConnectionRequest>(
                self.client.clone(),
                &ns.name,
                None,
                count,
            )
            .await;
            let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
            futures::stream::iter(made..count)
                .map(|i| {
                    let api = api.clone();
                    async move {
                        api.create(&PostParams::default(), &request_object(&format!("m{i}")))
                            .await
                            .expect("create")
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>()
                .await;
            made = count;
            watch.await.expect("watch");
            figures.push((count, rss(operator.pid())));
        }
        operator.terminate();
        figures
    }
}

/// Ready requests in the unrelated-Secrets phase's own namespace: the operator has work of its own
/// and reads the one Secret they name.
const UNRELATED_RUN_OBJECTS: usize = 100;
/// The unrelated Secrets are spread over this many namespaces.
const UNRELATED_NAMESPACES: usize = 10;
/// How long after `/readyz` the steady RSS is read: the start-up LISTs are over and the heap has
/// been trimmed (every 5 s) several times. A settling time for a figure, not a test.
const SETTLE: Duration = Duration::from_secs(30);

/// One start of a cluster-wide operator.
struct StartFigures {
    /// From the process's start to the first 200 from `/readyz`.
    ready: Duration,
    /// VmHWM at the end of the settling time.
    peak: u64,
    /// VmRSS at the end of the settling time.
    steady: u64,
}

impl Bench {
    /// A cluster-wide operator started without, then with, `count` Secrets of `size` random bytes
    /// that no object names, in namespaces of their own (as Helm keeps its releases).
    async fn unrelated_secrets(&self, count: usize, size: usize) -> [StartFigures; 2] {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-secrets");
        self.secret(&ns.name);
        // Objects an operator has made Ready before, so that both starts find the same work.
        let mut operator = self.start_operator(Some(&ns.name), "10m");
        let watch = Progress::watch_kind::<TenantConnectionRequest>(
            self.client.clone(),
            &ns.name,
            None,
            UNRELATED_RUN_OBJECTS,
        )
        .await;
        let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        futures::stream::iter(0..UNRELATED_RUN_OBJECTS)
            .map(|i| {
                let api = api.clone();
                async move {
                    api.create(&PostParams::default(), &request_object(&format!("s{i}")))
                        .await
                        .expect("create")
                }
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        watch.await.expect("watch");
        operator.terminate();

        let (without, mut operator) = self.cluster_wide_start().await;
        operator.terminate();
        let namespaces = self.create_unrelated_secrets(count, size).await;
        let (with, mut operator) = self.cluster_wide_start().await;
        // Clean up for the phases after this one: the requests go with the operator's help (their
        // finalizers), and the Secrets' namespaces are gone before it returns.
        kubectl_ok(
            &["delete", "tcr", "--all", "-n", &ns.name, "--timeout=120s"],
            None,
        );
        operator.terminate();
        let names: Vec<String> = namespaces.iter().map(|n| n.name.clone()).collect();
        drop(namespaces);
        let all: Api<Namespace> = Api::all(self.client.clone());
        eventually(
            Duration::from_secs(600),
            "the unrelated Secrets' namespaces to be deleted",
            || async {
                for name in &names {
                    if all.get_opt(name).await.ok()?.is_some() {
                        return None;
                    }
                }
                Some(())
            },
        )
        .await;
        [without, with]
    }

    /// Starts a cluster-wide operator and measures it; returns it still running.
    async fn cluster_wide_start(&self) -> (StartFigures, Operator) {
        let started = Instant::now();
        let operator = self.start_operator(None, "10m");
        self.wait_ready(&operator).await;
        let ready = started.elapsed();
        tokio::time::sleep(SETTLE).await;
        let figures = StartFigures {
            ready,
            peak: peak_rss(operator.pid()),
            steady: rss(operator.pid()),
        };
        (figures, operator)
    }

    /// `count` Secrets of `size` random bytes (incompressible, as Helm's gzipped releases), a few
    /// at a time (each is one etcd write of about `size`).
    async fn create_unrelated_secrets(&self, count: usize, size: usize) -> Vec<TestNamespace> {
        let namespaces: Vec<TestNamespace> = (0..UNRELATED_NAMESPACES)
            .map(|_| TestNamespace::new("bench-helm"))
            .collect();
        futures::stream::iter(0..count)
            .map(|i| {
                let api: Api<Secret> =
                    Api::namespaced(self.client.clone(), &namespaces[i % namespaces.len()].name);
                let mut content = vec![0u8; size];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut content);
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(format!("sh.helm.release.v1.app{i}.v1")),
                        labels: Some(BTreeMap::from([
                            ("owner".to_owned(), "helm".to_owned()),
                            ("name".to_owned(), format!("app{i}")),
                        ])),
                        ..Default::default()
                    },
                    type_: Some("helm.sh/release.v1".to_owned()),
                    data: Some(BTreeMap::from([(
                        "release".to_owned(),
                        ByteString(content),
                    )])),
                    ..Default::default()
                };
                async move {
                    api.create(&PostParams::default(), &secret)
                        .await
                        .expect("create Secret")
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
        namespaces
    }
}

fn rss(pid: u32) -> u64 {
    proc_status(pid, "VmRSS:")
}

/// The highest RSS the process has had (its "high water mark").
fn peak_rss(pid: u32) -> u64 {
    proc_status(pid, "VmHWM:")
}

/// A memory figure of /proc/PID/status, in bytes.
fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn delta(before: &Value, after: &Value) -> BTreeMap<String, u64> {
    let total = |v: &Value, route: &str| {
        v[route]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>())
    };
    after
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter(|route| !route.ends_with("versions") && !route.ends_with(".version"))
        .map(|route| (route.clone(), total(after, route) - total(before, route)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// A project per cloudpipe (Nova makes one cloudpipe per project), stable for a name.
fn project_of(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}{:016x}", hash.rotate_left(17))
}

fn request_object(name: &str) -> TenantConnectionRequest {
    serde_json::from_value(request(name, json!({}))).expect("request")
}

fn cloudpipe_object(name: &str) -> Cloudpipe {
    serde_json::from_value(cloudpipe(name, json!({"projectId": project_of(name)})))
        .expect("cloudpipe")
}

/// Creates `n` requests and `n` cloudpipes, `concurrency` at a time; returns (kind, name) pairs.
async fn create_objects(
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

/// When every object first showed `status.id`, and when every object was first Ready, as a
/// watch on the namespace sees it. Each function returns once the watch is established, so that
/// nothing the operator writes afterwards is missed.
struct Progress;

type FirstSeen = tokio::task::JoinHandle<(Instant, Instant)>;

impl Progress {
    async fn watch(client: Client, namespace: &str, expected: usize) -> FirstSeen {
        let requests = Self::watch_kind::<TenantConnectionRequest>(
            client.clone(),
            namespace,
            None,
            expected / 2,
        )
        .await;
        let pipes = Self::watch_kind::<Cloudpipe>(client, namespace, None, expected / 2).await;
        tokio::spawn(async move {
            let (r, p) = (requests.await.expect("watch"), pipes.await.expect("watch"));
            (r.0.max(p.0), r.1.max(p.1))
        })
    }

    async fn watch_kind<K>(
        client: Client,
        namespace: &str,
        name: Option<&str>,
        expected: usize,
    ) -> FirstSeen
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + serde::Serialize
            + Send
            + Sync
            + 'static,
    {
        let api: Api<K> = Api::namespaced(client, namespace);
        let mut config = watcher::Config::default();
        if let Some(name) = name {
            config = config.fields(&format!("metadata.name={name}"));
        }
        let (established, is_established) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut established = Some(established);
            let mut ids: HashMap<String, Instant> = HashMap::new();
            let mut ready: HashMap<String, Instant> = HashMap::new();
            let mut stream = std::pin::pin!(watcher(api, config));
            let deadline = Instant::now() + DEADLINE;
            while ids.len() < expected || ready.len() < expected {
                let next = tokio::time::timeout_at(deadline.into(), stream.try_next()).await;
                let object = match next {
                    Ok(Ok(Some(watcher::Event::InitDone))) => {
                        if let Some(tx) = established.take() {
                            let _ = tx.send(());
                        }
                        continue;
                    }
                    Ok(Ok(Some(watcher::Event::Apply(o) | watcher::Event::InitApply(o)))) => o,
                    Ok(Ok(Some(_))) => continue,
                    other => panic!(
                        "watch ended ({other:?}): {} ids, {} Ready of {expected}",
                        ids.len(),
                        ready.len()
                    ),
                };
                let now = Instant::now();
                let value = serde_json::to_value(&object).unwrap_or_default();
                let name = object.name_any();
                if value["status"]["id"].is_string() {
                    ids.entry(name.clone()).or_insert(now);
                }
                let conditions = value["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
                {
                    ready.entry(name).or_insert(now);
                }
            }
            (
                ids.values().copied().max().unwrap_or_else(Instant::now),
                ready.values().copied().max().unwrap_or_else(Instant::now),
            )
        });
        is_established.await.expect("the watch started");
        task
    }
}
