//! `cloudlink run` on a cluster without the CRDs tells the user how to install them and exits
//! non-zero. Uses a control plane of its own: removing the CRDs from the shared one would break
//! the tests running beside it.

use cloudlink_testkit as support;

use std::process::Command;

#[test]
fn run_without_crds_exits_with_an_install_hint() {
    let dir = tempfile::tempdir().unwrap();
    let plane = dir.path().join("plane");
    let script = &format!("{}/hack/control-plane.sh", support::REPO);
    let up = Command::new(script)
        .args(["up", plane.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(up.success(), "a second control plane did not start");
    struct Down<'a>(&'a str, std::path::PathBuf);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = Command::new(self.0)
                .args(["down", self.1.to_str().unwrap()])
                .status();
        }
    }
    let _down = Down(script, plane.clone());

    let out = Command::new(env!("CARGO_BIN_EXE_cloudlink"))
        .arg("run")
        .env("KUBECONFIG", plane.join("kubeconfig"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "cloudlink run succeeded without CRDs"
    );
    assert!(
        stderr.contains("CRD (cloudpipes.cloudlink.dev) is not installed")
            && stderr.contains("kubectl apply --server-side -f crds/"),
        "unexpected message: {stderr}"
    );
}
