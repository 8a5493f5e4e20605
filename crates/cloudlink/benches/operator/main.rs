//! The figures of docs/benchmarks.md: run with `hack/bench.sh`, which starts a control plane and
//! passes it in CLOUDLINK_TEST_KUBECONFIG. Release build; the operator is the real binary and the
//! emulator runs in-process on a runtime of its own, both started as the integration tests start
//! them. `runs.rs`: throughput and memory with N objects; `latency.rs`: single objects;
//! `startup.rs`: start-up with unrelated Secrets; `shards.rs`: one shard against two;
//! `measure.rs`: RSS, CPU, API requests and the watch that times progress; `objects.rs`: the
//! objects.
//!
//! Knobs (environment): BENCH_LATENCY_MS (emulator latency per cloud call, default 20),
//! BENCH_SIZES (objects of each kind per throughput run, default "100,1000"), BENCH_MEMORY
//! (request counts for the memory figures, default "1000,10000"), BENCH_SAMPLES (single-object
//! latency samples, default 50), BENCH_CONCURRENCY (operator and floor concurrency, default 16),
//! BENCH_LOG (the operator's --log, default warn), BENCH_UNRELATED_SECRETS (Secrets no object names
//! for the start-up figures, default 1000), BENCH_UNRELATED_SECRET_KB (their size, default 300),
//! BENCH_SHARDS (requests for the one-shard-against-two run, default 10000), BENCH_ALLOCATORS
//! (other builds of the operator for the memory figures, `name=path,...`; hack/bench.sh builds
//! `--features mimalloc` and `--features jemalloc`).
//! A phase is skipped with "none" (sizes, memory, unrelated Secrets) or 0 (samples), e.g.
//! `BENCH_SIZES=none BENCH_MEMORY=none BENCH_SAMPLES=0` runs the unrelated Secrets phase alone.

use cloudlink_testkit as support;

mod latency;
mod measure;
mod objects;
mod runs;
mod shards;
mod startup;

