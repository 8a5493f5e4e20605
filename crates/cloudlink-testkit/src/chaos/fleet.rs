//! A fleet of TenantConnectionRequests in one namespace, with the emulator they point at: created,
//! listed, converged and deleted through the API.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

use super::census::{Census, Remains};
use super::plane::Plane;
use super::watch::Watch;
use crate::cluster::TestNamespace;
use crate::emulator::{ADMIN, Emulator, OWNER};
use crate::operator::Operator;

/// A namespace with a Secret `cloud` for the emulator's ADMIN, the emulator, and N
/// TenantConnectionRequests `req-000`… each to a network of its own.
pub struct Fleet {
    pub plane: Plane,
    pub ns: String,
    pub cloud: Emulator,
    pub seed: u64,
    api: Api<DynamicObject>,
    _namespace: Option<TestNamespace>,
}

fn tcr_resource() -> ApiResource {
    ApiResource::erase::<cloudlink::api::TenantConnectionRequest>(&())
}

impl Fleet {
    /// On the shared control plane, in a fresh namespace deleted when dropped.
    pub async fn shared(prefix: &str, seed: u64, emulator_args: &[&str]) -> Fleet {
        let plane = Plane::shared().await;
        plane.install_crds();
        let namespace = TestNamespace::new(prefix);
        let ns = namespace.name.clone();
        Fleet::start(plane, ns, Some(namespace), seed, emulator_args)
    }

    /// On a control plane of the scenario's own (gone with it).
    pub async fn on(plane: &Plane, prefix: &str, seed: u64, emulator_args: &[&str]) -> Fleet {
        plane.install_crds();
        let ns = format!("{prefix}-{seed:x}");
        plane.kubectl_ok(&["create", "namespace", &ns], None);
        Fleet::start(plane.clone(), ns, None, seed, emulator_args)
    }

