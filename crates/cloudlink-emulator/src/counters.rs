//! Requests per route name and outcome, for tests (`GET /_admin/counters`).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

#[derive(Clone, Copy)]
pub enum Outcome {
    Status(u16),
    Reset,
}

/// Requests per route name and outcome (status code, or `reset` for a dropped connection).
#[derive(Default)]
pub struct Counters {
    counts: Mutex<BTreeMap<&'static str, BTreeMap<u16, u64>>>,
}

/// Where a dropped connection is counted (no real status is 0).
const RESET_KEY: u16 = 0;

impl Counters {
    pub fn record(&self, route: &'static str, outcome: Outcome) {
        let key = match outcome {
            Outcome::Status(status) => status,
            Outcome::Reset => RESET_KEY,
        };
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(route).or_default().entry(key).or_default() += 1;
    }

    /// `{"route": {"200": 3, "reset": 1}}`.
    pub fn snapshot(&self) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|(route, by_status)| {
                let by_status = by_status
                    .iter()
                    .map(|(status, n)| {
                        (
                            if *status == RESET_KEY {
                                "reset".to_owned()
                            } else {
                                status.to_string()
                            },
                            *n,
                        )
                    })
                    .collect();
                (*route, by_status)
            })
            .collect()
    }

    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
