//! What a scenario reports: its one line of figures, and the readings it takes them from (the
//! emulator's counters, the operator's metrics and log, whether a process still runs).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use serde_json::Value;

use super::census::{Census, Remains};
use super::watch::Watched;
use crate::operator::Operator;

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
