//! Acting as a ServiceAccount, and reading what the API server's audit log says it did. The test
//! control plane audits the requests of ServiceAccounts only (`hack/control-plane.sh`), at the
//! Metadata level: who, which verb on which object, with which User-Agent, and the answer.

use serde_json::{Value, json};

use super::cluster::kubectl_ok;

/// The API server's audit log (one JSON event a line).
pub fn audit_log() -> std::path::PathBuf {
    std::env::var_os("CLOUDLINK_TEST_AUDIT_LOG")
        .map(Into::into)
        .expect("CLOUDLINK_TEST_AUDIT_LOG is set by hack/test.sh")
}

/// Every completed request of `username` in the audit log.
pub fn requests_of(username: &str) -> Vec<Value> {
    let log = std::fs::read_to_string(audit_log()).unwrap();
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["user"]["username"] == username && e["stage"] == "ResponseComplete")
        .collect()
}

/// A kubeconfig for the test control plane that authenticates with `token` only.
pub fn token_kubeconfig(token: &str) -> tempfile::NamedTempFile {
    let view = |path: &str| {
        kubectl_ok(
            &[
                "config",
                "view",
                "--raw",
                "--minify",
                "-o",
                &format!("jsonpath={path}"),
            ],
            None,
        )
    };
    let (server, ca) = (
        view("{.clusters[0].cluster.server}"),
        view("{.clusters[0].cluster.certificate-authority-data}"),
    );
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "test", "user": "operator"}}],
        "current-context": "operator",
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), config.to_string()).unwrap();
    file
}

/// A kubeconfig with an hour's token of ServiceAccount `name` in `namespace`.
pub fn service_account_kubeconfig(namespace: &str, name: &str) -> tempfile::NamedTempFile {
    let token = kubectl_ok(
        &["create", "token", name, "-n", namespace, "--duration", "1h"],
        None,
    );
    token_kubeconfig(token.trim())
}
