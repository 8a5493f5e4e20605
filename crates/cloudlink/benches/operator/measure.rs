//! What the figures are read from: /proc for memory, a watch for progress, the emulator's counters.

use super::*;

pub(crate) fn rss(pid: u32) -> u64 {
    proc_status(pid, "VmRSS:")
}

/// The highest RSS the process has had (its "high water mark").
pub(crate) fn peak_rss(pid: u32) -> u64 {
    proc_status(pid, "VmHWM:")
}

/// A memory figure of /proc/PID/status, in bytes.
pub(crate) fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn delta(before: &Value, after: &Value) -> BTreeMap<String, u64> {
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

/// When every object first showed `status.id`, and when every object was first Ready, as a
/// watch on the namespace sees it. Each function returns once the watch is established, so that
/// nothing the operator writes afterwards is missed.
pub(crate) struct Progress;

/// What a progress watch waits for: every id (the floors, whose objects never become Ready), or
/// every id and every Ready (the operator).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Until {
    Ids,
    Ready,
}

type FirstSeen = tokio::task::JoinHandle<(Instant, Instant)>;

impl Progress {
    pub(crate) async fn watch(
        client: Client,
        namespace: &str,
        expected: usize,
        until: Until,
    ) -> FirstSeen {
        let requests = Self::watch_kind::<TenantConnectionRequest>(
            client.clone(),
            namespace,
            None,
            expected / 2,
            until,
        )
        .await;
        let pipes =
            Self::watch_kind::<Cloudpipe>(client, namespace, None, expected / 2, until).await;
        tokio::spawn(async move {
            let (r, p) = (requests.await.expect("watch"), pipes.await.expect("watch"));
            (r.0.max(p.0), r.1.max(p.1))
        })
    }

    pub(crate) async fn watch_kind<K>(
        client: Client,
        namespace: &str,
        name: Option<&str>,
        expected: usize,
        until: Until,
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
            while ids.len() < expected || (until == Until::Ready && ready.len() < expected) {
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

/// Where the machine's time and the API server's requests went during a run: CPU seconds (user
/// and system) by process of the test world, and the API server's requests by verb and resource
/// (its own `apiserver_request_total`), read before and after.
#[derive(Default)]
pub(crate) struct Usage {
    pub(crate) cpu: BTreeMap<String, f64>,
    pub(crate) requests: BTreeMap<String, f64>,
}

impl Usage {
    pub(crate) async fn now(client: &Client) -> Usage {
        Usage {
            cpu: cpu_seconds(),
            requests: api_requests(client).await,
        }
    }

    /// What was used since `before`.
    pub(crate) async fn since(before: &Usage, client: &Client) -> Usage {
        let after = Usage::now(client).await;
        let minus = |after: BTreeMap<String, f64>, before: &BTreeMap<String, f64>| {
            after
                .into_iter()
                .map(|(k, v)| {
                    let was = before.get(&k).copied().unwrap_or(0.0);
                    (k, v - was)
                })
                .filter(|(_, v)| *v > 0.0)
                .collect()
        };
        Usage {
            cpu: minus(after.cpu, &before.cpu),
            requests: minus(after.requests, &before.requests),
        }
    }
}

/// CPU seconds used so far by each process of the test world. The benchmark's own process holds
/// the emulator (in-process) and the clients that create and watch the objects (and, for the
/// floors, do their work).
fn cpu_seconds() -> BTreeMap<String, f64> {
    // /proc counts in clock ticks; USER_HZ is 100 on every Linux ABI Rust supports.
    const TICKS_PER_SECOND: f64 = 100.0;
    let me = std::process::id().to_string();
    let mut seconds = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "PID (comm) state ppid ...": comm may hold spaces, so split at its last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let name = if pid == me {
            "benchmark (emulator, clients)"
        } else {
            match comm {
                "cloudlink" => "operator",
                "kube-apiserver" => "kube-apiserver",
                "etcd" => "etcd",
                "kube-controller" => "kube-controller-manager",
                _ => continue,
            }
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After comm: state is field 3 of stat(5), utime 14 and stime 15.
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
            .sum();
        *seconds.entry(name.to_owned()).or_insert(0.0) += ticks as f64 / TICKS_PER_SECOND;
    }
    seconds
}

/// The API server's requests so far, by verb and resource (`PATCH tenantconnectionrequests/status`),
/// from its Prometheus metrics. Watches count once, when they open.
async fn api_requests(client: &Client) -> BTreeMap<String, f64> {
    let request = axum::http::Request::get("/metrics")
        .body(Vec::new())
        .expect("a request");
    let text = client.request_text(request).await.unwrap_or_default();
    let mut requests = BTreeMap::new();
    for line in text.lines() {
        let Some(labels) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, count)) = labels.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(&format!("{name}=\"")))
                .map_or("", |v| v.trim_end_matches('"'))
        };
        let resource = match (label("resource"), label("subresource")) {
            ("", _) => continue, // /metrics, /healthz and the like
            (resource, "") => resource.to_owned(),
            (resource, sub) => format!("{resource}/{sub}"),
        };
        let key = format!("{} {resource}", label("verb"));
        *requests.entry(key).or_insert(0.0) += count.parse::<f64>().unwrap_or(0.0);
    }
    requests
}
