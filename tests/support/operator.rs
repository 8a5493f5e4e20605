//! Runs `cloudlink run` as a real process against the test control plane, watching one test's
//! namespace, with its log in a file the test can show on failure. Killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::cluster::kubeconfig;

pub struct Operator {
    child: Child,
    log: PathBuf,
    namespace: String,
    extra: Vec<String>,
    metrics_port: u16,
}

impl Operator {
    /// Starts an operator watching `namespace`, with extra `cloudlink run` flags.
    pub fn start(namespace: &str, extra: &[&str]) -> Operator {
        let log = std::env::temp_dir().join(format!("cloudlink-operator-{namespace}-{:08x}.log", rand::random::<u32>()));
        // Each operator of a test run serves its metrics on a port of its own.
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        extra.extend(["--metrics-addr".to_owned(), format!("127.0.0.1:{metrics_port}")]);
        let child = spawn(namespace, &extra, &log);
        Operator { child, log, namespace: namespace.to_owned(), extra, metrics_port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Base URL of `/metrics`, `/healthz` and `/readyz`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.metrics_port)
    }

    /// SIGKILL: no shutdown, no cleanup, exactly like a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the process and starts a new one with the same flags (its log is appended).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.namespace, &self.extra, &self.log);
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(namespace: &str, extra: &[String], log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("operator log file");
    Command::new(env!("CARGO_BIN_EXE_cloudlink"))
        .args(["run", "--namespace", namespace, "--log", "info,cloudlink=debug"])
        .args(extra)
        .env("KUBECONFIG", kubeconfig())
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("start cloudlink run")
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- operator log ({}) ---\n{}", self.log.display(), self.log());
        }
    }
}
