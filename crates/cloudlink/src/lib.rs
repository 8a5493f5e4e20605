//! cloudlink: a Kubernetes operator for cloud network-access resources.
//!
//! - [`api`]: the custom resources (`Cloudpipe`, `TenantConnectionRequest`).
//! - [`engine`]: the generic reconcile engine every kind shares.
//! - [`kinds`]: one adapter per kind, and the registry of kinds.
//! - [`operator`]: what `cloudlink run` starts.
//!
//! The cloud clients are the crate `cloudlink-cloud`; durations are written as `cloudlink-duration`
//! reads them.

pub mod api;
pub mod engine;
pub mod kinds;
pub mod operator;
