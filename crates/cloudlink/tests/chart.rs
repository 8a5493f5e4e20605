//! The Helm chart (`charts/cloudlink`) as a user meets it: `helm lint`, what `helm template` renders
//! for default and non-default values (and that the operator accepts the rendered arguments), bad
//! values refused by values.schema.json with the value's path, and `helm install` into the real
//! control plane (no `--wait`: the test control plane has no kubelet, so no pod ever runs; its
//! ReplicaSet controller still creates the Pods, which PodSecurity admission judges).

use cloudlink_testkit as support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use support::cluster::{TestNamespace, eventually, install_crds, kubectl, kubectl_ok};

const ROOT: &str = support::REPO;
/// `helm template` renders for this cluster version (the newest supported; see K8S_NEWEST in hack/tools.sh).
const KUBE_VERSION: &str = "1.37.0";

fn chart() -> String {
    format!("{ROOT}/charts/cloudlink")
}

fn helm(args: &[&str]) -> Output {
    Command::new("helm")
        .args(args)
        .env("KUBECONFIG", kubeconfig_or_none())
        .output()
        .expect("helm is on PATH (hack/test.sh puts hack/tools.sh's bin dir there)")
}

/// `helm template` and `helm lint` need no cluster: do not require one for them.
fn kubeconfig_or_none() -> String {
    std::env::var("CLOUDLINK_TEST_KUBECONFIG").unwrap_or_else(|_| "/nonexistent/kubeconfig".into())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Renders the chart as release `rel` in namespace `ops` with `--set`-style `values` and returns
/// every object.
fn render(values: &[&str]) -> Vec<Value> {
    let chart = chart();
    let mut args = vec![
        "template",
        "rel",
        chart.as_str(),
        "--namespace",
        "ops",
        "--kube-version",
        KUBE_VERSION,
    ];
    for v in values {
        args.extend(["--set", v]);
    }
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm template {values:?} failed: {}",
        text(&out)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| Value::deserialize(doc).expect("helm renders valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kinds(objects: &[Value]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, namespace: Option<&str>, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
        })
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {namespace:?}/{name} rendered; rendered: {:?}",
                kinds(objects)
            )
        })
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// An RBAC rule list as {(apiGroup, resource, resourceNames) -> verbs}, so order does not matter.
fn rules(role: &Value) -> BTreeMap<(String, String, Vec<String>), BTreeSet<String>> {
    let mut map = BTreeMap::new();
    for rule in role["rules"].as_array().unwrap() {
        let names = rule.get("resourceNames").map(strings).unwrap_or_default();
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                let verbs: &mut BTreeSet<String> = map
                    .entry((group.clone(), resource, names.clone()))
                    .or_default();
                verbs.extend(strings(&rule["verbs"]));
            }
        }
    }
    map
}

/// Exactly what the operator uses in the namespaces it watches (the kinds from its registry).
fn operator_rules() -> BTreeMap<(String, String, Vec<String>), BTreeSet<String>> {
    let mut map = BTreeMap::new();
    let mut grant = |group: &str, resource: &str, verbs: &[&str]| {
        map.insert(
            (group.to_owned(), resource.to_owned(), vec![]),
            verbs.iter().map(|v| v.to_string()).collect(),
        );
    };
    // Every registered kind, and nothing else of cloudlink's group: a kind added to the registry
    // without its RBAC (or RBAC left for a kind that is gone) fails here.
    for kind in cloudlink::kinds::plurals() {
        grant("cloudlink.dev", &kind, &["get", "list", "watch", "patch"]);
        grant("cloudlink.dev", &format!("{kind}/status"), &["patch"]);
    }
    grant("", "secrets", &["get", "list", "watch", "patch"]);
    grant("events.k8s.io", "events", &["create", "patch"]);
    grant("", "configmaps", &["get", "create", "patch"]);
    map
}

fn container(objects: &[Value]) -> &Value {
    let deployment = find(objects, "Deployment", Some("ops"), "rel-cloudlink");
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

/// Runs the operator binary with the rendered arguments (`$(POD_NAMESPACE)` expanded as the kubelet
/// would) and no reachable cluster: it must get past argument parsing (exit 2 is clap's usage
/// error) and fail only for want of a cluster.
fn assert_operator_accepts(args: &[String]) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("$(POD_NAMESPACE)", "ops"))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudlink"))
        .args(&args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("CLOUDLINK_NAMESPACES")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "cloudlink {args:?} should parse and then fail to find a cluster; it said: {stderr}"
    );
    assert!(
        stderr.contains("cannot configure a Kubernetes client"),
        "cloudlink {args:?}: {stderr}"
    );
}

