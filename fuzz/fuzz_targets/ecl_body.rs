//! An ECL provider-connectivity answer body → what `EclClient` reads from it: the list of tenant
//! connection requests, and one request (show, create, update).
//!
//! Input: the body of a 200 answer; both readings are tried on it. A request that parses must
//! survive a round trip through its own JSON, and `approval_request_id` is never `Some("")`.

#![no_main]

use cloudlink_cloud::fuzzing;
use cloudlink_cloud::{CloudError, TenantConnectionRequestRecord};
use libfuzzer_sys::fuzz_target;

fn check(request: &TenantConnectionRequestRecord) {
    assert_ne!(
        request.approval_request_id.as_deref(),
        Some(""),
        "\"\" reads as no approval request yet"
    );
    let again: TenantConnectionRequestRecord = serde_json::from_slice(&serde_json::to_vec(request).unwrap()).unwrap();
    assert_eq!(&again, request);
}

fuzz_target!(|data: &[u8]| {
    match fuzzing::ecl_request_list(data) {
        Ok(list) => list.iter().for_each(check),
        Err(e) => assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}"),
    }
    match fuzzing::ecl_request(data) {
        Ok(request) => check(&request),
        Err(e) => assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}"),
    }
});
