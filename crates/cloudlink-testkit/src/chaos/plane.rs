//! A control plane to run a scenario on: the one `hack/test.sh` started for the whole run, or one
//! of the scenario's own that it may restart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

/// A control plane: its admin kubeconfig and a client for it.
#[derive(Clone)]
pub struct Plane {
    pub kubeconfig: PathBuf,
    pub client: kube::Client,
}

impl Plane {
    /// The control plane `hack/test.sh` started for the whole test run.
    pub async fn shared() -> Plane {
        Plane::at(&crate::cluster::kubeconfig()).await
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
        crate::cluster::kubectl_at(&self.kubeconfig, args, stdin)
    }

    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        crate::cluster::kubectl_ok_at(&self.kubeconfig, args, stdin)
    }

    /// The committed CRDs, served.
    pub fn install_crds(&self) {
        crate::cluster::install_crds_at(&self.kubeconfig);
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
