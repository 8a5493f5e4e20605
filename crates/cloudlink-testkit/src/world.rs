//! The real world the cloud side is proven against: a real Keystone (`hack/keystone.sh`) and the
//! real Python clients (`hack/python-clients.sh`). `hack/test.sh` starts them and exports
//! `CLOUDLINK_TEST_KEYSTONE_*`, `CLOUDLINK_TEST_NOVA` and `CLOUDLINK_TEST_ECL`; a test that needs one
//! of them and finds it unset fails with a message naming `hack/test.sh`.
//!
//! Catalog entries pointing at an emulator: the emulator's port is only known once a test starts
//! it, so the test registers endpoints itself ([`RealKeystone::register_catalog`]) in a region of
//! its own, which the `CatalogRegion` guard deletes again. The services (compute,
//! provider-connectivity, sss, sssv2) already exist, made by `hack/keystone.sh`.
//!
//! One job per module: `env` finds what `hack/test.sh` started, `keystone` authenticates against
//! the real Keystone and writes clouds.yaml for it, `catalog` registers a test's own endpoints and
//! projects (and starts the emulator on the real Keystone), `cli` runs the real clients and reads
//! their tables, `http` is the plain client and reply the others send with.

mod catalog;
mod cli;
mod env;
mod http;
mod keystone;

pub use catalog::{CatalogRegion, IsolatedProject, emulator_on};
pub use cli::{CliOutput, field_values, run_cli, table_records, table_rows};
pub use env::{ecl_cli, keystone, nova_cli};
pub use http::{Reply, http};
pub use keystone::{Account, AppCredential, RealKeystone};
