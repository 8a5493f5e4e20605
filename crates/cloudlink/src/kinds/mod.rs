//! One adapter per kind: the kind's cloud calls and what its cloud states mean. The lifecycle
//! itself is the engine's (`crate::engine`).
//!
//! [`each`] is the registry: everything that must know every kind (the CRDs, the operator's
//! preflight and controllers, the chart's RBAC check) walks it. Adding a kind is one API file
//! (`crate::api`), one adapter here, and one line in [`each`].

pub mod cloudpipe;
pub mod labels;
pub mod tenant_connection;
pub mod tenant_connection_approval;
pub mod tenant_connection_request;

use crate::engine::adapter::Adapter;

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

/// Something done once per kind.
pub trait Visit {
    fn kind<K: Kind>(&mut self)
    where
        K::Object: kube::CustomResourceExt;
}

/// Every kind cloudlink manages, in the order their CRDs are listed.
pub fn each(visit: &mut impl Visit) {
    visit.kind::<cloudpipe::CloudpipeAdapter>();
    visit.kind::<tenant_connection_request::TenantConnectionRequestAdapter>();
    visit.kind::<tenant_connection_approval::TenantConnectionApprovalAdapter>();
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
            use kube::Resource;
            self.0.push(K::Object::plural(&()).into_owned());
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
            use kube::Resource;
            let file = format!("{}.yaml", K::Object::plural(&()));
            self.0.push((file, crate::api::crd::<K::Object>()));
        }
    }
    let mut crds = Crds(Vec::new());
    each(&mut crds);
    crds.0
}
