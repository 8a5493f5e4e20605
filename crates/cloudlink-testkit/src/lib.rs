//! Shared by the integration tests: the test world (a real control plane, the cloud emulator,
//! a real Keystone) and small helpers that poll with deadlines.

/// The repository's top directory (the crds, the chart, the scripts).
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

pub mod api_recorder;
pub mod audit;
pub mod chaos;
pub mod cluster;
pub mod emulator;
pub mod operator;
pub mod scenario;
pub mod world;
