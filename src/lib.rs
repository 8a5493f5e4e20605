//! cloudlink: a Kubernetes operator for cloud network-access resources.
//!
//! - [`api`]: the custom resources (`Cloudpipe`, `TenantConnectionRequest`).
//! - [`cloud`]: narrow clients for Keystone, Nova and ECL.
//! - [`duration`]: the one way durations are written (spec, flags).
//! - [`engine`]: the generic reconcile engine every kind shares.
//! - [`kinds`]: one adapter per kind.
//! - [`operator`]: what `cloudlink run` starts.

pub mod api;
pub mod cloud;
pub mod duration;
pub mod engine;
pub mod kinds;
pub mod operator;
