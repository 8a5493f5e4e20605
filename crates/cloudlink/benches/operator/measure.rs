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

type FirstSeen = tokio::task::JoinHandle<(Instant, Instant)>;

impl Progress {
    pub(crate) async fn watch(client: Client, namespace: &str, expected: usize) -> FirstSeen {
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

    pub(crate) async fn watch_kind<K>(
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
