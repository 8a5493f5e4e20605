//! The generic reconcile engine. One lifecycle for every kind (see [`reconcile`]); each kind plugs in
//! an [`adapter::Adapter`] with its cloud calls and a pure assessment of what the cloud returned.
//!
//! Decisions are pure and unit-tested ([`conditions`], [`status::next`], [`failure`], [`backoff`]);
//! the Kubernetes writes sit behind [`writes::ObjectWrites`] and [`credentials::Credentials`], with
//! their API-server implementations at the edge, and the cloud behind the adapter.

pub mod adapter;
pub mod backoff;
pub mod claim;
pub mod conditions;
pub mod context;
pub mod controller;
pub mod credentials;
pub mod deletion;
pub mod error;
pub mod events;
pub mod export;
pub mod failure;
pub mod finalizers;
pub mod metrics;
pub mod objects;
pub mod outcome;
pub mod ownership;
pub mod pause;
pub mod readings;
pub mod reconcile;
pub mod schedule;
pub mod secrets;
pub mod status;
pub mod watched;
pub mod writes;

#[cfg(test)]
mod testing;
