//! Other cloudlink objects as the running controllers' caches hold them: how a kind follows a
//! reference to another object (an approval's or a connection's `requestRef`) without a request
//! to the API server, and with no RBAC beyond the watches cloudlink has anyway.

use std::collections::HashMap;
use std::sync::RwLock;

use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

type Find = dyn Fn(&str, &str) -> Option<serde_json::Value> + Send + Sync;

/// Each running kind's cache, by kind name.
#[derive(Default)]
pub struct Objects {
    by_kind: RwLock<HashMap<String, Vec<Box<Find>>>>,
}

impl Objects {
    /// Makes a controller's cache findable (one per kind and watched namespace).
    pub fn register<K>(&self, store: Store<K>)
    where
        K: Resource<DynamicType = ()> + Serialize + Clone + Send + Sync + 'static,
    {
        let find = move |namespace: &str, name: &str| {
            let key = ObjectRef::<K>::new(name).within(namespace);
            store
                .get(&key)
                .and_then(|object| serde_json::to_value(&*object).ok())
        };
        self.by_kind
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(K::kind(&()).into_owned())
            .or_default()
            .push(Box::new(find));
    }

    /// The object `namespace/name` of kind `K`, if a running controller has it.
    pub fn get<K>(&self, namespace: &str, name: &str) -> Option<K>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let kinds = self.by_kind.read().unwrap_or_else(|e| e.into_inner());
        kinds
            .get(K::kind(&()).as_ref())?
            .iter()
            .find_map(|find| find(namespace, name))
            .and_then(|value| serde_json::from_value(value).ok())
    }
}