#[test]
fn chart_crds_are_the_repository_crds() {
    let list = |dir: &str| -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect()
    };
    let repo = list(&format!("{ROOT}/crds"));
    let chart = list(&format!("{ROOT}/charts/cloudlink/crds"));
    assert_eq!(
        repo.len(),
        cloudlink::kinds::crds().len(),
        "crds/ should hold one CRD per registered kind"
    );
    assert_eq!(
        repo.keys().collect::<Vec<_>>(),
        chart.keys().collect::<Vec<_>>(),
        "charts/cloudlink/crds/ must hold exactly the files of crds/: run `cp crds/*.yaml charts/cloudlink/crds/`"
    );
    for (file, content) in &repo {
        assert!(
            chart[file] == *content,
            "charts/cloudlink/crds/{file} differs from crds/{file}: run `cp crds/*.yaml charts/cloudlink/crds/`"
        );
    }
}

#[test]
fn chart_app_version_is_the_operator_version() {
    let chart: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(format!("{ROOT}/charts/cloudlink/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        chart["appVersion"],
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml's appVersion (the default image tag) must be Cargo.toml's version"
    );
    assert_eq!(chart["name"], "cloudlink");
}

/// `K8S_NEWEST` or `K8S_OLDEST` from hack/tools.sh (e.g. `v1.33.13`) as its minor version (33).
fn tested_minor(variable: &str) -> u32 {
    let tools = std::fs::read_to_string(format!("{ROOT}/hack/tools.sh")).unwrap();
    let version = tools
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{variable}=")))
        .unwrap_or_else(|| panic!("hack/tools.sh sets no {variable}"));
    version
        .trim()
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("hack/tools.sh: {variable}={version} is not vX.Y.Z"))
}

