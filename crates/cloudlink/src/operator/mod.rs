//! `cloudlink run`: everything between the command line and the reconcilers.

pub mod http;
pub mod kube_client;
pub mod leader;
pub mod memory;
pub mod metrics;
pub mod preflight;
pub mod run;
pub mod shard;
#[cfg(feature = "otel")]
pub mod telemetry;
