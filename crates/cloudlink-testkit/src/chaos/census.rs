//! Objects beside cloud resources: duplicates, orphans, mismatches, leaks, and the checks every
//! scenario closes with.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::watch::Watched;

/// The tag cloudlink writes into every request it creates: the object's UID.
pub const UID_TAG: &str = "cloudlink.dev/uid";

/// Objects and cloud resources, compared.
#[derive(Clone, Debug, Default)]
pub struct Census {
    pub objects: usize,
    pub ready: usize,
    /// Cloud requests.
    pub resources: usize,
    /// Resources beyond the first carrying the same object's UID tag.
    pub duplicates: usize,
    /// Resources without a live object's UID tag.
    pub orphans: usize,
    /// Objects whose status.id is not the resource tagged with their UID.
    pub mismatched: usize,
    /// Objects not Ready, with their Ready condition.
    pub not_ready: Vec<String>,
}

impl Census {
    pub fn of(objects: &[Value], cloud: &[Value]) -> Census {
        let mut by_uid: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut untagged = 0;
        for resource in cloud {
            match resource["tags"][UID_TAG].as_str() {
                Some(uid) => by_uid
                    .entry(uid)
                    .or_default()
                    .push(resource["id"].as_str().unwrap_or("")),
                None => untagged += 1,
            }
        }
        let live: BTreeSet<&str> = objects
            .iter()
            .filter_map(|o| o["metadata"]["uid"].as_str())
            .collect();
        let mut census = Census {
            objects: objects.len(),
            resources: cloud.len(),
            duplicates: by_uid.values().map(|ids| ids.len() - 1).sum(),
            orphans: untagged
                + by_uid
                    .iter()
                    .filter(|(uid, _)| !live.contains(*uid))
                    .map(|(_, ids)| ids.len())
                    .sum::<usize>(),
            ..Census::default()
        };
        for object in objects {
            let name = object["metadata"]["name"].as_str().unwrap_or("?");
            let ready = crate::scenario::condition_of(object, "Ready");
            if ready.is_some_and(|c| c["status"] == "True") {
                census.ready += 1;
            } else {
                census.not_ready.push(format!(
                    "{name}: {}",
                    ready
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "no Ready condition".into())
                ));
            }
            let uid = object["metadata"]["uid"].as_str().unwrap_or("");
            let id = object["status"]["id"].as_str();
            if id.is_some()
                && by_uid
                    .get(uid)
                    .is_none_or(|ids| !ids.contains(&id.unwrap_or("")))
            {
                census.mismatched += 1;
            }
        }
        census
    }

    pub fn converged(&self, n: usize) -> bool {
        self.objects == n
            && self.ready == n
            && self.resources == n
            && self.duplicates == 0
            && self.orphans == 0
            && self.mismatched == 0
    }

    /// The first few objects that are not Ready, for a failure message.
    pub fn stragglers(&self) -> String {
        self.not_ready
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    }
}

/// What deleting every object left behind.
#[derive(Clone, Debug)]
pub struct Remains {
    /// Objects still there.
    pub objects: usize,
    /// Cloud requests still there (leaks).
    pub cloud: Vec<Value>,
}

/// The checks every scenario closes with: the fleet converged (`unconverged` says what failed to
/// happen), no object ever pointed at a second cloud resource, and deleting the objects left
/// neither an object nor a cloud resource.
pub fn assert_closing(
    unconverged: &str,
    census: &Census,
    converged: bool,
    seen: &Watched,
    remains: &Remains,
) {
    assert!(
        converged,
        "{unconverged}: {census:?}\n  {}",
        census.stragglers()
    );
    assert_eq!(
        seen.id_changes(),
        0,
        "an object pointed at two cloud resources: {:?}",
        seen.ids
    );
    assert_eq!(remains.objects, 0, "objects still there after deletion");
    assert!(
        remains.cloud.is_empty(),
        "cloud resources left after every object was deleted: {:?}",
        remains.cloud
    );
}