/// The supported Kubernetes versions are stated in several places that must agree: the oldest is
/// the one hack/test.sh tests on, the k8s-openapi feature the code is built with (so that it
/// cannot use what the oldest lacks), the chart's kubeVersion and the README.
#[test]
fn the_supported_kubernetes_versions_agree_everywhere() {
    let (oldest, newest) = (tested_minor("K8S_OLDEST"), tested_minor("K8S_NEWEST"));
    assert!(oldest < newest);

    let cargo = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    let dependency = cargo
        .lines()
        .find(|l| l.starts_with("k8s-openapi = "))
        .expect("Cargo.toml depends on k8s-openapi");
    let versions: Vec<&str> = dependency
        .split('"')
        .filter(|word| word.starts_with("v1_") || *word == "earliest" || *word == "latest")
        .collect();
    assert_eq!(
        versions,
        [format!("v1_{oldest}")],
        "Cargo.toml's k8s-openapi feature must be the oldest supported version: {dependency}"
    );

    let chart: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(format!("{ROOT}/charts/cloudlink/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart["kubeVersion"], format!(">=1.{oldest}.0-0"));
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let statement = format!("Kubernetes 1.{oldest} to 1.{newest}");
    assert!(
        readme.contains(&statement),
        "the README should say {statement:?}"
    );

    // What the chart's kubeVersion means to a user: helm refuses an older cluster.
    let chart = self::chart();
    let older = format!("1.{}.9", oldest - 1);
    let out = helm(&["template", "rel", &chart, "--kube-version", &older]);
    assert!(!out.status.success(), "helm rendered for {older}");
    assert!(
        text(&out).contains("incompatible with Kubernetes"),
        "{}",
        text(&out)
    );
    let out = helm(&[
        "template",
        "rel",
        &chart,
        "--kube-version",
        &format!("1.{oldest}.0"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn helm_lint_passes_for_default_and_non_default_values() {
    let chart = chart();
    let out = helm(&["lint", "--strict", "--kube-version", KUBE_VERSION, &chart]);
    assert!(out.status.success(), "helm lint failed: {}", text(&out));
    assert!(
        text(&out).contains("1 chart(s) linted, 0 chart(s) failed"),
        "{}",
        text(&out)
    );
    let out = helm(&[
        "lint",
        "--strict",
        "--kube-version",
        KUBE_VERSION,
        &chart,
        "--set",
        "replicas=3,watchNamespaces={a,b},logFormat=text,networkPolicy.enabled=true,metrics.serviceMonitor.enabled=true",
    ]);
    assert!(
        out.status.success(),
        "helm lint with non-default values failed: {}",
        text(&out)
    );
}

#[test]
fn default_values_render_a_cluster_wide_operator_with_json_logs_and_a_locked_down_pod() {
    let objects = render(&[]);
    let expected: BTreeSet<(String, String)> = [
        ("ServiceAccount", "ops"),
        ("ClusterRole", ""),
        ("ClusterRoleBinding", ""),
        ("Service", "ops"),
        ("Deployment", "ops"),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), n.to_string()))
    .collect();
    assert_eq!(
        kinds(&objects),
        expected,
        "one replica: no Role, no Lease permissions, no PodDisruptionBudget, nothing optional"
    );

    let role = find(&objects, "ClusterRole", None, "rel-cloudlink");
    assert_eq!(
        rules(role),
        operator_rules(),
        "the ClusterRole grants exactly what the operator uses"
    );
    let binding = find(&objects, "ClusterRoleBinding", None, "rel-cloudlink");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "rel-cloudlink"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "rel-cloudlink", "namespace": "ops"}])
    );

    let deployment = find(&objects, "Deployment", Some("ops"), "rel-cloudlink");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(
        deployment["spec"]["strategy"]["type"], "Recreate",
        "without leader election two operators must never overlap"
    );
    assert_eq!(pod["serviceAccountName"], "rel-cloudlink");
    let c = container(&objects);
    assert_eq!(
        c["image"],
        format!("cloudlink:{}", env!("CARGO_PKG_VERSION")),
        "the tag defaults to appVersion"
    );
    let args = strings(&c["args"]);
    assert_eq!(
        args,
        [
            "run",
            "--concurrency=16",
            "--resync=10m",
            "--cloud-rate=20",
            "--cloud-burst=40",
            "--cloud-timeout=30s",
            "--metrics-addr=0.0.0.0:8080",
            "--log-format=json",
            "--log=info",
        ]
    );
    assert_operator_accepts(&args);
    assert_eq!(
        c["env"],
        json!([
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ])
    );
    assert_eq!(
        c["ports"],
        json!([{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "metrics"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "10m", "memory": "32Mi"})
    );
    assert_eq!(c["resources"]["limits"], json!({"memory": "128Mi"}));

    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");

    let service = find(&objects, "Service", Some("ops"), "rel-cloudlink-metrics");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}])
    );
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    for (key, value) in deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            &deployment["spec"]["template"]["metadata"]["labels"][key], value,
            "the pods carry the selector's labels"
        );
    }
}

