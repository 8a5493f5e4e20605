//! Checks made before the operator starts: a missing CRD is an installation mistake that the
//! operator cannot fix, so it says how to fix it and exits instead of waiting forever.

use futures::future::BoxFuture;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};

use crate::kinds::{self, Kind, Visit};

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "the {kind} CRD ({plural}.{group}) is not installed in this cluster: install the CRDs with \
         `kubectl apply --server-side -f crds/` (or `cloudlink crd | kubectl apply --server-side -f -`, or the Helm chart)"
    )]
    CrdMissing {
        kind: String,
        plural: String,
        group: String,
    },
    #[error("cannot reach the Kubernetes API server to check the CRDs: {0}")]
    Kube(#[source] kube::Error),
}

/// Fails unless the API server serves every kind. Needs only `list` on cloudlink's own kinds in
/// `namespace` (or cluster-wide when `None`), which the operator has anyway: it does not need to
/// read CRD objects.
pub async fn check_crds_installed(
    client: &Client,
    namespace: Option<&str>,
) -> Result<(), PreflightError> {
    struct Checks<'a> {
        client: &'a Client,
        namespace: Option<&'a str>,
        checks: Vec<BoxFuture<'a, Result<(), PreflightError>>>,
    }
    impl<'a> Visit for Checks<'a> {
        fn kind<K: Kind>(&mut self)
        where
            K::Object: kube::CustomResourceExt,
        {
            self.checks.push(Box::pin(check_kind::<K::Object>(
                self.client,
                self.namespace,
            )));
        }
        fn standalone<S: kinds::Standalone>(&mut self) {
            self.checks.push(Box::pin(check_kind::<S::Object>(
                self.client,
                self.namespace,
            )));
        }
    }
    let mut checks = Checks {
        client,
        namespace,
        checks: Vec::new(),
    };
    kinds::each(&mut checks);
    for check in checks.checks {
        check.await?;
    }
    Ok(())
}

async fn check_kind<K>(client: &Client, namespace: Option<&str>) -> Result<(), PreflightError>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(PreflightError::CrdMissing {
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            group: K::group(&()).into_owned(),
        }),
        Err(e) => Err(PreflightError::Kube(e)),
    }
}
