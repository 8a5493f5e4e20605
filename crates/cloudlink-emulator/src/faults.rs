//! Injected faults, per named route (see `route.rs` for the names): added latency, errors with a
//! chosen status, dropped connections, and "commit then fail" (the handler runs and its effect is
//! kept, but the client gets a 500 or no answer in time). Random draws come from one generator,
//! seeded with `--seed` for repeatable runs.
//!
//! A fault is set for an exact route name, for a family (`ecl.*`, `nova.cloudpipe.*`) or for
//! everything (`*`); the most specific one applies.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::route;

/// One route's faults. Every field is optional in JSON; `{}` is a fault that does nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Added before the request is handled.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer with this status instead of handling the request (nothing is changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    /// Share of requests that get `error_status` (default: all).
    #[serde(default = "always")]
    pub error_rate: f64,
    /// `Retry-After` seconds on the injected error (default 1 for 429 and 503, none otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Share of requests whose connection is dropped without an answer.
    #[serde(default)]
    pub reset_rate: f64,
    /// Handle the request, keep its effect, then answer 500 (`error`) or only after `hang_ms`
    /// (`timeout`). Applies only when the handler succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_then_fail: Option<CommitThenFail>,
    #[serde(default = "always")]
    pub commit_then_fail_rate: f64,
    #[serde(default = "default_hang_ms")]
    pub hang_ms: u64,
    /// How many more requests the fault applies to before it removes itself (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitThenFail {
    Error,
    Timeout,
}

fn always() -> f64 {
    1.0
}

/// Longer than any sensible client timeout.
fn default_hang_ms() -> u64 {
    120_000
}

/// Upper bound for latency and hang: a typo must not park a connection for days.
const MAX_DELAY_MS: u64 = 3_600_000;

