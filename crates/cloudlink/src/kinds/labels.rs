//! The requester's side of an ECL resource's labels (`name`, `description`, `tags`), shared by
//! tenant connection requests and tenant connections: cloudlink's ownership marks live in the
//! tags, are kept by every update, and are hidden from `status.resource.tags`.

use std::collections::BTreeMap;

use crate::api::tenant_connection_request::{OBJECT_TAG, OWNER_TAG};
use crate::engine::adapter::Owner;

/// The tags that mark a resource as `owner`'s.
pub fn marks(owner: &Owner) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([(OWNER_TAG.to_owned(), owner.uid.clone())]);
    if let Some(object) = &owner.object {
        tags.insert(OBJECT_TAG.to_owned(), object.clone());
    }
    tags
}

/// The owner the marks in `tags` name (`None`: no mark).
pub fn owner(tags: &BTreeMap<String, String>) -> Option<Owner> {
    Some(Owner {
        uid: tags.get(OWNER_TAG).filter(|uid| !uid.is_empty())?.clone(),
        object: tags.get(OBJECT_TAG).cloned(),
    })
}

/// `tags` without cloudlink's marks, as status shows them.
pub fn without_marks(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = tags.clone();
    tags.remove(OWNER_TAG);
    tags.remove(OBJECT_TAG);
    tags
}

/// What the resource shows today.
pub struct Current<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub tags: &'a BTreeMap<String, String>,
}

/// Pure: the fields an update must send to make the labels match the spec (`None`: leave it).
/// Unset spec fields are left alone; cloudlink's marks are kept in the tags.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

pub fn changes(
    name: Option<&str>,
    description: Option<&str>,
    tags: &BTreeMap<String, String>,
    current: Current<'_>,
) -> Option<Changes> {
    let mut wanted = tags.clone();
    for key in [OWNER_TAG, OBJECT_TAG] {
        if let Some(value) = current.tags.get(key) {
            wanted.insert(key.into(), value.clone());
        }
    }
    let changes = Changes {
        name: name.filter(|n| *n != current.name).map(str::to_owned),
        description: description
            .filter(|d| *d != current.description)
            .map(str::to_owned),
        tags: (wanted != *current.tags).then_some(wanted),
    };
    (changes != Changes::default()).then_some(changes)
}
