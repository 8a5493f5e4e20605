//! `spec.export`: the cloud's answer, published in a ConfigMap of the object's namespace that
//! cloudlink creates and owns (an ownerReference: Kubernetes deletes it with the object). The
//! decision is pure ([`plan`]); the writes go through [`super::writes::ObjectWrites::export`].
//!
//! A ConfigMap cloudlink did not create for this object is never written to: taking over a
//! ConfigMap someone else relies on would break them silently.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Resource, ResourceExt};

use super::conditions::Desired;
use super::outcome::Reason;
use crate::api::common::condition::EXPORTED;

/// Pure: the keys whose value the cloud has given (for `ManagedObject::exported`).
pub fn known<const N: usize>(values: [(&str, Option<String>); N]) -> BTreeMap<String, String> {
    values
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value?)))
        .collect()
}

/// What publishing needs to do, from what the ConfigMap holds now.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// It does not exist: create it.
    Create,
    /// It is ours and holds other values: write `data` over its data.
    Update,
    /// It is ours and up to date: no write.
    Unchanged,
    /// It exists and is not ours: leave it alone.
    Foreign,
}

/// What publishing did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
    Foreign,
}

/// Pure: what to do with `existing` for the object with UID `owner_uid` to publish `data`.
pub fn plan(
    existing: Option<&ConfigMap>,
    owner_uid: &str,
    data: &BTreeMap<String, String>,
) -> Plan {
    let Some(existing) = existing else {
        return Plan::Create;
    };
    let ours = existing
        .owner_references()
        .iter()
        .any(|r| r.uid == owner_uid && r.controller == Some(true));
    if !ours {
        Plan::Foreign
    } else if existing.data.as_ref().unwrap_or(&BTreeMap::new()) == data {
        Plan::Unchanged
    } else {
        Plan::Update
    }
}

/// The ConfigMap cloudlink creates for `object`: owned by it, so that it goes with it.
pub fn config_map<K: Resource<DynamicType = ()>>(
    object: &K,
    name: &str,
    data: &BTreeMap<String, String>,
) -> ConfigMap {
    let mut map = ConfigMap::default();
    map.metadata.name = Some(name.to_owned());
    map.metadata.namespace = object.namespace();
    map.metadata.labels = Some(BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_owned(),
        "cloudlink".to_owned(),
    )]));
    map.metadata.owner_references = Some(vec![OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: object.name_any(),
        uid: object.uid().unwrap_or_default(),
        controller: Some(true),
        // No foreground-deletion dependency: the object's own deletion must not wait for it.
        block_owner_deletion: None,
    }]);
    map.data = Some(data.clone());
    map
}

/// Pure: the `Exported` condition for an outcome.
pub fn condition(name: &str, outcome: &Outcome) -> Desired {
    match outcome {
        Outcome::Written | Outcome::Unchanged => Desired::new(
            EXPORTED,
            true,
            Reason::Success,
            format!("ConfigMap {name} holds the cloud's answer"),
        ),
        Outcome::Foreign => Desired::new(
            EXPORTED,
            false,
            Reason::Conflict,
            format!(
                "ConfigMap {name} exists and cloudlink did not create it for this object, so cloudlink does not write to it: name another ConfigMap in spec.export.configMapName, or delete that one"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owned_by(uid: &str, controller: bool, pairs: &[(&str, &str)]) -> ConfigMap {
        let mut map = ConfigMap::default();
        map.metadata.owner_references = Some(vec![OwnerReference {
            uid: uid.into(),
            controller: Some(controller),
            ..Default::default()
        }]);
        map.data = Some(data(pairs));
        map
    }

    #[test]
    fn only_a_config_map_this_object_controls_is_written() {
        let wanted = data(&[("id", "1")]);
        assert_eq!(plan(None, "me", &wanted), Plan::Create);
        assert_eq!(
            plan(Some(&owned_by("me", true, &[("id", "1")])), "me", &wanted),
            Plan::Unchanged
        );
        assert_eq!(
            plan(Some(&owned_by("me", true, &[])), "me", &wanted),
            Plan::Update
        );
        assert_eq!(
            plan(Some(&owned_by("other", true, &[])), "me", &wanted),
            Plan::Foreign
        );
        // Owned but not controlled (someone else's object lists us): not ours either.
        assert_eq!(
            plan(Some(&owned_by("me", false, &[])), "me", &wanted),
            Plan::Foreign
        );
        assert_eq!(
            plan(Some(&ConfigMap::default()), "me", &wanted),
            Plan::Foreign
        );
    }
}
