//! Start-up figures with Secrets that no object names (as Helm keeps its releases).

use super::*;

/// Ready requests in the unrelated-Secrets phase's own namespace: the operator has work of its own
/// and reads the one Secret they name.
pub(crate) const UNRELATED_RUN_OBJECTS: usize = 100;
/// The unrelated Secrets are spread over this many namespaces.
pub(crate) const UNRELATED_NAMESPACES: usize = 10;
/// How long after `/readyz` the steady RSS is read: the start-up LISTs are over and the heap has
/// been trimmed (every 5 s) several times. A settling time for a figure, not a test.
pub(crate) const SETTLE: Duration = Duration::from_secs(30);

/// One start of a cluster-wide operator.
pub(crate) struct StartFigures {
    /// From the process's start to the first 200 from `/readyz`.
    pub(crate) ready: Duration,
    /// VmHWM at the end of the settling time.
    pub(crate) peak: u64,
    /// VmRSS at the end of the settling time.
    pub(crate) steady: u64,
}

impl Bench {
    /// A cluster-wide operator started without, then with, `count` Secrets of `size` random bytes
    /// that no object names, in namespaces of their own (as Helm keeps its releases).
    pub(crate) async fn unrelated_secrets(&self, count: usize, size: usize) -> [StartFigures; 2] {
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
            Until::Ready,
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
    pub(crate) async fn cluster_wide_start(&self) -> (StartFigures, Operator) {
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
    pub(crate) async fn create_unrelated_secrets(
        &self,
        count: usize,
        size: usize,
    ) -> Vec<TestNamespace> {
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
