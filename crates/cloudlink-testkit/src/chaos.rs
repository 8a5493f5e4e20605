//! The chaos suite's machinery (`tests/chaos.rs`): sizes and seeds from the environment (short by
//! default, the sizes from `hack/chaos.sh`), a control plane of one's own for the scenario
//! that restarts kube-apiserver, a fleet of TenantConnectionRequests read through the API, the
//! cloud's census (duplicates, orphans, leaks), a watch that remembers every condition and id an
//! object ever showed, and the figures each scenario prints on stdout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::cluster::TestNamespace;
use super::emulator::{ADMIN, Emulator, OWNER};
use super::operator::Operator;

/// The tag cloudlink writes into every request it creates: the object's UID.
pub const UID_TAG: &str = "cloudlink.dev/uid";

/// Condition reasons that must never be seen where the scenario promises transparency.
pub const ERROR_REASONS: [&str; 4] = [
    "TransientError",
    "InvalidConfiguration",
    "UnrecoverableError",
    "APIRemoved",
];

/// `CLOUDLINK_CHAOS_<NAME>` if set (hack/chaos.sh sets the long sizes), else the short default.
pub fn knob(name: &str, short: u64) -> u64 {
    let var = format!("CLOUDLINK_CHAOS_{name}");
    match std::env::var(&var) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var}={text:?} is not a number")),
        _ => short,
    }
}

/// The seed every random choice of a scenario derives from (`CLOUDLINK_CHAOS_SEED`).
pub fn seed() -> u64 {
    knob("SEED", 20_260_601)
}

/// How long a scenario may take to converge after its last disturbance (`CLOUDLINK_CHAOS_DEADLINE_S`).
pub fn deadline(short_s: u64) -> Duration {
    Duration::from_secs(knob("DEADLINE_S", short_s))
}

/// The scenarios share two cores with everything else: one at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// A control plane: its admin kubeconfig and a client for it.
#[derive(Clone)]
pub struct Plane {
    pub kubeconfig: PathBuf,
    pub client: kube::Client,
}

impl Plane {
    /// The control plane `hack/test.sh` started for the whole test run.
    pub async fn shared() -> Plane {
        Plane::at(&super::cluster::kubeconfig()).await
    }

    pub async fn at(kubeconfig: &Path) -> Plane {
        let config =
            kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig is readable");
        let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
            .await
            .expect("kubeconfig is valid");
        Plane {
            kubeconfig: kubeconfig.to_owned(),
            client: kube::Client::try_from(config).expect("kube client"),
        }
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        super::cluster::kubectl_at(&self.kubeconfig, args, stdin)
    }

    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        super::cluster::kubectl_ok_at(&self.kubeconfig, args, stdin)
    }

    /// The committed CRDs, served.
    pub fn install_crds(&self) {
        super::cluster::install_crds_at(&self.kubeconfig);
    }

    /// Who holds the Lease (`cloudlink-PID-…`), if anyone.
    pub async fn lease_holder(&self, namespace: &str, name: &str) -> Option<String> {
        let lease = Api::<Lease>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .ok()??;
        lease.spec?.holder_identity.filter(|h| !h.is_empty())
    }
}

fn control_plane_script() -> String {
    format!("{}/hack/control-plane.sh", crate::REPO)
}

/// etcd, kube-apiserver and kube-controller-manager of this scenario alone (`hack/control-plane.sh
/// up` in a temporary directory), stopped when dropped: restarting the API server of the shared
/// control plane would break every test running beside this one.
pub struct OwnPlane {
    pub plane: Plane,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl OwnPlane {
    pub async fn up() -> OwnPlane {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("control-plane");
        let guard = Down(dir.clone());
        let up = Command::new(control_plane_script())
            .args(["up", dir.to_str().unwrap()])
            .status()
            .expect("run control-plane.sh");
        assert!(
            up.success(),
            "a control plane of the scenario's own did not start"
        );
        std::mem::forget(guard);
        let plane = Plane::at(&dir.join("kubeconfig")).await;
        OwnPlane {
            plane,
            dir,
            _tmp: tmp,
        }
    }

    /// `hack/control-plane.sh restart-apiserver`: stops kube-apiserver (etcd keeps the data) and
    /// starts it again; returns once it answers `/readyz` again.
    pub fn restart_apiserver(&self) {
        let status = Command::new(control_plane_script())
            .args(["restart-apiserver", self.dir.to_str().unwrap()])
            .status()
            .expect("run control-plane.sh");
        assert!(status.success(), "kube-apiserver did not come back");
    }
}

struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new(control_plane_script())
            .args(["down", self.0.to_str().unwrap()])
            .stdout(Stdio::null())
            .status();
    }
}