use measure::*;
use objects::*;
use startup::{SETTLE, UNRELATED_NAMESPACES, UNRELATED_RUN_OBJECTS};

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use cloudlink::api::{Cloudpipe, TenantConnectionRequest};
use cloudlink_cloud::ecl::CreateTenantConnectionRequest;
use cloudlink_cloud::{CloudSession, CloudpipeApi, EclClient, NovaClient, TenantConnectionApi};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
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
    let shards = numbers(&knob("BENCH_SHARDS", "10000"));
    let mut builds = vec![(
        "glibc malloc, trimmed every 5 s (the default build)".to_owned(),
        support::operator::binary(),
    )];
    for build in knob("BENCH_ALLOCATORS", "")
        .split(',')
        .filter(|b| !b.is_empty())
    {
        let (name, path) = build
            .split_once('=')
            .expect("BENCH_ALLOCATORS: name=path,...");
        builds.push((name.to_owned(), path.to_owned()));
    }
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
    warm_up(&client).await;
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
            "| N per kind | objects | operator: all ids | floor: all ids | ratio | safe floor: all ids | ratio to the safe floor | operator: all Ready |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut call_rows = Vec::new();
        let mut steady_rows = Vec::new();
        let mut delete_rows = Vec::new();
        let mut usage_rows = Vec::new();
        for &n in &sizes {
            let run = bench.operator_run(n).await;
            let (floor, floor_usage) = bench.floor_run(n, false).await;
            let (safe, safe_usage) = bench.floor_run(n, true).await;
            println!(
                "| {n} | {} | {:.2} s | {:.2} s | {:.2} | {:.2} s | {:.2} | {:.2} s |",
                2 * n,
                run.ids.as_secs_f64(),
                floor.as_secs_f64(),
                run.ids.as_secs_f64() / floor.as_secs_f64(),
                safe.as_secs_f64(),
                run.ids.as_secs_f64() / safe.as_secs_f64(),
                run.ready.as_secs_f64()
            );
            call_rows.push((n, run.create_calls));
            steady_rows.push((n, run.steady_calls, run.steady_ticks));
            delete_rows.push((n, run.deleted, run.delete_calls));
            usage_rows.push((n, [run.usage, floor_usage, safe_usage]));
        }
        print_usage(&usage_rows);

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
        println!(
            "\n## Deletion (every object deleted at once; cloud calls per object until all are gone)\n"
        );
        println!("| N per kind | all gone | route | calls | per object |");
        println!("|---:|---:|---|---:|---:|");
        for (n, deleted, calls) in &delete_rows {
            for (route, count) in calls {
                println!(
                    "| {n} | {:.2} s | {route} | {count} | {:.2} |",
                    deleted.as_secs_f64(),
                    *count as f64 / *n as f64
                );
            }
        }
    }

    if samples > 0 {
        let run = bench.latency(samples).await;
        let floor = bench.latency_floor(samples).await;
        println!(
            "\n## Latency: create → status.id, one object at a time ({samples} TenantConnectionRequests)\n"
        );
        println!(
            "The latency floor is a bare client taking the operator's create path and nothing else: a watch"
        );
        println!(
            "sees the request, a metadata patch records the intent, the cloud's POST, a status patch with"
        );
        println!(
            "the id. Its overhead is the API server's (two watch deliveries, two patches); the operator's"
        );
        println!("own time is the difference.\n");
        println!(
            "| client | p50 | p99 | cloud calls on the path | p50 overhead (minus {latency} ms per call) |"
        );
        println!("|---|---:|---:|---:|---:|");
        for (client, run) in [("operator", &run), ("latency floor", &floor)] {
            let (p50, p99) = (quantile(&run.ids, 0.50), quantile(&run.ids, 0.99));
            let overhead = ms(p50) - latency as f64 * run.calls_on_path;
            println!(
                "| {client} | {:.1} ms | {:.1} ms | {:.1} | {overhead:.1} ms |",
                ms(p50),
                ms(p99),
                run.calls_on_path
            );
        }
        println!(
            "\nThe operator's own time at p50: {:.1} ms.",
            ms(quantile(&run.ids, 0.50)) - ms(quantile(&floor.ids, 0.50))
        );
        // The whole distribution: a p50 alone hides whether the samples fall in two groups.
        for (client, run) in [("operator", &run), ("latency floor", &floor)] {
            let all: Vec<String> = run.ids.iter().map(|t| format!("{:.0}", ms(*t))).collect();
            println!(
                "\nAll samples of the {client}, sorted (ms): {}",
                all.join(", ")
            );
        }
        println!(
            "\n## Latency: create → Ready, the same {samples} requests (the cloud's own lifecycle: {:.0} ms)\n",
            ms(TCR_LIFECYCLE)
        );
        println!("| p50 | p99 | p50 / the cloud's lifecycle |");
        println!("|---:|---:|---:|");
        let ready_p50 = quantile(&run.ready, 0.50);
        println!(
            "| {:.0} ms | {:.0} ms | {:.2} |",
            ms(ready_p50),
            ms(quantile(&run.ready, 0.99)),
            ready_p50.as_secs_f64() / TCR_LIFECYCLE.as_secs_f64()
        );
    }

    if !memory.is_empty() {
        println!("\n## Memory by allocator (operator RSS, Ready requests)\n");
        println!(
            "Steady is VmRSS 10 s after the last request is Ready; peak is VmHWM, the highest so far;"
        );
        println!(
            "idle is VmRSS 75 s after the last Ready, once the engine has let its last reading go.\n"
        );
        println!("| build | objects | steady RSS (VmRSS) | peak (VmHWM) | idle RSS (VmRSS) |");
        println!("|---|---:|---:|---:|---:|");
        for (name, binary) in &builds {
            for figures in bench.memory(binary.clone(), &memory).await {
                println!(
                    "| {name} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
                    figures.objects,
                    mib(figures.steady),
                    mib(figures.peak),
                    mib(figures.idle)
                );
            }
        }
    }

    for &n in &shards {
        println!(
            "\n## Sharding: {n} requests (half labelled `sharding.cloudlink.dev/key=s1`) on one operator and on two shards\n"
        );
        println!(
            "The requests exist before the operators start; time counts from their start to every request Ready.\n"
        );
        println!("| replicas | all Ready | per replica: steady RSS (VmRSS) / peak (VmHWM) |");
        println!("|---:|---:|---|");
        for (replicas, run) in [1, 2].into_iter().zip(bench.shards(n).await) {
            let memory: Vec<String> = run
                .memory
                .iter()
                .map(|(steady, peak)| format!("{:.1} / {:.1} MiB", mib(*steady), mib(*peak)))
                .collect();
            println!(
                "| {replicas} | {:.2} s | {} |",
                run.ready.as_secs_f64(),
                memory.join("; ")
            );
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

/// Where the throughput runs' time went: CPU seconds by process, and the API server's requests
/// per object, for the operator and both floors.
fn print_usage(rows: &[(usize, [Usage; 3])]) {
    let runs = ["operator", "floor", "safe floor"];
    println!(
        "\n## Where the time went while creating (CPU seconds by process; the machine has {} cores)\n",
        num_cpus()
    );
    println!("The operator's run counts to every object Ready; each floor's to every id.\n");
    println!("| N per kind | process | operator | floor | safe floor |");
    println!("|---:|---|---:|---:|---:|");
    for (n, usage) in rows {
        for name in union(usage.iter().map(|u| &u.cpu)) {
            let cells: Vec<String> = usage
                .iter()
                .map(|u| format!("{:.1} s", u.cpu.get(name).copied().unwrap_or(0.0)))
                .collect();
            println!("| {n} | {name} | {} |", cells.join(" | "));
        }
        let totals: Vec<String> = usage
            .iter()
            .map(|u| format!("{:.1} s", u.cpu.values().sum::<f64>()))
            .collect();
        println!("| {n} | **all** | {} |", totals.join(" | "));
    }
    println!(
        "\n## API server requests per object while creating ({})\n",
        runs.join(", ")
    );
    println!("| N per kind | verb and resource | operator | floor | safe floor |");
    println!("|---:|---|---:|---:|---:|");
    for (n, usage) in rows {
        let keys = union(usage.iter().map(|u| &u.requests));
        let objects = 2.0 * *n as f64;
        for key in keys {
            let per_object: Vec<f64> = usage
                .iter()
                .map(|u| u.requests.get(key).copied().unwrap_or(0.0) / objects)
                .collect();
            // Only what the runs ask for: the control plane's own housekeeping (the deletion of an
            // earlier run's namespace touches every resource type) is not theirs.
            let resource = key.split_once(' ').map_or("", |(_, r)| r);
            let ours = [
                "tenantconnectionrequests",
                "cloudpipes",
                "events",
                "secrets",
                "leases",
            ]
            .iter()
            .any(|r| resource.split('/').next() == Some(*r));
            if !ours || per_object.iter().all(|&p| p < 0.005) {
                continue;
            }
            let cells: Vec<String> = per_object.iter().map(|p| format!("{p:.2}")).collect();
            println!("| {n} | {key} | {} |", cells.join(" | "));
        }
    }
}

/// Every key of any of `maps`, sorted, once.
fn union<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, f64>>) -> Vec<&'a String> {
    let keys: std::collections::BTreeSet<&String> = maps.flat_map(|m| m.keys()).collect();
    keys.into_iter().collect()
}

/// The `q` quantile of sorted samples (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
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
    /// Deleting every object at once: until all are gone, and the cloud calls meanwhile.
    deleted: Duration,
    delete_calls: BTreeMap<String, u64>,
    /// From the first create to every object Ready.
    usage: Usage,
}

/// The emulator's own lifecycle of a tenant connection request with its default delays
/// (`--tcr-registering-delay 500ms`, `--tcr-registered-delay 500ms`): POST → `registered`.
const TCR_LIFECYCLE: Duration = Duration::from_millis(1000);

/// Resync period of the throughput runs' operators: short, so that the steady state is measured
/// in the same run.
const RESYNC_SECONDS: u64 = 10;
