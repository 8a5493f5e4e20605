//! An ECL SSS answer body → what `SssClient` reads from it: the list of approval requests, and
//! one approval request (bare, as SSS shows it, or wrapped in `approval_request`).
//!
//! Input: the body of a 200 answer; both readings are tried on it. An approval that parses must
//! survive a round trip through its own JSON, shown bare (the actions' `body` left out of the
//! comparison: it is free JSON, whose floats serde_json does not promise to read back bit for bit).

#![no_main]

use cloudlink_cloud::fuzzing;
use cloudlink_cloud::{ApprovalRequest, CloudError};
use libfuzzer_sys::fuzz_target;

fn without_bodies(mut a: ApprovalRequest) -> ApprovalRequest {
    a.actions
        .iter_mut()
        .for_each(|action| action.body = serde_json::Value::Null);
    a
}

fn check(approval: &ApprovalRequest) {
    let json = serde_json::to_vec(approval).unwrap();
    let again: ApprovalRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(without_bodies(again), without_bodies(approval.clone()));
    if !approval.request_id.is_empty() || !approval.status.is_empty() {
        let shown = fuzzing::sss_approval(&json).expect("an approval shown bare reads back");
        assert_eq!(without_bodies(shown), without_bodies(approval.clone()));
    }
}

fuzz_target!(|data: &[u8]| {
    match fuzzing::sss_approval_list(data) {
        Ok(list) => list.iter().for_each(check),
        Err(e) => assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}"),
    }
    match fuzzing::sss_approval(data) {
        Ok(approval) => {
            assert!(!approval.request_id.is_empty() || !approval.status.is_empty());
            check(&approval);
        }
        Err(e) => assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}"),
    }
});
