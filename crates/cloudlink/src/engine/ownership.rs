//! One cloud resource, one owner. Two managed objects can name the same cloud resource: Nova
//! keeps one cloudpipe per project and its create answers with the existing one, and two objects
//! can import the same id. Only the first claimant may change or delete it; a later one is
//! `Stalled` (reason `Conflict`) naming the owner, and its deletion leaves the resource alone.
//!
//! Who owns a resource is decided by a mark in the resource itself (a request's tags, a server's
//! metadata), so the decision survives restarts and holds across two clusters managing one cloud.
//! A resource the cloud cannot mark yet (a server still building) is claimed in this process
//! first: within one cluster there is one active operator, so its claims settle who came first
//! until the mark can be written.
//!
//! This module holds the rules and the claims; `claim.rs` applies them to a reconcile.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::ResourceExt;

/// The object a cloud resource belongs to, as its mark records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The object's UID: what decides.
    pub uid: String,
    /// `namespace/name`, for people (absent from marks older than this field).
    pub object: Option<String>,
}

/// The longest value a mark may hold (Nova metadata values and ECL tag values: 255 characters).
const MAX_MARK_VALUE: usize = 255;

impl Owner {
    pub fn of(object: &impl ResourceExt) -> Owner {
        let name = format!(
            "{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        );
        Owner {
            uid: object.uid().unwrap_or_default(),
            object: Some(name.chars().take(MAX_MARK_VALUE).collect()),
        }
    }

    /// How a message names the owner.
    pub fn describe(&self) -> String {
        match &self.object {
            Some(object) => format!("cloudlink object {object} (UID {})", self.uid),
            None => format!("the cloudlink object with UID {}", self.uid),
        }
    }
}

/// What the engine does with a resource it has just read, created, found or imported.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// It is this object's, and its mark says so.
    Owned,
    /// Nobody's mark is on it and nobody here claimed it first: mark it as this object's.
    Claim,
    /// It belongs to another object.
    Taken(Owner),
}

/// Pure: the resource's mark decides; without one, the claim this process recorded first.
pub fn decide(me: &Owner, mark: Option<&Owner>, claimed_here: Option<&Owner>) -> Decision {
    match mark.or(claimed_here) {
        Some(owner) if owner.uid != me.uid => Decision::Taken(owner.clone()),
        _ if mark.is_some() => Decision::Owned,
        _ => Decision::Claim,
    }
}

/// The claims this process has made, by cloud id. An entry lives as long as its object manages
/// the resource: it is dropped when the object is released or the resource is gone.
#[derive(Default)]
pub struct Claims {
    by_id: Mutex<HashMap<String, Owner>>,
}

impl Claims {
    /// Who claimed `id` here, if anyone did.
    pub fn holder(&self, id: &str) -> Option<Owner> {
        self.lock().get(id).cloned()
    }

    /// Records `owner`'s claim on `id` unless another object claimed it first; returns that object.
    pub fn claim(&self, id: &str, owner: &Owner) -> Result<(), Owner> {
        let mut claims = self.lock();
        match claims.get(id) {
            Some(first) if first.uid != owner.uid => Err(first.clone()),
            _ => {
                claims.insert(id.to_owned(), owner.clone());
                Ok(())
            }
        }
    }

    /// Drops `uid`'s claim on `id` (the object is released, or the resource is gone).
    pub fn release(&self, id: &str, uid: &str) {
        let mut claims = self.lock();
        if claims.get(id).is_some_and(|o| o.uid == uid) {
            claims.remove(id);
        }
    }

    /// Drops every claim of the object `uid` (it left this process's watch).
    pub fn release_all(&self, uid: &str) {
        self.lock().retain(|_, owner| owner.uid != uid);
    }

    /// The UIDs of the objects holding claims here.
    pub fn claimants(&self) -> Vec<String> {
        self.lock().values().map(|o| o.uid.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owner>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(uid: &str) -> Owner {
        Owner {
            uid: uid.into(),
            object: Some(format!("ns/{uid}")),
        }
    }

    #[test]
    fn the_mark_decides_before_any_claim_made_here() {
        let (a, b) = (owner("a"), owner("b"));
        assert_eq!(decide(&a, Some(&a), Some(&b)), Decision::Owned);
        assert_eq!(decide(&a, Some(&b), Some(&a)), Decision::Taken(b.clone()));
        assert_eq!(decide(&a, None, Some(&b)), Decision::Taken(b));
        assert_eq!(decide(&a, None, Some(&a)), Decision::Claim);
        assert_eq!(decide(&a, None, None), Decision::Claim);
    }

    #[test]
    fn the_first_claim_here_wins_until_it_is_released() {
        let claims = Claims::default();
        let (a, b) = (owner("a"), owner("b"));
        assert_eq!(claims.claim("srv", &a), Ok(()));
        assert_eq!(claims.claim("srv", &a), Ok(()));
        assert_eq!(claims.claim("srv", &b), Err(a.clone()));
        claims.release("srv", "b");
        assert_eq!(claims.holder("srv"), Some(a));
        claims.release("srv", "a");
        assert_eq!(claims.claim("srv", &b), Ok(()));
    }

    #[test]
    fn an_object_that_left_loses_every_claim_and_only_its_own() {
        let claims = Claims::default();
        let (a, b) = (owner("a"), owner("b"));
        claims.claim("srv-1", &a).unwrap();
        claims.claim("srv-2", &a).unwrap();
        claims.claim("srv-3", &b).unwrap();
        claims.release_all("a");
        assert_eq!(claims.claimants(), vec!["b".to_owned()]);
        assert_eq!(claims.claim("srv-1", &b), Ok(()));
    }

    #[test]
    fn a_long_name_is_cut_to_what_a_mark_can_hold() {
        let mut object = k8s_openapi::api::core::v1::ConfigMap::default();
        object.metadata.name = Some("x".repeat(253));
        object.metadata.namespace = Some("n".repeat(63));
        object.metadata.uid = Some("u".into());
        let owner = Owner::of(&object);
        assert_eq!(owner.object.unwrap().chars().count(), MAX_MARK_VALUE);
    }
}
