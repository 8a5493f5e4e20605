//! Runs `cloudlink run` as a real process against the test control plane, with its log in a file
//! the test can show on failure. Killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::cluster::kubeconfig;

pub struct Operator {
    child: Child,
    binary: String,
    log: PathBuf,
    kubeconfig: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    metrics_port: u16,
}

impl Operator {
    /// Starts an operator watching `namespace`, with extra `cloudlink run` flags, as admin.
    pub fn start(namespace: &str, extra: &[&str]) -> Operator {
        let mut args = vec!["--namespace", namespace, "--log", "info,cloudlink=debug"];
        args.extend_from_slice(extra);
        Operator::start_as(&kubeconfig(), &args, &[])
    }

    /// Starts `cloudlink run ARGS` with this kubeconfig and environment (a ServiceAccount's token,
    /// as the Helm chart's Deployment runs it). The metrics port is chosen here.
    pub fn start_as(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Operator {
        Operator::start_binary_as(binary(), kubeconfig, args, env)
    }

    /// The same with another build of `cloudlink` (the benchmark compares allocators).
    pub fn start_binary_as(
        binary: String,
        kubeconfig: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Operator {
        let log = std::env::temp_dir().join(format!(
            "cloudlink-operator-{:08x}.log",
            rand::random::<u32>()
        ));
        // Each operator of a test run serves its metrics on a port of its own.
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend([
            "--metrics-addr".to_owned(),
            format!("127.0.0.1:{metrics_port}"),
        ]);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = spawn(&binary, kubeconfig, &args, &env, &log);
        Operator {
            child,
            binary,
            log,
            kubeconfig: kubeconfig.to_owned(),
            args,
            env,
            metrics_port,
        }
    }

    /// SIGKILL: no shutdown, no cleanup, exactly like a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the process and starts a new one with the same flags (its log is appended).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(
            &self.binary,
            &self.kubeconfig,
            &self.args,
            &self.env,
            &self.log,
        );
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Base URL of `/metrics`, `/healthz` and `/readyz`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.metrics_port)
    }
}

/// The `cloudlink` binary cargo built for the test or benchmark that runs this (cargo names it in
/// the environment of every integration test and benchmark of the `cloudlink` package).
pub fn binary() -> String {
    std::env::var("CARGO_BIN_EXE_cloudlink").expect(
        "CARGO_BIN_EXE_cloudlink: run by `cargo test` or `cargo bench` of the cloudlink package",
    )
}

fn spawn(
    binary: &str,
    kubeconfig: &Path,
    args: &[String],
    env: &[(String, String)],
    log: &Path,
) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("operator log file");
    Command::new(binary)
        .arg("run")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("start cloudlink run")
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- operator log ({}) ---\n{}",
                self.log.display(),
                self.log()
            );
        }
    }
}
