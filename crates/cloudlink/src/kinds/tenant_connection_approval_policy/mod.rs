//! TenantConnectionApprovalPolicy: the network owner's standing rule, with the owner tenant's
//! credentials. Every look (each `spec.interval`) lists the pending approval requests once per
//! credential (`desk.rs`; policies sharing a credential share the listing), picks those the rule
//! matches (`rule.rs`, pure), sends each decision once, and records it in status and an Event
//! (`status.rs`, pure).
//!
//! Nothing is decided twice: SSS takes a decision only while a request is `registered` and
//! answers 409 afterwards, which a look reads as "decided already" and records nothing. A
//! decision sent just before a crash is therefore never repeated; only its record may be
//! missing. The policy owns no cloud resource, so it has no finalizer: deleting it (or its
//! namespace) stops it at once and undoes nothing.

mod controller;
mod desk;
mod look;
mod rule;
mod status;

use futures::future::BoxFuture;

use super::{Parts, Standalone};
use crate::api::TenantConnectionApprovalPolicy;

/// The approval policies' controller, in the registry.
pub struct ApprovalPolicies;

impl Standalone for ApprovalPolicies {
    type Object = TenantConnectionApprovalPolicy;

    fn run(
        parts: &Parts,
        namespace: Option<String>,
        synced: Box<dyn FnOnce() + Send>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(controller::run(parts.clone(), namespace, synced))
    }
}