#[test]
fn watch_namespaces_and_replicas_render_namespaced_roles_leader_election_and_a_disruption_budget() {
    let objects = render(&[
        "replicas=2",
        "watchNamespaces={team-a,team-b}",
        "logFormat=text",
        "logLevel=info\\,cloudlink=debug",
        "concurrency=4",
        "cloudRate=2.5",
        "cloudBurst=100",
        "resync=1h",
        "cloudTimeout=45s",
        "metrics.port=9090",
        "image.repository=registry.example/cloudlink",
        "image.tag=dev",
        "metrics.serviceMonitor.enabled=true",
        "networkPolicy.enabled=true",
    ]);
    let found = kinds(&objects);
    assert!(
        !found.iter().any(|(k, _)| k.starts_with("Cluster")),
        "with watchNamespaces nothing is cluster-wide: {found:?}"
    );
    for ns in ["team-a", "team-b"] {
        let role = find(&objects, "Role", Some(ns), "rel-cloudlink");
        assert_eq!(rules(role), operator_rules(), "the Role in {ns}");
        let binding = find(&objects, "RoleBinding", Some(ns), "rel-cloudlink");
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "rel-cloudlink", "namespace": "ops"}])
        );
    }
    assert!(!found.contains(&("Role".into(), "default".into())));

    // Leader election is on with two replicas: its Lease, and only it, in the release namespace.
    let lease_role = find(
        &objects,
        "Role",
        Some("ops"),
        "rel-cloudlink-leader-election",
    );
    let mut expected = BTreeMap::new();
    expected.insert(
        (
            "coordination.k8s.io".to_owned(),
            "leases".to_owned(),
            vec![],
        ),
        BTreeSet::from(["create".to_owned()]),
    );
    expected.insert(
        (
            "coordination.k8s.io".to_owned(),
            "leases".to_owned(),
            vec!["rel-cloudlink-leader".to_owned()],
        ),
        BTreeSet::from(["get".to_owned(), "update".to_owned()]),
    );
    assert_eq!(rules(lease_role), expected);
    find(
        &objects,
        "RoleBinding",
        Some("ops"),
        "rel-cloudlink-leader-election",
    );

    let deployment = find(&objects, "Deployment", Some("ops"), "rel-cloudlink");
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let c = container(&objects);
    assert_eq!(c["image"], "registry.example/cloudlink:dev");
    let args = strings(&c["args"]);
    assert_eq!(
        args,
        [
            "run",
            "--namespace=team-a,team-b",
            "--concurrency=4",
            "--resync=1h",
            "--cloud-rate=2.5",
            "--cloud-burst=100",
            "--cloud-timeout=45s",
            "--metrics-addr=0.0.0.0:9090",
            "--leader-elect",
            "--lease-name=rel-cloudlink-leader",
            "--lease-namespace=$(POD_NAMESPACE)",
            "--lease-duration=15s",
            "--log-format=text",
            "--log=info,cloudlink=debug",
        ]
    );
    assert_operator_accepts(&args);
    assert_eq!(c["ports"][0]["containerPort"], 9090);

    let pdb = find(
        &objects,
        "PodDisruptionBudget",
        Some("ops"),
        "rel-cloudlink",
    );
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(pdb["spec"]["selector"], deployment["spec"]["selector"]);

    let monitor = find(&objects, "ServiceMonitor", Some("ops"), "rel-cloudlink");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["selector"], deployment["spec"]["selector"]);
    let policy = find(&objects, "NetworkPolicy", Some("ops"), "rel-cloudlink");
    assert_eq!(
        policy["spec"]["ingress"],
        json!([{"ports": [{"port": "metrics", "protocol": "TCP"}]}])
    );
    assert_eq!(
        policy["spec"]["podSelector"],
        deployment["spec"]["selector"]
    );
}

#[test]
fn leader_election_can_be_forced_either_way() {
    let on = render(&[
        "leaderElection.enabled=true",
        "leaderElection.leaseName=my-lease",
    ]);
    let args = strings(&container(&on)["args"]);
    assert!(
        args.contains(&"--leader-elect".to_owned())
            && args.contains(&"--lease-name=my-lease".to_owned()),
        "{args:?}"
    );
    assert!(
        !kinds(&on).contains(&("PodDisruptionBudget".into(), "ops".into())),
        "one replica: no PodDisruptionBudget"
    );
    find(&on, "Role", Some("ops"), "rel-cloudlink-leader-election");

    let off = render(&["replicas=3", "leaderElection.enabled=false"]);
    let args = strings(&container(&off)["args"]);
    assert!(
        !args
            .iter()
            .any(|a| a.starts_with("--lease") || a == "--leader-elect"),
        "{args:?}"
    );
    assert!(
        !off.iter()
            .any(|o| o["metadata"]["name"] == "rel-cloudlink-leader-election"),
        "no Lease permissions without leader election"
    );
    find(&off, "PodDisruptionBudget", Some("ops"), "rel-cloudlink");
}

