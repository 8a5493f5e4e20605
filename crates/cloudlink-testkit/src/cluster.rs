//! The real control plane the tests run against: started once per test run by `hack/test.sh`,
//! which exports `CLOUDLINK_TEST_KUBECONFIG`. Each test gets a fresh namespace.
//!
//! The tests never fall back to `KUBECONFIG`: they create and delete things, and must not do that
//! to whatever cluster a developer's shell points at.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kube::Client;

/// The admin kubeconfig of the test control plane.
pub fn kubeconfig() -> PathBuf {
    match std::env::var_os("CLOUDLINK_TEST_KUBECONFIG") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "CLOUDLINK_TEST_KUBECONFIG is not set: run the integration tests with `hack/test.sh`, which starts \
             a local control plane (or `hack/test.sh --test crds` for one file)"
        ),
    }
}

/// A kube client for the test control plane, as admin, built as the operator builds its own
/// (no-delay sockets), so that the benchmark's floor goes through the same connections.
pub async fn client() -> Client {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(kubeconfig()).expect("test kubeconfig is readable");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("test kubeconfig is valid");
    cloudlink::operator::kube_client::from_config(config).expect("kube client")
}

/// Runs kubectl against the test control plane; `stdin` is piped in when given.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> Output {
    kubectl_at(&kubeconfig(), args, stdin)
}

/// Runs kubectl against the control plane of `config` (a test may start one of its own).
pub fn kubectl_at(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl is on PATH (hack/test.sh puts it there)");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("kubectl runs")
}

/// kubectl that must succeed; returns stdout.
pub fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> String {
    kubectl_ok_at(&kubeconfig(), args, stdin)
}

/// [`kubectl_ok`] against the control plane of `config`.
pub fn kubectl_ok_at(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_at(config, args, stdin);
    assert!(
        out.status.success(),
        "kubectl {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Installs the committed CRDs (idempotent; every test binary may call it) and waits until the API
/// server serves them.
pub fn install_crds() {
    install_crds_at(&kubeconfig());
}

/// [`install_crds`] on the control plane of `config`.
pub fn install_crds_at(config: &std::path::Path) {
    let crds = &format!("{}/crds", crate::REPO);
    kubectl_ok_at(
        config,
        &["apply", "--server-side", "--force-conflicts", "-f", crds],
        None,
    );
    kubectl_ok_at(
        config,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "-f",
            crds,
        ],
        None,
    );
}

/// A namespace that exists for one test and is deleted (without waiting) when dropped.
pub struct TestNamespace {
    pub name: String,
}

impl TestNamespace {
    pub fn new(prefix: &str) -> Self {
        let name = format!("{prefix}-{:08x}", rand::random::<u32>());
        kubectl_ok(&["create", "namespace", &name], None);
        TestNamespace { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // The namespace controller finishes the deletion in the background; objects that still carry
        // cloudlink's finalizer keep it Terminating until an operator lets go, which is not this test's job.
        let _ = kubectl(&["delete", "namespace", &self.name, "--wait=false"], None);
    }
}

/// Polls `probe` until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
