//! A Secret's `clouds.yaml` and the cloud's name → `parse_clouds_yaml`, then what the session does
//! next with a parsed cloud: the token URL and the token request's body.
//!
//! Input: the clouds.yaml text. A first line `# cloud: NAME` (a YAML comment, so the seeds stay
//! valid clouds.yaml files) names the cloud to read; without it the cloud is `demo`.

#![no_main]

use cloudlink_cloud::fuzzing;
use cloudlink_cloud::{CloudError, parse_clouds_yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cloud = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# cloud: "))
        .unwrap_or("demo");
    match parse_clouds_yaml(&text, cloud) {
        Ok(config) => {
            assert_eq!(config.cloud_name, cloud);
            let auth_url = url::Url::parse(&config.auth_url).expect("a parsed auth_url is a URL");
            assert!(matches!(auth_url.scheme(), "http" | "https"), "{}", auth_url.scheme());
            for (service, url) in &config.endpoint_overrides {
                assert!(!service.contains('_'), "override keys are service types: {service}");
                assert!(url::Url::parse(url).is_ok(), "override of {service} is a URL");
            }
            // The Debug of a config always hides its secret (a password or an application credential's).
            assert!(format!("{config:?}").contains("<redacted>"));
            if let Ok(token_url) = fuzzing::token_url(&config.auth_url) {
                assert!(token_url.path().ends_with("/auth/tokens"), "{token_url}");
            }
            let body = fuzzing::auth_body(&config);
            assert!(
                body["auth"]["identity"]["methods"].is_array(),
                "{}",
                body["auth"]["identity"]["methods"]
            );
        }
        Err(e) => {
            assert!(matches!(e, CloudError::Config(_)), "{e:?}");
            let _ = e.to_string();
        }
    }
});