impl Drop for OwnPlane {
    fn drop(&mut self) {
        drop(Down(self.dir.clone()));
    }
}

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

    /// Watches the objects from now on and remembers what they showed (see [`Watched`]).
    pub fn watch(&self) -> Watch {
        let seen = Arc::new(Mutex::new(Watched::default()));
        let record = seen.clone();
        let stream = watcher(self.api.clone(), watcher::Config::default())
            .default_backoff()
            .applied_objects();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            loop {
                match stream.try_next().await {
                    Ok(Some(object)) => record
                        .lock()
                        .unwrap()
                        .record(&serde_json::to_value(object).unwrap_or_default()),
                    Ok(None) => return,
                    Err(_) => {} // the backoff retries; the API server may be down on purpose
                }
            }
        });
        Watch { seen, task }
    }
}

/// What a watch saw: every error reason any condition showed, every id each object had.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    /// `name: Type=Reason: message`, first occurrence of each.
    pub errors: BTreeSet<String>,
    /// status.id values by object UID.
    pub ids: BTreeMap<String, BTreeSet<String>>,
    /// Objects (UIDs) that were Ready=True at least once.
    pub ever_ready: BTreeSet<String>,
    /// Times an object went from Ready=True back to Ready=False.
    pub ready_lost: u64,
    ready_now: BTreeMap<String, bool>,
    pub updates: u64,
}

impl Watched {
    fn record(&mut self, object: &Value) {
        self.updates += 1;
        let name = object["metadata"]["name"].as_str().unwrap_or("?");
        for condition in object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reason = condition["reason"].as_str().unwrap_or("");
            if ERROR_REASONS.contains(&reason) {
                let message = condition["message"].as_str().unwrap_or("");
                self.errors.insert(format!(
                    "{name}: {}={reason}: {message}",
                    condition["type"].as_str().unwrap_or("?")
                ));
            }
        }
        let Some(uid) = object["metadata"]["uid"].as_str() else {
            return;
        };
        if let Some(id) = object["status"]["id"].as_str() {
            self.ids
                .entry(uid.to_owned())
                .or_default()
                .insert(id.to_owned());
        }
        let ready =
            super::scenario::condition_of(object, "Ready").is_some_and(|c| c["status"] == "True");
        if ready {
            self.ever_ready.insert(uid.to_owned());
        }
        if self.ready_now.insert(uid.to_owned(), ready) == Some(true) && !ready {
            self.ready_lost += 1;
        }
    }

    /// Objects that pointed at more than one cloud resource over the run.
    pub fn id_changes(&self) -> usize {
        self.ids.values().filter(|ids| ids.len() > 1).count()
    }
}

