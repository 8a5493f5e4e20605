//! Other cloudlink objects as the running controllers' caches hold them: how a kind follows a
//! reference to another object (an approval's or a connection's `requestRef`), or a policy learns
//! which requests have an explicit decision, without a request to the API server and with no RBAC
//! beyond the watches cloudlink has anyway.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};

/// Each running kind's caches (one per watched namespace), by type: each entry holds `Store<K>`s
/// of its own `K`.
#[derive(Default)]
pub struct Objects {
    by_kind: RwLock<HashMap<TypeId, Vec<Box<dyn Any + Send + Sync>>>>,
}

impl Objects {
    /// Makes a controller's cache findable.
    pub fn register<K>(&self, store: Store<K>)
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.by_kind
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(TypeId::of::<K>())
            .or_default()
            .push(Box::new(store));
    }

    /// The object `namespace/name` of kind `K`, if a running controller has it.
    pub fn get<K>(&self, namespace: &str, name: &str) -> Option<K>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        let key = ObjectRef::<K>::new(name).within(namespace);
        self.stores::<K>()
            .iter()
            .find_map(|store| store.get(&key))
            .map(|object| (*object).clone())
    }

    /// Whether a running controller has the object `namespace/name` of kind `K` with this UID
    /// (without copying it).
    pub fn holds<K>(&self, namespace: &str, name: &str, uid: &str) -> bool
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        let key = ObjectRef::<K>::new(name).within(namespace);
        self.stores::<K>().iter().any(|store| {
            store
                .get(&key)
                .is_some_and(|object| object.meta().uid.as_deref() == Some(uid))
        })
    }

    /// Every object of kind `K` the running controllers have.
    pub fn all<K>(&self) -> Vec<Arc<K>>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        self.stores::<K>()
            .iter()
            .flat_map(|store| store.state())
            .collect()
    }

    /// `K`'s caches (a `Store` is a handle: cloning it copies no object).
    fn stores<K>(&self) -> Vec<Store<K>>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        let kinds = self.by_kind.read().unwrap_or_else(|e| e.into_inner());
        kinds
            .get(&TypeId::of::<K>())
            .into_iter()
            .flatten()
            .filter_map(|store| store.downcast_ref::<Store<K>>())
            .cloned()
            .collect()
    }
}
