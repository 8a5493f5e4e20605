//! Latency: single requests one after the other, through the operator and through the latency
//! floor, a bare client that takes the operator's create path and nothing else.

use super::*;

pub(crate) struct LatencyRun {
    /// Create → the watch shows `status.id`, sorted.
    pub(crate) ids: Vec<Duration>,
    /// Create → the watch shows `Ready=True`, sorted (empty for the floor).
    pub(crate) ready: Vec<Duration>,
    /// Cloud calls on the id's path per sample.
    pub(crate) calls_on_path: f64,
}

impl Bench {
    pub(crate) async fn latency(&self, samples: usize) -> LatencyRun {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-latency");
        self.secret(&ns.name);
        let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let mut operator = self.start_operator(Some(&ns.name), "10m");
        self.wait_ready(&operator).await;
        let before = self.cloud.counters().await;
        let (mut ids, mut ready) = self.samples(&api, &ns.name, samples, Until::Ready).await;
        let after = self.cloud.counters().await;
        operator.terminate();
        // Cloud calls before the id is known: the POST (a first create needs no lookup; the
        // LISTs that follow are the polls until Ready).
        let calls = delta(&before, &after);
        let calls_on_path =
            calls.get("ecl.tcr.create").copied().unwrap_or(0) as f64 / samples as f64;
        ids.sort();
        ready.sort();
        LatencyRun {
            ids,
            ready,
            calls_on_path,
        }
    }

    /// The latency floor: what no operator can do without on a create, timed the same way. A
    /// watch sees the new request, a metadata patch records the intent (as the finalizer does),
    /// the cloud's POST, a status patch with the id. The difference to the operator's samples is
    /// the operator's own time; the floor's overhead beyond the cloud's latency is the API
    /// server's (two watch deliveries and two patches).
    pub(crate) async fn latency_floor(&self, samples: usize) -> LatencyRun {
        self.cloud.reset().await;
        let ns = TestNamespace::new("bench-latency-floor");
        let api: Api<TenantConnectionRequest> = Api::namespaced(self.client.clone(), &ns.name);
        let session =
            CloudSession::from_clouds_yaml(&self.cloud.clouds_yaml(&ADMIN), "emulator", None)
                .expect("session");
        session.project_id().await.expect("token"); // the operator, too, holds a token
        let reactor = tokio::spawn(floor_reactor(api.clone(), session));
        let (mut ids, _) = self.samples(&api, &ns.name, samples, Until::Ids).await;
        reactor.abort();
        ids.sort();
        LatencyRun {
            ids,
            ready: Vec::new(),
            calls_on_path: 1.0,
        }
    }

    /// `samples` requests, one after the other: create → id seen, and create → Ready seen.
    async fn samples(
        &self,
        api: &Api<TenantConnectionRequest>,
        namespace: &str,
        samples: usize,
        until: Until,
    ) -> (Vec<Duration>, Vec<Duration>) {
        let (mut ids, mut ready) = (Vec::new(), Vec::new());
        for i in 0..samples {
            let name = format!("single-{i}");
            let watch = Progress::watch_kind::<TenantConnectionRequest>(
                self.client.clone(),
                namespace,
                Some(&name),
                1,
                until,
            )
            .await;
            let object = request_object(&name);
            // A user applies at any moment, not just after the operator's last poll: each sample
            // starts at a random point of the operator's in-flight tick, or the samples would all
            // fall at the same point of it and measure that point only.
            tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 500)).await;
            let started = Instant::now();
            api.create(&PostParams::default(), &object)
                .await
                .expect("create");
            // With `Until::Ready` the watch ends once the object is Ready as well, so that its
            // polls do not overlap the next sample.
            let (id_seen, ready_seen) = watch.await.expect("watch");
            ids.push(id_seen - started);
            if until == Until::Ready {
                ready.push(ready_seen - started);
            }
        }
        (ids, ready)
    }
}

/// The latency floor's client: for every new request its watch shows, the intent patch, the
/// cloud's POST and the status patch, each request on a task of its own.
async fn floor_reactor(api: Api<TenantConnectionRequest>, session: CloudSession) {
    use kube::runtime::WatchStreamExt;
    let mut seen = std::collections::HashSet::new();
    let mut objects =
        std::pin::pin!(watcher(api.clone(), watcher::Config::default()).applied_objects());
    while let Ok(Some(object)) = objects.try_next().await {
        let name = object.name_any();
        if object.status.as_ref().is_some_and(|s| s.id.is_some()) || !seen.insert(name.clone()) {
            continue;
        }
        let (api, session) = (api.clone(), session.clone());
        tokio::spawn(async move {
            let intent = Patch::Merge(
                json!({"metadata": {"annotations": {"bench.cloudlink.dev/intent": "create"}}}),
            );
            api.patch(&name, &PatchParams::default(), &intent)
                .await
                .expect("intent patch");
            let body = CreateTenantConnectionRequest {
                tenant_id_other: OWNER.project_id.to_owned(),
                network_id: network_id(),
                name: Some(name.clone()),
                ..Default::default()
            };
            let id = EclClient::new(&session)
                .create_request(&body)
                .await
                .expect("floor create")
                .id;
            let patch = Patch::Merge(json!({"status": {"id": id}}));
            api.patch_status(&name, &PatchParams::default(), &patch)
                .await
                .expect("floor patch");
        });
    }
}