pub struct Watch {
    seen: Arc<Mutex<Watched>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    pub fn seen(&self) -> Watched {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Objects and cloud resources, compared.
#[derive(Clone, Debug, Default)]
pub struct Census {
    pub objects: usize,
    pub ready: usize,
    /// Cloud requests.
    pub resources: usize,
    /// Resources beyond the first carrying the same object's UID tag.
    pub duplicates: usize,
    /// Resources without a live object's UID tag.
    pub orphans: usize,
    /// Objects whose status.id is not the resource tagged with their UID.
    pub mismatched: usize,
    /// Objects not Ready, with their Ready condition.
    pub not_ready: Vec<String>,
}

impl Census {
    pub fn of(objects: &[Value], cloud: &[Value]) -> Census {
        let mut by_uid: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut untagged = 0;
        for resource in cloud {
            match resource["tags"][UID_TAG].as_str() {
                Some(uid) => by_uid
                    .entry(uid)
                    .or_default()
                    .push(resource["id"].as_str().unwrap_or("")),
                None => untagged += 1,
            }
        }
        let live: BTreeSet<&str> = objects
            .iter()
            .filter_map(|o| o["metadata"]["uid"].as_str())
            .collect();
        let mut census = Census {
            objects: objects.len(),
            resources: cloud.len(),
            duplicates: by_uid.values().map(|ids| ids.len() - 1).sum(),
            orphans: untagged
                + by_uid
                    .iter()
                    .filter(|(uid, _)| !live.contains(*uid))
                    .map(|(_, ids)| ids.len())
                    .sum::<usize>(),
            ..Census::default()
        };
        for object in objects {
            let name = object["metadata"]["name"].as_str().unwrap_or("?");
            let ready = super::scenario::condition_of(object, "Ready");
            if ready.is_some_and(|c| c["status"] == "True") {
                census.ready += 1;
            } else {
                census.not_ready.push(format!(
                    "{name}: {}",
                    ready
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "no Ready condition".into())
                ));
            }
            let uid = object["metadata"]["uid"].as_str().unwrap_or("");
            let id = object["status"]["id"].as_str();
            if id.is_some()
                && by_uid
                    .get(uid)
                    .is_none_or(|ids| !ids.contains(&id.unwrap_or("")))
            {
                census.mismatched += 1;
            }
        }
        census
    }

    pub fn converged(&self, n: usize) -> bool {
        self.objects == n
            && self.ready == n
            && self.resources == n
            && self.duplicates == 0
            && self.orphans == 0
            && self.mismatched == 0
    }

    /// The first few objects that are not Ready, for a failure message.
    pub fn stragglers(&self) -> String {
        self.not_ready
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    }
}

/// What deleting every object left behind.
#[derive(Clone, Debug)]
pub struct Remains {
    /// Objects still there.
    pub objects: usize,
    /// Cloud requests still there (leaks).
    pub cloud: Vec<Value>,
}

/// The checks every scenario closes with: the fleet converged (`unconverged` says what failed to
/// happen), no object ever pointed at a second cloud resource, and deleting the objects left
/// neither an object nor a cloud resource.
pub fn assert_closing(
    unconverged: &str,
    census: &Census,
    converged: bool,
    seen: &Watched,
    remains: &Remains,
) {
    assert!(
        converged,
        "{unconverged}: {census:?}\n  {}",
        census.stragglers()
    );
    assert_eq!(
        seen.id_changes(),
        0,
        "an object pointed at two cloud resources: {:?}",
        seen.ids
    );
    assert_eq!(remains.objects, 0, "objects still there after deletion");
    assert!(
        remains.cloud.is_empty(),
        "cloud resources left after every object was deleted: {:?}",
        remains.cloud
    );
}

/// One scenario's figures, printed as one line `CHAOS <scenario> key=value …` (hack/chaos.sh
/// collects these lines).
pub struct Figures {
    scenario: &'static str,
    items: Vec<(String, String)>,
}

impl Figures {
    pub fn new(scenario: &'static str) -> Figures {
        Figures {
            scenario,
            items: Vec::new(),
        }
    }

    pub fn add(&mut self, key: &str, value: impl Display) -> &mut Figures {
        self.items.push((key.to_owned(), value.to_string()));
        self
    }

    /// The figures every scenario reports about how it ended: the cloud beside the objects at
    /// convergence, and what deleting them left.
    pub fn ending(&mut self, census: &Census, seen: &Watched, remains: &Remains) -> &mut Figures {
        self.add("resources", census.resources)
            .add("duplicates", census.duplicates + seen.id_changes())
            .add("orphans", census.orphans)
            .add("not_ready", census.objects - census.ready)
            .add("leaks_after_delete", remains.cloud.len())
    }

    pub fn secs(&mut self, key: &str, elapsed: Duration) -> &mut Figures {
        self.add(key, format!("{:.1}s", elapsed.as_secs_f64()))
    }

    pub fn print(&self) {
        let items: Vec<String> = self.items.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("CHAOS {} {}", self.scenario, items.join(" "));
    }
}

/// Requests the emulator answered with an injected-looking failure (429, 500, 503, or a dropped
/// connection), summed over every route: `{"429": n, …}`.
pub fn failures_answered(counters: &Value) -> BTreeMap<String, u64> {
    let mut sums = BTreeMap::new();
    for by_outcome in counters.as_object().into_iter().flat_map(|m| m.values()) {
        for (outcome, n) in by_outcome.as_object().into_iter().flatten() {
            if ["429", "500", "503", "reset"].contains(&outcome.as_str()) {
                *sums.entry(outcome.clone()).or_default() += n.as_u64().unwrap_or(0);
            }
        }
    }
    sums
}

/// Sum of a metric's samples whose label set contains every `labels` fragment (e.g. `code="timeout"`).
pub async fn metric(operator: &Operator, name: &str, labels: &[&str]) -> f64 {
    let Ok(response) = reqwest::get(format!("{}/metrics", operator.http_url())).await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter(|line| labels.iter().all(|l| line.contains(l)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whether a process we started is still running (not exited, not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// The last `lines` lines of an operator's log that mention `needle` (for a report).
pub fn log_excerpt(log: &str, needle: &str, lines: usize) -> String {
    let hits: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
    hits[hits.len().saturating_sub(lines)..].join("\n")
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
