//! The Kubernetes API of cloudlink: group `cloudlink.dev`, version `v1alpha1`.

pub mod cloudpipe;
pub mod common;
pub mod tenant_connection;
pub mod tenant_connection_approval;
pub mod tenant_connection_approval_policy;
pub mod tenant_connection_request;

pub use cloudpipe::Cloudpipe;
pub use tenant_connection::TenantConnection;
pub use tenant_connection_approval::TenantConnectionApproval;
pub use tenant_connection_approval_policy::TenantConnectionApprovalPolicy;
pub use tenant_connection_request::TenantConnectionRequest;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// A kind's CRD as cloudlink serves it (every kind's: `crate::kinds::crds`).
pub fn crd<K: CustomResourceExt>() -> CustomResourceDefinition {
    unreconciled_by_default(unwrap_descriptions(K::crd()))
}

/// A new object gets `status: {observedGeneration: -1}` from the API server, so that kstatus (Flux)
/// sees it as not yet observed instead of Current before cloudlink has looked at it (the Flux pattern).
fn unreconciled_by_default(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON;
    for version in &mut crd.spec.versions {
        let status = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|s| s.properties.as_mut())
            .and_then(|p| p.get_mut("status"));
        if let Some(status) = status {
            status.default = Some(JSON(serde_json::json!({ "observedGeneration": -1 })));
        }
    }
    crd
}

/// Doc comments are wrapped at ~100 columns in the source; `kubectl explain` wraps again. Join the
/// lines of each paragraph so users see the text as it was meant, keeping blank-line paragraph breaks.
fn unwrap_descriptions(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        serde_json::Value::String(text) if key == "description" => {
                            *text = text
                                .split("\n\n")
                                .map(|p| p.split('\n').collect::<Vec<_>>().join(" "))
                                .collect::<Vec<_>>()
                                .join("\n\n");
                        }
                        _ => walk(child),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(crd).expect("a CRD always serialises");
    walk(&mut value);
    serde_json::from_value(value).expect("only descriptions changed")
}

/// One CRD as the YAML committed under `crds/`.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    serde_yaml_ng::to_string(crd).expect("a CRD always serialises")
}
