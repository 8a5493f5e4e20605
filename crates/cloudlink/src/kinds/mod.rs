//! One adapter per kind: the kind's cloud calls and what its cloud states mean. The lifecycle
//! itself is the engine's (`crate::engine`).
//!
//! [`each`] is the registry: everything that must know every kind (the CRDs, the operator's
//! preflight and controllers, the chart's RBAC check) walks it. Adding a kind is one API file
//! (`crate::api`), one adapter here, and one line in [`each`]. A kind that acts on many cloud
//! resources at once (an approval policy) does not fit the engine's one object, one resource
//! lifecycle: it is a [`Standalone`] kind, with a controller of its own.

pub mod cloudpipe;
pub mod labels;
pub mod tenant_connection;
pub mod tenant_connection_approval;
pub mod tenant_connection_approval_policy;
pub mod tenant_connection_request;

use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;

use crate::engine::adapter::Adapter;
use crate::engine::credentials::Credentials;
use crate::engine::objects::Objects;

/// What a kind must be to be registered: an adapter the operator can build on its own, over a
/// custom resource with a generated CRD.
pub trait Kind: Adapter + Default
where
    Self::Object: kube::CustomResourceExt,
{
}

impl<A> Kind for A
where
    A: Adapter + Default,
    A::Object: kube::CustomResourceExt,
{
}

/// A kind with a controller of its own, outside the engine.
pub trait Standalone {
    type Object: kube::CustomResourceExt
        + Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static;

    /// The controller for `namespace` (every namespace when `None`), until the process is asked
    /// to stop; `synced` once its objects are listed.
    fn run(
        parts: &Parts,
        namespace: Option<String>,
        synced: Box<dyn FnOnce() + Send>,
    ) -> BoxFuture<'static, ()>;
}

/// What the operator shares with a standalone kind's controller.
#[derive(Clone)]
pub struct Parts {
    pub client: kube::Client,
    pub credentials: Arc<dyn Credentials>,
    pub objects: Arc<Objects>,
    /// `--watch-label-selector`: the controller watches only the objects it selects.
    pub selector: Option<String>,
}

/// Something done once per kind.
pub trait Visit {
    fn kind<K: Kind>(&mut self)
    where
        K::Object: kube::CustomResourceExt;

    fn standalone<S: Standalone>(&mut self);
}

/// Every kind cloudlink manages, in the order their CRDs are listed.
pub fn each(visit: &mut impl Visit) {
    visit.kind::<cloudpipe::CloudpipeAdapter>();
    visit.kind::<tenant_connection_request::TenantConnectionRequestAdapter>();
    visit.kind::<tenant_connection_approval::TenantConnectionApprovalAdapter>();
    visit.standalone::<tenant_connection_approval_policy::ApprovalPolicies>();
    visit.kind::<tenant_connection::TenantConnectionAdapter>();
}

/// The plural names of every kind (`cloudpipes`, …), as RBAC rules name them.
pub fn plurals() -> Vec<String> {
    struct Plurals(Vec<String>);
    impl Visit for Plurals {
        fn kind<K: Kind>(&mut self)
        where
            K::Object: kube::CustomResourceExt,
        {
            self.0.push(K::Object::plural(&()).into_owned());
        }
        fn standalone<S: Standalone>(&mut self) {
            self.0.push(S::Object::plural(&()).into_owned());
        }
    }
    let mut plurals = Plurals(Vec::new());
    each(&mut plurals);
    plurals.0
}

/// Every CRD cloudlink serves, with the file name it has under `crds/`.
pub fn crds() -> Vec<(
    String,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
)> {
    struct Crds(
        Vec<(
            String,
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        )>,
    );
    impl Visit for Crds {
        fn kind<K: Kind>(&mut self)
        where
            K::Object: kube::CustomResourceExt,
        {
            let file = format!("{}.yaml", K::Object::plural(&()));
            self.0.push((file, crate::api::crd::<K::Object>()));
        }
        fn standalone<S: Standalone>(&mut self) {
            let file = format!("{}.yaml", S::Object::plural(&()));
            self.0.push((file, crate::api::crd::<S::Object>()));
        }
    }
    let mut crds = Crds(Vec::new());
    each(&mut crds);
    crds.0
}