/// `shards`: the main Deployment (unchanged names and selector, now for the unlabelled objects)
/// plus one per shard, each with its selector and Lease, the same ServiceAccount and rights, and
/// pods that no other Deployment, budget, Service or policy selects.
#[test]
fn shards_render_one_deployment_each_with_its_selector_and_lease_and_the_same_rights() {
    let unsharded = strings(&container(&render(&[]))["args"]);
    assert!(
        !unsharded
            .iter()
            .any(|a| a.starts_with("--watch-label-selector")),
        "without shards the operator watches everything: {unsharded:?}"
    );

    let objects = render(&[
        "shards={shard1,shard2}",
        "replicas=2",
        "networkPolicy.enabled=true",
        "metrics.serviceMonitor.enabled=true",
    ]);
    let shards = [
        (
            "rel-cloudlink",
            "!sharding.cloudlink.dev/key",
            "rel-cloudlink-leader",
        ),
        (
            "rel-cloudlink-shard1",
            "sharding.cloudlink.dev/key=shard1",
            "rel-cloudlink-leader-shard1",
        ),
        (
            "rel-cloudlink-shard2",
            "sharding.cloudlink.dev/key=shard2",
            "rel-cloudlink-leader-shard2",
        ),
    ];
    let deployments: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .collect();
    assert_eq!(deployments.len(), shards.len());
    let monitor = find(&objects, "ServiceMonitor", Some("ops"), "rel-cloudlink");
    for (name, selector, lease) in shards {
        let deployment = find(&objects, "Deployment", Some("ops"), name);
        let pod = &deployment["spec"]["template"];
        let args = strings(&pod["spec"]["containers"][0]["args"]);
        for expected in [
            format!("--watch-label-selector={selector}"),
            format!("--lease-name={lease}"),
            "--leader-elect".to_owned(),
        ] {
            assert!(args.contains(&expected), "{name}: {expected} in {args:?}");
        }
        assert_operator_accepts(&args);
        assert_eq!(pod["spec"]["serviceAccountName"], "rel-cloudlink");
        assert_eq!(deployment["spec"]["replicas"], 2);

        // Its pods are its own: no other Deployment's selector matches them.
        let selects = |selector: &Value, labels: &Value| {
            selector["matchLabels"]
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| &labels[k] == v)
        };
        for other in &deployments {
            assert_eq!(
                selects(&other["spec"]["selector"], &pod["metadata"]["labels"]),
                other["metadata"]["name"] == name,
                "{} selecting {name}'s pods",
                other["metadata"]["name"]
            );
        }
        let selector = &deployment["spec"]["selector"];
        let pdb = find(&objects, "PodDisruptionBudget", Some("ops"), name);
        assert_eq!(&pdb["spec"]["selector"], selector);
        let policy = find(&objects, "NetworkPolicy", Some("ops"), name);
        assert_eq!(&policy["spec"]["podSelector"], selector);
        let service = find(&objects, "Service", Some("ops"), &format!("{name}-metrics"));
        assert_eq!(
            service["spec"]["selector"], selector["matchLabels"],
            "{name}'s metrics Service"
        );
        assert!(
            selects(&monitor["spec"]["selector"], &service["metadata"]["labels"]),
            "the ServiceMonitor scrapes {name}"
        );
    }

    // The same rights as one Deployment; the Lease rule names each shard's Lease.
    let role = find(&objects, "ClusterRole", None, "rel-cloudlink");
    assert_eq!(rules(role), operator_rules());
    let leases = find(
        &objects,
        "Role",
        Some("ops"),
        "rel-cloudlink-leader-election",
    );
    let names: Vec<String> = shards.iter().map(|(_, _, l)| l.to_string()).collect();
    assert_eq!(
        rules(leases)
            .keys()
            .map(|(_, _, names)| names.clone())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([vec![], names])
    );
    assert_eq!(
        objects
            .iter()
            .filter(|o| o["kind"] == "ServiceAccount")
            .count(),
        1
    );
}

