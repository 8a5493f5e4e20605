//! Running the real Python clients and reading their table output.

use std::process::Stdio;
use std::time::{Duration, Instant};

/// What a CLI run printed.
#[derive(Debug)]
pub struct CliOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a real client with exactly the `OS_*` environment given (any `OS_*` of the caller's shell
/// is removed), no stdin, and a deadline: a client still running then is killed and the test fails.
pub async fn run_cli(
    program: &std::path::Path,
    args: &[&str],
    env: &[(&str, String)],
    deadline: Duration,
) -> CliOutput {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("OS_") {
            command.env_remove(key);
        }
    }
    // the clients write their config and caches under HOME; keep them out of the developer's
    let home = std::env::temp_dir().join("cloudlink-test-client-home");
    std::fs::create_dir_all(&home).expect("client HOME");
    command.env("HOME", &home);
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let output = match tokio::time::timeout(deadline, child.wait_with_output()).await {
        Ok(output) => output.expect("client output"),
        Err(_) => panic!(
            "{} {} still running after {deadline:?}: killed",
            program.display(),
            args.join(" ")
        ),
    };
    let out = CliOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!(
        "$ {} {}  ({:.1}s)\n{out}",
        program.file_name().unwrap_or_default().to_string_lossy(),
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    out
}

/// The rows of a PrettyTable (the real clients' table output) as cells, header row first.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// A table as maps from column header to cell (list output).
pub fn table_records(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let rows = table_rows(text);
    let Some((header, body)) = rows.split_first() else {
        return Vec::new();
    };
    body.iter()
        .map(|row| header.iter().cloned().zip(row.iter().cloned()).collect())
        .collect()
}

/// A `Field | Value` table (show output) as a map.
pub fn field_values(text: &str) -> std::collections::BTreeMap<String, String> {
    table_rows(text)
        .into_iter()
        .skip(1)
        .filter(|row| row.len() == 2)
        .map(|mut row| {
            let value = row.pop().unwrap();
            (row.pop().unwrap(), value)
        })
        .collect()
}
