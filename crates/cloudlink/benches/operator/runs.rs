//! The throughput, latency and memory runs: N objects of each kind against one operator.

use super::*;

impl Bench {
    /// An operator watching `namespace`, or every namespace.
    pub(crate) fn start_operator(&self, namespace: Option<&str>, resync: &str) -> Operator {
        self.start_operator_with(namespace, resync, &[])
    }

    /// The same, with `extra` flags.
    pub(crate) fn start_operator_with(
        &self,
        namespace: Option<&str>,
        resync: &str,
        extra: &[&str],
    ) -> Operator {
        self.start_build(support::operator::binary(), namespace, resync, extra)
    }

    /// The same, with this build of `cloudlink`.
    pub(crate) fn start_build(
        &self,
        binary: String,
        namespace: Option<&str>,
        resync: &str,
        extra: &[&str],
    ) -> Operator {
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
        args.extend_from_slice(extra);
        Operator::start_binary_as(binary, &kubeconfig(), &args, &[])
    }

    pub(crate) async fn wait_ready(&self, operator: &Operator) {
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

    pub(crate) fn secret(&self, namespace: &str) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud"},
                            "stringData": {"clouds.yaml": self.cloud.clouds_yaml(&ADMIN)}});
        kubectl_ok(
            &["apply", "-n", namespace, "-f", "-"],
            Some(&secret.to_string()),
        );
    }

    pub(crate) async fn operator_run(&self, n: usize) -> OperatorRun {
        self.cloud.reset().await;
        let ns = TestNamespace::new(&format!("bench-op-{n}"));
        self.secret(&ns.name);
        let mut operator = self.start_operator(Some(&ns.name), &format!("{RESYNC_SECONDS}s"));
        self.wait_ready(&operator).await;
        let before = self.cloud.counters().await;
        let watch = Progress::watch(self.client.clone(), &ns.name, 2 * n, Until::Ready).await;
        let used_before = Usage::now(&self.client).await;
        let started = Instant::now();
        create_objects(&self.client, &ns.name, n, self.concurrency).await;
        let (ids, ready) = watch.await.expect("watch");
        let usage = Usage::since(&used_before, &self.client).await;
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

        // Deletion: every object at once; each waits until its cloud resource is gone.
        let before = self.cloud.counters().await;
        let started = Instant::now();
        delete_objects(&ns.name, false);
        let requests: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let pipes: Api<Cloudpipe> = Api::namespaced(self.client.clone(), &ns.name);
        eventually(DEADLINE, "every object deleted", || async {
            let left = requests
                .list_metadata(&ListParams::default())
                .await
                .ok()?
                .items
                .len()
                + pipes
                    .list_metadata(&ListParams::default())
                    .await
                    .ok()?
                    .items
                    .len();
            (left == 0).then_some(())
        })
        .await;
        let deleted = started.elapsed();
        let delete_calls = delta(&before, &self.cloud.counters().await);
        operator.terminate();
        OperatorRun {
            ids,
            ready,
            create_calls,
            steady_calls,
            steady_ticks,
            deleted,
            delete_calls,
            usage,
        }
    }

    /// The floor: only the unavoidable work per object, one cloud POST and one status patch, at
    /// the same concurrency, through the same cloud client library and API server. The safe
    /// floor (`safe`) adds what a crash-safe protocol cannot do without: one write recording the
    /// intent before the POST (a metadata patch, as cloudlink's finalizer is), so that a crash
    /// after the cloud's create leaves a trace.
    pub(crate) async fn floor_run(&self, n: usize, safe: bool) -> (Duration, Usage) {
        self.cloud.reset().await;
        let kind = if safe { "safe-floor" } else { "floor" };
        let ns = TestNamespace::new(&format!("bench-{kind}-{n}"));
        let session =
            CloudSession::from_clouds_yaml(&self.cloud.clouds_yaml(&ADMIN), "emulator", None)
                .expect("session");
        session.project_id().await.expect("token"); // the operator, too, starts with a token
        // Timed as the operator's run is, by a watch seeing every id: the watch costs the API
        // server work too (every write is sent to it), and that work must weigh on both sides.
        let watch = Progress::watch(self.client.clone(), &ns.name, 2 * n, Until::Ids).await;
        let used_before = Usage::now(&self.client).await;
        let started = Instant::now();
        let names = create_objects(&self.client, &ns.name, n, self.concurrency).await;
        let requests: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let pipes: Api<Cloudpipe> = Api::namespaced(self.client.clone(), &ns.name);
        futures::stream::iter(names)
            .map(|(kind, name)| {
                let (session, requests, pipes) = (session.clone(), requests.clone(), pipes.clone());
                async move {
                    if safe {
                        let intent = Patch::Merge(
                            json!({"metadata": {"annotations": {"bench.cloudlink.dev/intent": "create"}}}),
                        );
                        if kind == "tcr" {
                            requests.patch(&name, &PatchParams::default(), &intent).await.map(|_| ())
                        } else {
                            pipes.patch(&name, &PatchParams::default(), &intent).await.map(|_| ())
                        }
                        .expect("intent patch");
                    }
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
        let (ids, _) = watch.await.expect("watch");
        (
            ids - started,
            Usage::since(&used_before, &self.client).await,
        )
    }

    /// Memory of one build of the operator idle, then with each count of Ready requests: VmRSS
    /// after settling (two of glibc's trim periods, so each allocator has returned what it
    /// returns), VmHWM, the peak so far, and VmRSS once the last reading is let go.
    pub(crate) async fn memory(&self, binary: String, counts: &[usize]) -> Vec<MemoryFigures> {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-memory");
        self.secret(&ns.name);
        let mut operator = self.start_build(binary, Some(&ns.name), "10m", &[]);
        self.wait_ready(&operator).await;
        let figures_now = |objects: usize, operator: &Operator| MemoryFigures {
            objects,
            steady: rss(operator.pid()),
            peak: peak_rss(operator.pid()),
            idle: rss(operator.pid()),
        };
        tokio::time::sleep(MEMORY_SETTLE).await; // a figure for the idle process, not a test
        let mut figures = vec![figures_now(0, &operator)];
        let mut made = 0;
        for &count in counts {
            let watch = Progress::watch_kind::<TenantConnectionRequest>(
                self.client.clone(),
                &ns.name,
                None,
                count,
                Until::Ready,
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
            tokio::time::sleep(MEMORY_SETTLE).await;
            let mut now = figures_now(count, &operator);
            tokio::time::sleep(MEMORY_IDLE - MEMORY_SETTLE).await;
            now.idle = rss(operator.pid());
            figures.push(now);
        }
        operator.terminate();
        figures
    }
}

/// How long the memory figures wait before reading VmRSS: two periods of the trim timer.
const MEMORY_SETTLE: Duration = Duration::from_secs(10);

/// When the idle figure is read, after the last request is Ready: the engine lets a reading go
/// a minute after it was taken (`engine/readings.rs`), and the trim timer returns its pages
/// within 5 s.
const MEMORY_IDLE: Duration = Duration::from_secs(75);

pub(crate) struct MemoryFigures {
    pub(crate) objects: usize,
    pub(crate) steady: u64,
    pub(crate) peak: u64,
    /// VmRSS at [`MEMORY_IDLE`]; the same as `steady` with no objects.
    pub(crate) idle: u64,
}