impl FaultSpec {
    fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("reset_rate", self.reset_rate),
            ("commit_then_fail_rate", self.commit_then_fail_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if let Some(status) = self.error_status
            && !(400..=599).contains(&status)
        {
            return Err("error_status must be a 4xx or 5xx status".to_owned());
        }
        if self.latency_ms > MAX_DELAY_MS || self.hang_ms > MAX_DELAY_MS {
            return Err(format!(
                "latency_ms and hang_ms must be at most {MAX_DELAY_MS}"
            ));
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// What happens to one request.
#[derive(Debug, Default)]
pub struct Draw {
    pub latency: Duration,
    pub early: Option<Early>,
    pub late: Option<Late>,
}

/// Decided before the handler runs; the handler then does not run.
#[derive(Debug)]
pub enum Early {
    Reset,
    Error {
        status: StatusCode,
        retry_after: Option<u64>,
    },
}

/// Applied to a successful answer after the handler ran.
#[derive(Debug)]
pub enum Late {
    FailWith500,
    Hang(Duration),
}

pub struct Faults {
    inner: Mutex<Table>,
    startup: BTreeMap<String, FaultSpec>,
    seed: Option<u64>,
}

struct Table {
    specs: BTreeMap<String, FaultSpec>,
    rng: StdRng,
}

fn new_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    }
}

impl Faults {
    /// `startup` are the `--fault` flags (already checked by [`parse_flag`]).
    pub fn new(startup: Vec<(String, FaultSpec)>, seed: Option<u64>) -> Faults {
        let startup: BTreeMap<String, FaultSpec> = startup.into_iter().collect();
        Faults {
            inner: Mutex::new(Table {
                specs: startup.clone(),
                rng: new_rng(seed),
            }),
            startup,
            seed,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn draw(&self, route: &str) -> Draw {
        let mut table = self.table();
        let Some(key) = most_specific(&table.specs, route) else {
            return Draw::default();
        };
        let Table { specs, rng } = &mut *table;
        let Some(spec) = specs.get_mut(&key) else {
            return Draw::default();
        };
        let mut draw = Draw {
            latency: Duration::from_millis(spec.latency_ms),
            ..Draw::default()
        };
        if roll(rng, spec.reset_rate) {
            draw.early = Some(Early::Reset);
        } else if let Some(status) = spec.error_status
            && roll(rng, spec.error_rate)
        {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let retry_after = spec
                .retry_after_s
                .or(matches!(status.as_u16(), 429 | 503).then_some(1));
            draw.early = Some(Early::Error {
                status,
                retry_after,
            });
        } else if let Some(mode) = spec.commit_then_fail
            && roll(rng, spec.commit_then_fail_rate)
        {
            draw.late = Some(match mode {
                CommitThenFail::Error => Late::FailWith500,
                CommitThenFail::Timeout => Late::Hang(Duration::from_millis(spec.hang_ms)),
            });
        }
        if let Some(times) = spec.times.as_mut() {
            *times -= 1;
            if *times == 0 {
                specs.remove(&key);
            }
        }
        draw
    }

    pub fn set(&self, pattern: &str, spec: FaultSpec) -> Result<(), String> {
        check_pattern(pattern)?;
        spec.validate()?;
        self.table().specs.insert(pattern.to_owned(), spec);
        Ok(())
    }

    /// False if no fault was set for exactly this pattern.
    pub fn clear(&self, pattern: &str) -> bool {
        self.table().specs.remove(pattern).is_some()
    }

    pub fn clear_all(&self) {
        self.table().specs.clear();
    }

    /// Back to the `--fault` flags, and to the start of the `--seed` sequence.
    pub fn reset(&self) {
        let mut table = self.table();
        table.specs = self.startup.clone();
        table.rng = new_rng(self.seed);
    }

    pub fn snapshot(&self) -> BTreeMap<String, FaultSpec> {
        self.table().specs.clone()
    }
}

fn roll(rng: &mut StdRng, rate: f64) -> bool {
    if rate >= 1.0 {
        true
    } else if rate > 0.0 {
        rng.random_bool(rate)
    } else {
        false
    }
}

fn most_specific(specs: &BTreeMap<String, FaultSpec>, route: &str) -> Option<String> {
    if specs.contains_key(route) {
        return Some(route.to_owned());
    }
    specs
        .keys()
        .filter(|pattern| matches_family(pattern, route))
        .max_by_key(|pattern| pattern.len())
        .cloned()
}

fn matches_family(pattern: &str, route: &str) -> bool {
    pattern == "*"
        || pattern
            .strip_suffix('*')
            .is_some_and(|prefix| prefix.ends_with('.') && route.starts_with(prefix))
}

/// A pattern must name at least one route: a misspelt fault would otherwise never fire, and the
/// test relying on it would pass for the wrong reason.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let known = route::ALL
        .iter()
        .any(|r| r.name == pattern || matches_family(pattern, r.name));
    if known {
        Ok(())
    } else {
        Err(format!(
            "no route matches {pattern:?} (see GET /_admin/routes)"
        ))
    }
}

/// `--fault ROUTE=JSON`, e.g. `--fault 'ecl.tcr.create={"commit_then_fail":"error","times":1}'`.
pub fn parse_flag(text: &str) -> Result<(String, FaultSpec), String> {
    let (pattern, json) = text.split_once('=').ok_or("expected ROUTE=JSON")?;
    check_pattern(pattern)?;
    let spec: FaultSpec = serde_json::from_str(json).map_err(|e| format!("{pattern}: {e}"))?;
    spec.validate().map_err(|e| format!("{pattern}: {e}"))?;
    Ok((pattern.to_owned(), spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_pattern_wins() {
        let faults = Faults::new(Vec::new(), Some(1));
        let spec = |status| FaultSpec {
            error_status: Some(status),
            ..serde_json::from_str("{}").unwrap()
        };
        faults.set("*", spec(500)).unwrap();
        faults.set("ecl.*", spec(503)).unwrap();
        faults.set("ecl.tcr.get", spec(429)).unwrap();
        let status = |route| match faults.draw(route).early {
            Some(Early::Error { status, .. }) => status.as_u16(),
            other => panic!("{other:?}"),
        };
        assert_eq!(status("ecl.tcr.get"), 429);
        assert_eq!(status("ecl.tcr.create"), 503);
        assert_eq!(status("nova.cloudpipe.list"), 500);
        assert!(faults.set("ecl.tcr.creat", spec(500)).is_err());
        assert!(faults.set("ec*", spec(500)).is_err());
    }

    #[test]
    fn seeded_draws_repeat() {
        let pattern = |seed| {
            let faults = Faults::new(
                vec![parse_flag(r#"nova.*={"error_status":500,"error_rate":0.5}"#).unwrap()],
                Some(seed),
            );
            (0..64)
                .map(|_| faults.draw("nova.server.get").early.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(pattern(7), pattern(7));
        assert_ne!(pattern(7), pattern(8));
    }
}
