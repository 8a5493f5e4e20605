//! Adding and removing one finalizer with JSON patches that fail on a concurrent change (the
//! `test` op), so another controller's finalizers are never overwritten.

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Adds `finalizer` unless present.
pub async fn add<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let meta = object.meta();
    let patch = match &meta.finalizers {
        Some(list) if list.iter().any(|f| f == finalizer) => return Ok(()),
        Some(list) => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": list},
            {"op": "add", "path": "/metadata/finalizers/-", "value": finalizer},
        ]),
        None => json!([
            {"op": "test", "path": "/metadata/uid", "value": meta.uid},
            {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
        ]),
    };
    patch_json(api, object, patch).await
}

/// Removes `finalizer` if present.
pub async fn remove<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(index) = object
        .meta()
        .finalizers
        .as_ref()
        .and_then(|list| list.iter().position(|f| f == finalizer))
    else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    patch_json(
        api,
        object,
        json!([{"op": "test", "path": path, "value": finalizer}, {"op": "remove", "path": path}]),
    )
    .await
}

async fn patch_json<K>(
    api: &Api<K>,
    object: &K,
    patch: serde_json::Value,
) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.as_deref().unwrap_or_default();
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("well-formed JSON patch");
    api.patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .map(|_| ())
}
