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
    vec![("cloudpipes.yaml", Cloudpipe::crd()), ("tenantconnectionrequests.yaml", TenantConnectionRequest::crd())]
}

/// One CRD as the YAML committed under `crds/`.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    serde_yaml_ng::to_string(crd).expect("a CRD always serialises")
}
