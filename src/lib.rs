//! cloudlink: a Kubernetes operator for cloud network-access resources.
//!
//! - [`api`]: the custom resources (`Cloudpipe`, `TenantConnectionRequest`).
//! - [`cloud`]: narrow clients for Keystone, Nova and ECL.

pub mod api;
pub mod cloud;