#[test]
fn bad_values_are_refused_naming_the_value() {
    let chart = chart();
    let cases: &[(&str, &str)] = &[
        ("replicas=two", "at '/replicas': got string, want integer"),
        (
            "logFormat=xml",
            "at '/logFormat': value must be one of 'json', 'text'",
        ),
        (
            "resync=often",
            "at '/resync': 'often' does not match pattern",
        ),
        ("cloudRate=0", "at '/cloudRate'"),
        ("cloudRate=fast", "at '/cloudRate'"),
        ("concurrency=0", "at '/concurrency'"),
        ("watchNamespaces={Team_A}", "at '/watchNamespaces/0'"),
        ("shards={Shard_1}", "at '/shards/0'"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
        (
            "concurency=4",
            "additional properties 'concurency' not allowed",
        ),
        (
            "securityContext=none",
            "at '/securityContext': got string, want object",
        ),
    ];
    let mut failures = Vec::new();
    for (value, expected) in cases {
        let out = helm(&[
            "template",
            "rel",
            &chart,
            "--kube-version",
            KUBE_VERSION,
            "--set",
            value,
        ]);
        let said = text(&out);
        if out.status.success() {
            failures.push(format!("--set {value} was accepted"));
        } else if !said.contains("values don't meet the specifications of the schema")
            || !said.contains(expected)
        {
            failures.push(format!("--set {value}: expected {expected:?} in: {said}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A release that `helm uninstall`s itself, so its cluster-wide objects do not outlive the test.
struct Release {
    name: String,
    namespace: String,
}

impl Release {
    fn install(name: &str, namespace: &str, extra: &[&str]) -> Release {
        let chart = chart();
        let mut args = vec!["install", name, chart.as_str(), "--namespace", namespace];
        args.extend(extra);
        let out = helm(&args);
        assert!(
            out.status.success(),
            "helm install {extra:?} failed: {}",
            text(&out)
        );
        assert!(text(&out).contains("STATUS: deployed"), "{}", text(&out));
        Release {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = helm(&["uninstall", &self.name, "--namespace", &self.namespace]);
    }
}

/// `kubectl auth can-i` as the chart's ServiceAccount. `resource` is TYPE, TYPE/NAME, or
/// TYPE:SUBRESOURCE (e.g. `cloudpipes.cloudlink.dev:status`); `namespace` None asks for all namespaces.
fn can(sa: &str, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let (resource, subresource) = match resource.split_once(':') {
        Some((r, s)) => (r, Some(format!("--subresource={s}"))),
        None => (resource, None),
    };
    let mut args = vec!["auth", "can-i", verb, resource, "--as", sa];
    if let Some(s) = &subresource {
        args.push(s);
    }
    match namespace {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    let out = kubectl(&args, None);
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        answer == "yes" || answer == "no",
        "kubectl {args:?}: {}{}",
        answer,
        String::from_utf8_lossy(&out.stderr)
    );
    answer == "yes"
}

#[test]
fn helm_install_creates_the_service_account_rbac_and_deployment() {
    install_crds();
    let ns = TestNamespace::new("chart");
    let release = format!("cl{}", &ns.name[ns.name.len() - 8..]);
    let full = format!("{release}-cloudlink");
    let guard = Release::install(&release, &ns.name, &[]);

    kubectl_ok(&["get", "-n", &ns.name, "serviceaccount", &full], None);
    kubectl_ok(
        &["get", "-n", &ns.name, "service", &format!("{full}-metrics")],
        None,
    );
    let rules_json = kubectl_ok(&["get", "clusterrole", &full, "-o", "json"], None);
    assert_eq!(
        rules(&serde_json::from_str(&rules_json).unwrap()),
        operator_rules(),
        "the installed ClusterRole"
    );
    let binding: Value = serde_json::from_str(&kubectl_ok(
        &["get", "clusterrolebinding", &full, "-o", "json"],
        None,
    ))
    .unwrap();
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": full, "namespace": ns.name}])
    );
    let deployment: Value = serde_json::from_str(&kubectl_ok(
        &["get", "-n", &ns.name, "deployment", &full, "-o", "json"],
        None,
    ))
    .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        full
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["args"][0],
        "run"
    );

    // What the API server's authorizer says about the installed RBAC.
    let sa = format!("system:serviceaccount:{}:{full}", ns.name);
    for (verb, resource) in [
        ("watch", "cloudpipes.cloudlink.dev"),
        ("patch", "tenantconnectionrequests.cloudlink.dev"),
        ("patch", "cloudpipes.cloudlink.dev:status"),
        ("list", "secrets"),
        ("patch", "secrets"),
        ("create", "events.events.k8s.io"),
    ] {
        assert!(
            can(&sa, verb, resource, None),
            "the operator must be able to {verb} {resource} in every namespace"
        );
    }
    for (verb, resource) in [
        ("create", "cloudpipes.cloudlink.dev"),
        ("delete", "tenantconnectionrequests.cloudlink.dev"),
        ("update", "cloudpipes.cloudlink.dev:status"),
        ("create", "secrets"),
        ("delete", "secrets"),
        ("list", "configmaps"),
        ("create", "events"),
        ("get", "leases.coordination.k8s.io"),
        ("create", "clusterrolebindings"),
    ] {
        assert!(
            !can(&sa, verb, resource, None),
            "the operator must not be able to {verb} {resource}"
        );
    }

    drop(guard);
    let gone = kubectl(&["get", "clusterrole", &full], None);
    assert!(
        !gone.status.success(),
        "helm uninstall should remove the ClusterRole"
    );
}

#[test]
fn helm_install_with_watch_namespaces_grants_only_those_namespaces() {
    install_crds();
    let ns = TestNamespace::new("chart-ops");
    let team_a = TestNamespace::new("chart-a");
    let team_b = TestNamespace::new("chart-b");
    let other = TestNamespace::new("chart-other");
    let release = format!("cl{}", &ns.name[ns.name.len() - 8..]);
    let full = format!("{release}-cloudlink");
    let watch = format!("watchNamespaces={{{},{}}}", team_a.name, team_b.name);
    let _guard = Release::install(
        &release,
        &ns.name,
        &["--set", &watch, "--set", "replicas=2"],
    );

    assert!(
        !kubectl(&["get", "clusterrole", &full], None)
            .status
            .success(),
        "no ClusterRole with watchNamespaces"
    );
    let sa = format!("system:serviceaccount:{}:{full}", ns.name);
    for watched in [&team_a.name, &team_b.name] {
        kubectl_ok(
            &[
                "get",
                "-n",
                watched,
                &format!("role/{full}"),
                &format!("rolebinding/{full}"),
            ],
            None,
        );
        assert!(can(&sa, "list", "secrets", Some(watched)));
        assert!(can(
            &sa,
            "patch",
            "cloudpipes.cloudlink.dev:status",
            Some(watched)
        ));
        assert!(can(&sa, "create", "events.events.k8s.io", Some(watched)));
    }
    for unwatched in [&other.name, &ns.name, &"default".to_owned()] {
        assert!(
            !can(&sa, "get", "secrets", Some(unwatched)),
            "secrets of unwatched namespace {unwatched} must stay closed"
        );
        assert!(!can(
            &sa,
            "list",
            "cloudpipes.cloudlink.dev",
            Some(unwatched)
        ));
    }
    assert!(
        !can(&sa, "list", "cloudpipes.cloudlink.dev", None),
        "nothing cluster-wide"
    );

    // Its own Lease in the release namespace, and no other.
    let lease = format!("leases.coordination.k8s.io/{full}-leader");
    assert!(can(&sa, "get", &lease, Some(&ns.name)));
    assert!(can(&sa, "update", &lease, Some(&ns.name)));
    assert!(can(
        &sa,
        "create",
        "leases.coordination.k8s.io",
        Some(&ns.name)
    ));
    assert!(!can(
        &sa,
        "update",
        "leases.coordination.k8s.io/someone-else",
        Some(&ns.name)
    ));
    assert!(!can(&sa, "delete", &lease, Some(&ns.name)));
    assert!(!can(&sa, "get", &lease, Some(&team_a.name)));

    kubectl_ok(&["get", "-n", &ns.name, "poddisruptionbudget", &full], None);
    let args = kubectl_ok(
        &[
            "get",
            "-n",
            &ns.name,
            "deployment",
            &full,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ],
        None,
    );
    assert!(
        args.contains("--leader-elect")
            && args.contains(&format!("--namespace={},{}", team_a.name, team_b.name)),
        "{args}"
    );
}

#[test]
fn helm_install_with_a_bad_value_fails_before_creating_anything() {
    let ns = TestNamespace::new("chart-bad");
    let release = format!("cl{}", &ns.name[ns.name.len() - 8..]);
    let chart = chart();
    let out = helm(&[
        "install",
        &release,
        &chart,
        "--namespace",
        &ns.name,
        "--set",
        "logFormat=yaml",
    ]);
    assert!(
        !out.status.success(),
        "helm install accepted logFormat=yaml"
    );
    assert!(
        text(&out).contains("at '/logFormat': value must be one of 'json', 'text'"),
        "{}",
        text(&out)
    );
    let listed = helm(&["list", "--all", "--namespace", &ns.name, "--short"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).trim().is_empty(),
        "no release should exist: {}",
        text(&listed)
    );
    assert!(
        !kubectl(
            &["get", "clusterrole", &format!("{release}-cloudlink")],
            None
        )
        .status
        .success()
    );
}

/// The objects of `kind` (e.g. `pods`) that belong to `release` in `namespace`.
fn release_objects(kind: &str, namespace: &str, release: &str) -> Vec<Value> {
    let selector = format!("app.kubernetes.io/instance={release}");
    let list: Value = serde_json::from_str(&kubectl_ok(
        &["get", kind, "-n", namespace, "-l", &selector, "-o", "json"],
        None,
    ))
    .unwrap();
    list["items"].as_array().unwrap().clone()
}

/// The `ReplicaFailure` condition of `release`'s ReplicaSet, once the ReplicaSet controller set it.
fn replica_failure(namespace: &str, release: &str) -> Option<Value> {
    release_objects("replicasets", namespace, release)
        .iter()
        .flat_map(|rs| {
            rs["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|c| c["type"] == "ReplicaFailure" && c["status"] == "True")
}

/// Installed with a shard, each Deployment gets its own Pod from its own ReplicaSet.
#[test]
fn helm_install_with_shards_runs_a_deployment_per_shard() {
    const DEADLINE: Duration = Duration::from_secs(60);
    install_crds();
    let ns = TestNamespace::new("chart-shards");
    let release = format!("cl{}", &ns.name[ns.name.len() - 8..]);
    let _guard = Release::install(&release, &ns.name, &["--set", "shards={one}"]);
    for (instance, deployment) in [
        (release.clone(), format!("{release}-cloudlink")),
        (format!("{release}-one"), format!("{release}-cloudlink-one")),
    ] {
        let pods = eventually(&format!("{deployment}'s Pod"), DEADLINE, || {
            let pods = release_objects("pods", &ns.name, &instance);
            (!pods.is_empty()).then_some(pods)
        });
        assert_eq!(pods.len(), 1, "{deployment}: {pods:?}");
        let owner = pods[0]["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap();
        assert!(
            owner.starts_with(&format!("{deployment}-")),
            "{deployment}'s ReplicaSet made its Pod, not {owner}"
        );
        assert_eq!(replica_failure(&ns.name, &instance), None);
    }
}

/// The chart's Pods pass the `restricted` Pod Security Standard, as the API server judges them: in a
/// namespace that enforces it, the control plane's Deployment and ReplicaSet controllers create the
/// Pods and PodSecurity admission lets them in. Weakening the chart's security values makes the
/// same admission refuse the Pods, which shows the namespace really enforces the standard.
#[test]
fn the_chart_pods_are_admitted_where_the_restricted_pod_security_standard_is_enforced() {
    const DEADLINE: Duration = Duration::from_secs(60);
    install_crds();
    let ns = TestNamespace::new("chart-psa");
    kubectl_ok(
        &[
            "label",
            "namespace",
            &ns.name,
            "pod-security.kubernetes.io/enforce=restricted",
        ],
        None,
    );
    let suffix = &ns.name[ns.name.len() - 8..];

    // Two replicas: leader election on, the fullest Pod template the chart renders.
    let release = format!("cl{suffix}");
    let _guard = Release::install(&release, &ns.name, &["--set", "replicas=2"]);
    let pods = eventually("the chart's two Pods", DEADLINE, || {
        let pods = release_objects("pods", &ns.name, &release);
        (pods.len() == 2).then_some(pods)
    });
    for pod in &pods {
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet",
            "the ReplicaSet controller made it"
        );
        assert_eq!(pod["spec"]["containers"][0]["name"], "cloudlink");
    }
    assert_eq!(replica_failure(&ns.name, &release), None);

    // Each of these lets the container gain privileges or run unconfined; the chart passes them
    // through (users set their own security contexts), and PodSecurity must refuse the Pods.
    let weakened = [
        (
            "securityContext.allowPrivilegeEscalation=true",
            "allowPrivilegeEscalation != false",
        ),
        ("securityContext.runAsUser=0", "runAsUser=0"),
        (
            "podSecurityContext.seccompProfile.type=Unconfined",
            "seccompProfile",
        ),
    ];
    let mut releases = Vec::new();
    for (i, (value, _)) in weakened.iter().enumerate() {
        let name = format!("weak{i}-{suffix}");
        releases.push(Release::install(&name, &ns.name, &["--set", value]));
    }
    for (release, (value, violation)) in releases.iter().zip(weakened) {
        let failure = eventually(
            &format!("PodSecurity refusing the Pods of --set {value}"),
            DEADLINE,
            || replica_failure(&ns.name, &release.name),
        );
        let message = failure["message"].as_str().unwrap_or_default();
        assert_eq!(failure["reason"], "FailedCreate", "{failure}");
        assert!(
            message.contains(r#"violates PodSecurity "restricted:latest""#)
                && message.contains(violation),
            "--set {value}: expected {violation:?} in {message}"
        );
        assert!(
            release_objects("pods", &ns.name, &release.name).is_empty(),
            "--set {value}: no Pod may have been admitted"
        );
    }
}
