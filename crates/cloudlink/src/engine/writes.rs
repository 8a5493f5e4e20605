//! The engine's writes to Kubernetes, behind one narrow trait: its finalizer on the object, the
//! status patches and the Events. The lifecycle decides what to write; [`KubeWrites`] (the edge)
//! sends it to the API server, and the engine's lifecycle tests put an in-memory object store in
//! its place (k-orc's actuator seam, controller-rs's mocked API server).

use async_trait::async_trait;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::json;

use super::adapter::ManagedObject;
use super::events::{EventSink, EventType};
use super::export;
use super::finalizers;
use super::finalizers::FINALIZER;
use crate::api::common::ResourceStatus;

/// What the engine writes about an object of kind `K`.
#[async_trait]
pub trait ObjectWrites<K: ManagedObject>: Send + Sync {
    /// Whether the engine may still act on `object` here: a replica whose watch no longer shows
    /// it (moved to another shard) may not (see `watched.rs`). Asked before a live object's
    /// reconcile acts; the error stops the reconcile.
    async fn may_act(&self, _object: &K) -> Result<(), kube::Error> {
        Ok(())
    }

    /// Adds the engine's finalizer ([`FINALIZER`]) unless `object` has it.
    async fn add_finalizer(&self, object: &K) -> Result<(), kube::Error>;

    /// Removes the engine's finalizer if `object` has it.
    async fn remove_finalizer(&self, object: &K) -> Result<(), kube::Error>;

    /// Applies `patch` to the object's status subresource.
    async fn patch_status(
        &self,
        object: &K,
        patch: &StatusPatch<'_, K::CloudView>,
    ) -> Result<(), kube::Error>;

    /// Sends an Event about `object` without waiting for it: an Event is for people, and a slow
    /// or failing write of one must not hold up (or fail) the reconcile.
    fn publish(&self, object: &K, type_: EventType, reason: &str, action: &str, note: &str);

    /// Publishes `data` in ConfigMap `name` of the object's namespace (see `export.rs`).
    async fn export(
        &self,
        object: &K,
        name: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<export::Outcome, kube::Error>;
}

/// The writes as the API server takes them.
pub struct KubeWrites {
    client: Client,
    events: EventSink,
}

impl KubeWrites {
    pub fn new(client: Client) -> Self {
        KubeWrites {
            events: EventSink::new(client.clone(), "cloudlink", std::env::var("POD_NAME").ok()),
            client,
        }
    }

    fn api<K: ManagedObject>(&self, object: &K) -> Api<K> {
        Api::namespaced(self.client.clone(), &object.namespace().unwrap_or_default())
    }
}

#[async_trait]
impl<K: ManagedObject> ObjectWrites<K> for KubeWrites {
    async fn add_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        finalizers::add(&self.api(object), object, FINALIZER).await
    }

    async fn remove_finalizer(&self, object: &K) -> Result<(), kube::Error> {
        finalizers::remove(&self.api(object), object, FINALIZER).await
    }

    async fn patch_status(
        &self,
        object: &K,
        patch: &StatusPatch<'_, K::CloudView>,
    ) -> Result<(), kube::Error> {
        self.api(object)
            .patch_status(
                &object.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch.body()),
            )
            .await
            .map(|_| ())
    }

    fn publish(&self, object: &K, type_: EventType, reason: &str, action: &str, note: &str) {
        self.events
            .publish(object.object_ref(&()), type_, reason, action, note);
    }

    /// One GET per reconcile that exports; a write only when a value changed.
    async fn export(
        &self,
        object: &K,
        name: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<export::Outcome, kube::Error> {
        let namespace = object.namespace().unwrap_or_default();
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &namespace);
        let existing = api.get_opt(name).await?;
        let uid = object.uid().unwrap_or_default();
        match export::plan(existing.as_ref(), &uid, data) {
            export::Plan::Create => {
                let map = export::config_map(object, name, data);
                api.create(&PostParams::default(), &map).await?;
                Ok(export::Outcome::Written)
            }
            export::Plan::Update => {
                // A merge patch of `data` alone: keys no longer published are removed (null).
                let mut patch: serde_json::Map<String, serde_json::Value> = existing
                    .and_then(|m| m.data)
                    .unwrap_or_default()
                    .into_keys()
                    .map(|k| (k, serde_json::Value::Null))
                    .collect();
                patch.extend(data.iter().map(|(k, v)| (k.clone(), json!(v))));
                api.patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"data": patch})),
                )
                .await?;
                Ok(export::Outcome::Written)
            }
            export::Plan::Unchanged => Ok(export::Outcome::Unchanged),
            export::Plan::Foreign => Ok(export::Outcome::Foreign),
        }
    }
}

/// The engine's writes of the status subresource, each a JSON merge patch: only the fields it
/// names change (an absent field stays, `null` clears).
#[derive(Debug)]
pub enum StatusPatch<'a, V> {
    /// The whole status of a reconcile (fields that are `None` are absent, so they stay).
    Whole(&'a ResourceStatus<V>),
    /// `status.id: null`.
    ClearId,
}

impl<V: Serialize> StatusPatch<'_, V> {
    /// The merge patch's body, as sent to the API server.
    pub fn body(&self) -> serde_json::Value {
        match self {
            StatusPatch::Whole(status) => json!({ "status": status }),
            StatusPatch::ClearId => json!({ "status": { "id": null } }),
        }
    }
}