    fn start(
        plane: Plane,
        ns: String,
        namespace: Option<TestNamespace>,
        seed: u64,
        emulator_args: &[&str],
    ) -> Fleet {
        let seed_text = seed.to_string();
        let mut args = vec![
            "--seed",
            &seed_text,
            "--tcr-registering-delay",
            "200ms",
            "--tcr-registered-delay",
            "200ms",
        ];
        args.extend_from_slice(emulator_args);
        let cloud = Emulator::start(&args);
        let api = Api::namespaced_with(plane.client.clone(), &ns, &tcr_resource());
        let fleet = Fleet {
            plane,
            ns,
            cloud,
            seed,
            api,
            _namespace: namespace,
        };
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud"},
                            "stringData": {"clouds.yaml": fleet.cloud.clouds_yaml(&ADMIN)}});
        fleet.plane.kubectl_ok(
            &["apply", "-n", &fleet.ns, "-f", "-"],
            Some(&secret.to_string()),
        );
        fleet
    }

    /// From now on every create commits at once but answers 300 ms later, so that disturbances
    /// land between the cloud's create and the operator's record of it.
    pub async fn slow_creates(&self) {
        self.cloud
            .set_fault(
                "ecl.tcr.create",
                json!({"commit_then_fail": "timeout", "hang_ms": 300}),
            )
            .await;
    }

    /// `cloudlink run` against this fleet's control plane and namespace, with extra flags.
    pub fn operator(&self, extra: &[&str]) -> Operator {
        let mut args = vec!["--namespace", &self.ns, "--log", "info,cloudlink=debug"];
        args.extend_from_slice(extra);
        Operator::start_as(&self.plane.kubeconfig, &args, &[])
    }

    pub fn name(i: usize) -> String {
        format!("req-{i:03}")
    }

    /// Object `i`'s network: distinct per object, the same in every run with this seed.
    pub fn network_id(&self, i: usize) -> String {
        format!(
            "c4a05000-{:04x}-4000-8000-{:012x}",
            i & 0xffff,
            self.seed & 0xffff_ffff_ffff
        )
    }

    pub fn request(&self, i: usize) -> Value {
        let name = Fleet::name(i);
        json!({"apiVersion": "cloudlink.dev/v1alpha1", "kind": "TenantConnectionRequest", "metadata": {"name": name},
               "spec": {"cloudCredentialsRef": {"secretName": "cloud", "cloudName": "emulator"},
                        "resource": {"tenantIdOther": OWNER.project_id, "networkId": self.network_id(i), "name": name,
                                     "tags": {"suite": "chaos"}}}})
    }

    /// Creates objects `range` through the API, 8 at a time (an existing one counts as created).
    pub async fn create(&self, range: Range<usize>) {
        futures::stream::iter(range)
            .map(|i| async move {
                let object: DynamicObject =
                    serde_json::from_value(self.request(i)).expect("a valid object");
                let started = Instant::now();
                loop {
                    match self.api.create(&PostParams::default(), &object).await {
                        Ok(_) => return,
                        Err(kube::Error::Api(e)) if e.code == 409 => return,
                        Err(e) => {
                            assert!(
                                started.elapsed() < Duration::from_secs(60),
                                "cannot create {}: {e}",
                                Fleet::name(i)
                            );
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
    }

    /// Every object as JSON; `None` while the API server does not answer.
    pub async fn objects(&self) -> Option<Vec<Value>> {
        let list = self.api.list(&ListParams::default()).await.ok()?;
        Some(
            list.items
                .into_iter()
                .map(|o| serde_json::to_value(o).expect("objects serialise"))
                .collect(),
        )
    }

    /// The cloud's tenant connection requests.
    pub async fn cloud_requests(&self) -> Vec<Value> {
        self.cloud.state().await["tenant_connection_requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Objects and cloud side by side; `None` while the API server does not answer.
    pub async fn census(&self) -> Option<Census> {
        let objects = self.objects().await?;
        Some(Census::of(&objects, &self.cloud_requests().await))
    }

    /// Polls until `n` objects are all Ready, each with its own cloud resource and nothing else in
    /// the cloud, or `within` passes; returns the last census and whether it converged.
    pub async fn converge(&self, n: usize, within: Duration) -> (Census, bool) {
        self.converge_on(n, within, |_| true).await
    }

    /// [`Fleet::converge`], with one more condition every object must meet.
    pub async fn converge_on(
        &self,
        n: usize,
        within: Duration,
        also: impl Fn(&Value) -> bool,
    ) -> (Census, bool) {
        let start = Instant::now();
        let mut last = Census::default();
        loop {
            if let Some(objects) = self.objects().await {
                let census = Census::of(&objects, &self.cloud_requests().await);
                let extra = objects.iter().all(&also);
                if census.converged(n) && extra {
                    return (census, true);
                }
                last = census;
            }
            if start.elapsed() > within {
                return (last, false);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Polls `check` every 250 ms until it answers `Some`, or `within` passes (then `None`).
    pub async fn until<T, F: std::future::Future<Output = Option<T>>>(
        within: Duration,
        mut check: impl FnMut() -> F,
    ) -> Option<T> {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return Some(value);
            }
            if start.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Deletes every object (the operator then deletes their cloud resources).
    pub async fn delete_all(&self) {
        let started = Instant::now();
        while let Err(e) = self
            .api
            .delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cannot delete the objects: {e}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls until no object is left, or `within` passes; returns how many are left.
    pub async fn drain(&self, within: Duration) -> usize {
        let start = Instant::now();
        loop {
            let left = self.objects().await.map(|o| o.len());
            if left == Some(0) || start.elapsed() > within {
                return left.unwrap_or(usize::MAX);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Deletes every object and waits up to `within` for them to go: see [`Fleet::remains`].
    pub async fn tear_down(&self, within: Duration) -> Remains {
        self.delete_all().await;
        self.remains(within).await
    }

    /// Once the objects are being deleted: waits up to `within` for them to go, then says what
    /// stayed, objects and cloud resources.
    pub async fn remains(&self, within: Duration) -> Remains {
        let objects = self.drain(within).await;
        Remains {
            objects,
            cloud: self.cloud_requests().await,
        }
    }

    /// Events of this namespace by `type/reason`, counting a series as its number of occurrences.
    pub async fn events(&self) -> BTreeMap<String, u64> {
        let api = Api::<k8s_openapi::api::events::v1::Event>::namespaced(
            self.plane.client.clone(),
            &self.ns,
        );
        let mut counts = BTreeMap::new();
        for event in api
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let key = format!(
                "{}/{}",
                event.type_.unwrap_or_default(),
                event.reason.unwrap_or_default()
            );
            let n = event.series.map(|s| s.count.max(1) as u64).unwrap_or(1);
            *counts.entry(key).or_default() += n;
        }
        counts
    }

    /// Watches the objects from now on and remembers what they showed (see [`Watched`](super::watch::Watched)).
    pub fn watch(&self) -> Watch {
        Watch::start(self.api.clone())
    }
}

/// `n` objects cut into `parts` consecutive batches (the first ones one larger).
pub fn batches(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let (size, extra) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let len = size + usize::from(p < extra);
            let range = start..start + len;
            start += len;
            range
        })
        .collect()
}
