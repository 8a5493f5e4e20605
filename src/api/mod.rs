//! The Kubernetes API of cloudlink: group `cloudlink.dev`, version `v1alpha1`.

pub mod cloudpipe;
pub mod common;
pub mod tenant_connection_request;

pub use cloudpipe::Cloudpipe;
pub use tenant_connection_request::TenantConnectionRequest;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Every CRD cloudlink serves, with the file name it has under `crds/`.
pub fn crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("cloudpipes.yaml", unwrap_descriptions(Cloudpipe::crd())),
        ("tenantconnectionrequests.yaml", unwrap_descriptions(TenantConnectionRequest::crd())),
    ]
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
                            *text = text.split("\n\n").map(|p| p.split('\n').collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n\n");
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
