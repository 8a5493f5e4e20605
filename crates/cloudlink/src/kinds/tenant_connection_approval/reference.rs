//! `spec.resource.requestRef`: the requester's `TenantConnectionRequest` object, read from the
//! controllers' caches. Another namespace's object must grant the approval's namespace, so that
//! cloudlink never reads (or acts on) a team's object for a namespace it did not name.

use crate::api::TenantConnectionRequest;
use crate::api::common::annotation::APPROVAL_NAMESPACES;
use crate::api::tenant_connection_approval::RequestRef;
use crate::engine::adapter::AdapterError;
use crate::engine::objects::Objects;
use crate::engine::outcome::Reason;
use kube::ResourceExt;

/// Waiting on the requester's team (its object, its id, its grant): looked at again this often.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The cloud id of the request `reference` names, seen from namespace `here`. Waiting (the
/// object is not there yet, has no id yet, or does not grant `here` yet) is retried with backoff:
/// each of these ends with a change on the requester's side, which this object does not watch.
pub(super) fn request_id(
    objects: &Objects,
    here: &str,
    reference: &RequestRef,
) -> Result<String, AdapterError> {
    let namespace = reference.namespace.as_deref().unwrap_or(here);
    let name = &reference.name;
    let Some(request) = objects.get::<TenantConnectionRequest>(namespace, name) else {
        return Err(AdapterError::waiting(
            Reason::Progressing,
            format!(
                "spec.resource.requestRef: no TenantConnectionRequest {namespace}/{name} (is the name right, and does cloudlink watch namespace {namespace}?); cloudlink looks again"
            ),
            WAIT,
        ));
    };
    if namespace != here && !grants(&request, here) {
        return Err(AdapterError::waiting(
            Reason::Progressing,
            format!(
                "spec.resource.requestRef: TenantConnectionRequest {namespace}/{name} does not let namespace {here} decide it: its team must add {here} to its annotation {APPROVAL_NAMESPACES}; cloudlink looks again"
            ),
            WAIT,
        ));
    }
    request
        .status
        .as_ref()
        .and_then(|s| s.id.clone())
        .ok_or_else(|| {
            AdapterError::waiting(
            Reason::Progressing,
            format!(
                "spec.resource.requestRef: TenantConnectionRequest {namespace}/{name} has no id yet; cloudlink looks again"
            ), WAIT)
        })
}

/// Pure: whether the request lists namespace `here` in its grant annotation.
pub(super) fn grants(request: &TenantConnectionRequest, here: &str) -> bool {
    request
        .annotations()
        .get(APPROVAL_NAMESPACES)
        .is_some_and(|list| list.split(',').any(|ns| ns.trim() == here))
}
