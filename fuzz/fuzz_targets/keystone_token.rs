//! A Keystone answer to `POST /v3/auth/tokens` (201, `X-Subject-Token`) → the token parsing of
//! the session (`keystone::parse_token`: project, user, roles, `expires_at`/`issued_at`, catalog),
//! then the endpoint lookups the session makes in the catalog, and the URL it builds from one.
//!
//! Input: the token body (JSON). The lookups ask for cloudlink's three services and identity,
//! plus every service type in the catalog, with each interface, in no region, in each region the
//! catalog names and in one it may not.

#![no_main]

use cloudlink_cloud::catalog::Catalog;
use cloudlink_cloud::{CloudError, Interface, fuzzing};
use libfuzzer_sys::fuzz_target;

const TOKEN: &[u8] = b"gAAAAABk-fuzz-token";
const SERVICES: [&str; 4] = ["compute", "provider-connectivity", "sss", "identity"];
const INTERFACES: [Interface; 3] = [Interface::Public, Interface::Internal, Interface::Admin];
/// Bounds the lookups for a large catalog; every entry is still parsed.
const MAX_NAMES: usize = 8;

fn lookups(catalog: &Catalog) {
    let mut services: Vec<&str> = SERVICES.to_vec();
    services.extend(catalog.0.iter().map(|s| s.service_type.as_str()).take(MAX_NAMES));
    let mut regions: Vec<Option<&str>> = vec![None, Some("RegionOne")];
    regions.extend(
        catalog
            .0
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .flat_map(|e| [&e.region, &e.region_id])
            .map(|r| Some(r.as_str()))
            .take(MAX_NAMES),
    );
    for service in &services {
        for interface in INTERFACES {
            for region in &regions {
                match catalog.endpoint("fuzz", service, interface, *region) {
                    Ok(url) => {
                        // The URL is one of the catalog's endpoints of that type, interface and region.
                        assert!(!url.is_empty());
                        let found = catalog
                            .0
                            .iter()
                            .filter(|s| s.service_type == *service)
                            .flat_map(|s| s.endpoints.iter())
                            .any(|e| {
                                e.url == url
                                    && e.interface.trim_end_matches("URL") == interface.as_str()
                                    && region.is_none_or(|r| e.region == r || e.region_id == r)
                            });
                        assert!(
                            found,
                            "{url} is not a {service} {} endpoint in {region:?}",
                            interface.as_str()
                        );
                        // What the session does with it: parse, then append the version and the path.
                        if let Ok(mut root) = url::Url::parse(&url)
                            && let Ok(mut segments) = root.path_segments_mut()
                        {
                            segments.pop_if_empty().extend(["v2.1", "os-cloudpipe"]);
                        }
                    }
                    Err(e) => assert!(matches!(e, CloudError::Config(_)), "{e:?}"),
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let headers = fuzzing::headers([(&b"x-subject-token"[..], TOKEN)]);
    match fuzzing::parse_keystone_token(headers, data, "fuzz") {
        Ok(info) => {
            assert!(!info.project_id.is_empty(), "a token without a project is refused");
            assert!(info.roles.iter().all(|r| !r.is_empty()), "{:?}", info.roles);
            let _ = format!("{} {info:?}", info.expires_at);
            lookups(&info.catalog);
        }
        Err(e) => assert!(
            matches!(e, CloudError::InvalidResponse { .. } | CloudError::Config(_)),
            "{e:?}"
        ),
    }
});
