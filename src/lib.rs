//! cloudlink: a Kubernetes operator for cloud network-access resources.
//!
//! - [`api`]: the custom resources (`Cloudpipe`, `TenantConnectionRequest`).
//! - [`cloud`]: narrow clients for Keystone, Nova and ECL.
//! - [`operator`]: what `cloudlink run` starts.

pub mod api;
pub mod cloud;
pub mod operator;
