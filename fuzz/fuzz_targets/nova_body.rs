//! A Nova answer body → what `NovaClient` reads from it: the cloudpipe list (`GET /os-cloudpipe`),
//! the new cloudpipe's instance id (`POST /os-cloudpipe`) and a server (`GET /servers/{id}`).
//!
//! Input: the body of a 200 answer; every reading is tried on it. What parses must survive a
//! round trip through its own JSON (a server's `addresses` left out: it is free JSON, whose
//! floats serde_json does not promise to read back bit for bit).

#![no_main]

use cloudlink_cloud::fuzzing;
use cloudlink_cloud::{CloudError, CloudpipeEntry, Server};
use libfuzzer_sys::fuzz_target;

fn check_err(e: CloudError) {
    assert!(matches!(e, CloudError::InvalidResponse { .. }), "{e:?}");
}

fuzz_target!(|data: &[u8]| {
    match fuzzing::nova_cloudpipe_list(data) {
        Ok(list) => {
            for pipe in list {
                for field in [&pipe.created_at, &pipe.internal_ip, &pipe.public_ip, &pipe.state] {
                    assert_ne!(field.as_deref(), Some(""), "an empty string reads as absent");
                }
                let again: CloudpipeEntry = serde_json::from_slice(&serde_json::to_vec(&pipe).unwrap()).unwrap();
                assert_eq!(again, pipe);
            }
        }
        Err(e) => check_err(e),
    }
    match fuzzing::nova_created_cloudpipe(data) {
        Ok(id) => assert!(!id.is_empty()),
        Err(e) => check_err(e),
    }
    match fuzzing::nova_server(data) {
        Ok(mut server) => {
            let mut again: Server = serde_json::from_slice(&serde_json::to_vec(&server).unwrap()).unwrap();
            again.addresses.clear();
            server.addresses.clear();
            assert_eq!(again, server);
        }
        Err(e) => check_err(e),
    }
});
