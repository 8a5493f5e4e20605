//! Clients for the clouds cloudlink manages: Keystone v3, Nova os-cloudpipe, ECL provider-connectivity and SSS.
//!
//! The engine builds one [`CloudSession`] per credential — from a Secret's `clouds.yaml`, the
//! cloud's name in it and the Secret's optional `cacert` — and builds the three narrow clients
//! from it ([`NovaClient::new`], [`EclClient::new`], [`SssClient::new`]), used through their
//! traits [`CloudpipeApi`], [`TenantConnectionApi`], [`ApprovalApi`]. Tests and the engine can
//! substitute their own implementations of those traits.
//!
//! Layers, each in its own module:
//! - [`clouds_yaml`]: one cloud out of a clouds.yaml, errors naming the key;
//! - `http`: the single place every request goes through (deadline, no redirects, typed errors);
//! - [`keystone`]: tokens, shared per credential and renewed once, single-flight;
//! - [`catalog`]: endpoint selection by service type, interface and region;
//! - `session`: the credential's session, the retry rule (401 → re-auth → resend, except POST)
//!   and the request builder the clients send their calls with;
//! - [`nova`], [`ecl`], [`sss`]: the service clients, each built from a session;
//! - [`error`]: [`CloudError`], with [`CloudError::is_transient`] and [`CloudError::retry_after`].
//!
//! Secrets (passwords, application-credential secrets, tokens) are [`Secret`]s: they never
//! appear in `Debug`, `Display`, logs or errors.

pub mod catalog;
pub mod clouds_yaml;
pub mod connections;
pub mod ecl;
pub mod error;
#[cfg(fuzzing)]
pub mod fuzzing;
mod http;
pub mod keystone;
pub mod nova;
pub mod rate_limit;
pub mod secret;
mod serde_util;
mod session;
pub mod sss;

pub use clouds_yaml::{CloudConfig, Interface, parse_clouds_yaml};
pub use connections::{ConnectionApi, ConnectionClient, TenantConnectionRecord};
pub use ecl::{
    CreateTenantConnectionRequest, EclClient, TenantConnectionApi, TenantConnectionRequestFilter,
    TenantConnectionRequestRecord, UpdateTenantConnectionRequest,
};
pub use error::CloudError;
pub use http::{CallMetrics, CallOutcome};
pub use keystone::TokenInfo;
pub use nova::{CloudpipeApi, CloudpipeEntry, NovaClient, Server};
pub use secret::Secret;
pub use session::{CloudSession, SessionKey, SessionOptions};
pub use sss::{ApprovalApi, ApprovalDecision, ApprovalFilter, ApprovalRequest, SssClient};
