//! Sharding: N requests, half of them labelled for shard `s1`, made before any operator runs;
//! then reconciled by one operator watching everything, and (in another namespace) by two
//! shards, `sharding.cloudlink.dev/key=s1` and the default `!sharding.cloudlink.dev/key`.

use super::*;

const KEY: &str = "sharding.cloudlink.dev/key";

/// One way of running the operator over the same N requests.
pub(crate) struct ShardRun {
    /// From the operators' start to every request Ready.
    pub(crate) ready: Duration,
    /// Per replica: steady RSS (VmRSS) and peak (VmHWM) once everything is Ready.
    pub(crate) memory: Vec<(u64, u64)>,
}

impl Bench {
    /// `n` requests on one operator, then on two shards.
    pub(crate) async fn shards(&self, n: usize) -> [ShardRun; 2] {
        let one = self.shard_run(n, &[&[]]).await;
        let selector_s1 = format!("{KEY}=s1");
        let selector_default = format!("!{KEY}");
        let two = self
            .shard_run(
                n,
                &[
                    &["--watch-label-selector", &selector_s1],
                    &["--watch-label-selector", &selector_default],
                ],
            )
            .await;
        [one, two]
    }

    async fn shard_run(&self, n: usize, replicas: &[&[&str]]) -> ShardRun {
        self.cloud.reset().await;
        let ns = TestNamespace::new(&format!("bench-shards-{}", replicas.len()));
        self.secret(&ns.name);
        let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        futures::stream::iter(0..n)
            .map(|i| {
                let api = api.clone();
                async move {
                    let mut object = request_object(&format!("s{i}"));
                    if i % 2 == 0 {
                        object.labels_mut().insert(KEY.to_owned(), "s1".to_owned());
                    }
                    api.create(&PostParams::default(), &object)
                        .await
                        .expect("create")
                }
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        let watch = Progress::watch_kind::<TenantConnectionRequest>(
            self.client.clone(),
            &ns.name,
            None,
            n,
            Until::Ready,
        )
        .await;
        let started = Instant::now();
        let mut operators: Vec<Operator> = replicas
            .iter()
            .map(|extra| self.start_operator_with(Some(&ns.name), "10m", extra))
            .collect();
        let (_, ready) = watch.await.expect("watch");
        let memory = operators
            .iter()
            .map(|o| (rss(o.pid()), peak_rss(o.pid())))
            .collect();
        for operator in &mut operators {
            operator.terminate();
        }
        ShardRun {
            ready: ready - started,
            memory,
        }
    }
}
