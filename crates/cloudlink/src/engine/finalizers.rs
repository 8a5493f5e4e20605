//! Adding and removing one finalizer with JSON patches that fail on a concurrent change (the
//! `test` op), so another controller's finalizers are never overwritten.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Put on every object before cloudlink writes anything to the cloud for it.
pub const FINALIZER: &str = "cloudlink.dev/finalizer";

/// Adds `finalizer` unless present.
pub async fn add<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match adding(object.meta(), finalizer) {
        Some(patch) => patch_json(api, object, patch).await,
        None => Ok(()),
    }
}

/// Removes `finalizer` if present.
pub async fn remove<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match removing(object.meta(), finalizer) {
        Some(patch) => patch_json(api, object, patch).await,
        None => Ok(()),
    }
}

/// Pure: the JSON patch that adds `finalizer` to an object with `meta`; `None` if it has it.
pub fn adding(meta: &ObjectMeta, finalizer: &str) -> Option<json_patch::Patch> {
    let patch = match &meta.finalizers {
        Some(list) if list.iter().any(|f| f == finalizer) => return None,
        Some(list) => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": list},
            {"op": "add", "path": "/metadata/finalizers/-", "value": finalizer},
        ]),
        None => json!([
            {"op": "test", "path": "/metadata/uid", "value": meta.uid},
            {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
        ]),
    };
    Some(serde_json::from_value(patch).expect("well-formed JSON patch"))
}

/// Pure: the JSON patch that removes `finalizer` from an object with `meta`; `None` if it has
/// none.
pub fn removing(meta: &ObjectMeta, finalizer: &str) -> Option<json_patch::Patch> {
    let index = meta
        .finalizers
        .as_ref()
        .and_then(|list| list.iter().position(|f| f == finalizer))?;
    let path = format!("/metadata/finalizers/{index}");
    let patch =
        json!([{"op": "test", "path": path, "value": finalizer}, {"op": "remove", "path": path}]);
    Some(serde_json::from_value(patch).expect("well-formed JSON patch"))
}

async fn patch_json<K>(
    api: &Api<K>,
    object: &K,
    patch: json_patch::Patch,
) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.as_deref().unwrap_or_default();
    api.patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .map(|_| ())
}
