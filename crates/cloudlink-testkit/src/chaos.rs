//! The chaos suite's machinery (`tests/chaos.rs`), one job per module:
//! - here: sizes and seeds from the environment (short by default, the sizes from
//!   `hack/chaos.sh`), and one scenario at a time;
//! - `plane`: a control plane, the shared one or one of the scenario's own for the scenario that
//!   restarts kube-apiserver;
//! - `fleet`: a fleet of TenantConnectionRequests read and written through the API;
//! - `census`: the cloud's census (duplicates, orphans, leaks) and the checks every scenario
//!   closes with;
//! - `watch`: a watch that remembers every condition and id an object ever showed;
//! - `report`: the figures each scenario prints on stdout, and the readings they come from.

use std::time::Duration;

mod census;
mod fleet;
mod plane;
mod report;
mod watch;

pub use census::{Census, Remains, UID_TAG, assert_closing};
pub use fleet::{Fleet, batches};
pub use plane::{OwnPlane, Plane};
pub use report::{Figures, alive, failures_answered, log_excerpt, metric};
pub use watch::{ERROR_REASONS, Watch, Watched};

/// `CLOUDLINK_CHAOS_<NAME>` if set (hack/chaos.sh sets the long sizes), else the short default.
pub fn knob(name: &str, short: u64) -> u64 {
    let var = format!("CLOUDLINK_CHAOS_{name}");
    match std::env::var(&var) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var}={text:?} is not a number")),
        _ => short,
    }
}

/// The seed every random choice of a scenario derives from (`CLOUDLINK_CHAOS_SEED`).
pub fn seed() -> u64 {
    knob("SEED", 20_260_601)
}

/// How long a scenario may take to converge after its last disturbance (`CLOUDLINK_CHAOS_DEADLINE_S`).
pub fn deadline(short_s: u64) -> Duration {
    Duration::from_secs(knob("DEADLINE_S", short_s))
}

/// The scenarios share two cores with everything else: one at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}
