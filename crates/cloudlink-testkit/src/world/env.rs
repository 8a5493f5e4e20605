//! Finding what `hack/test.sh` started, from the `CLOUDLINK_TEST_*` variables it exports; a test
//! that finds one unset fails with a message naming `hack/test.sh`.

use std::path::PathBuf;

use super::keystone::{Account, AppCredential, RealKeystone};

fn var(name: &str, what: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run the integration tests with `hack/test.sh`, which starts {what} and exports \
             its settings (or `hack/test.sh --test <file>` for one file)"
        ),
    }
}

fn keystone_var(suffix: &str) -> String {
    var(
        &format!("CLOUDLINK_TEST_KEYSTONE_{suffix}"),
        "a real Keystone (hack/keystone.sh)",
    )
}

/// The real Keystone of this test run, from `CLOUDLINK_TEST_KEYSTONE_*`.
pub fn keystone() -> RealKeystone {
    let account = |prefix: &str| Account {
        user: keystone_var(&format!("{prefix}_USER")),
        user_id: keystone_var(&format!("{prefix}_USER_ID")),
        password: keystone_var(&format!("{prefix}_PASSWORD")),
        project: keystone_var(&format!("{prefix}_PROJECT")),
        project_id: keystone_var(&format!("{prefix}_PROJECT_ID")),
    };
    RealKeystone {
        url: keystone_var("URL"),
        region: keystone_var("REGION"),
        domain: keystone_var("DOMAIN"),
        admin: account("ADMIN"),
        demo: account("DEMO"),
        service: account("SERVICE"),
        appcred: AppCredential {
            id: keystone_var("APPCRED_ID"),
            name: keystone_var("APPCRED_NAME"),
            secret: keystone_var("APPCRED_SECRET"),
        },
        admin_appcred: AppCredential {
            id: keystone_var("ADMIN_APPCRED_ID"),
            name: keystone_var("ADMIN_APPCRED_NAME"),
            secret: keystone_var("ADMIN_APPCRED_SECRET"),
        },
        service_ids: [
            ("compute", "COMPUTE"),
            ("provider-connectivity", "PROVIDER_CONNECTIVITY"),
            ("sss", "SSS"),
            ("sssv2", "SSSV2"),
        ]
        .iter()
        .map(|(ty, key)| (ty.to_string(), keystone_var(&format!("{key}_SERVICE_ID"))))
        .collect(),
    }
}

/// The `nova` wrapper (python-novaclient 9.1.3) from `hack/python-clients.sh`.
pub fn nova_cli() -> PathBuf {
    PathBuf::from(var(
        "CLOUDLINK_TEST_NOVA",
        "the real Python clients (hack/python-clients.sh)",
    ))
}

/// The `ecl` wrapper (eclcli 4.8.0 + eclsdk 1.10.0) from `hack/python-clients.sh`.
pub fn ecl_cli() -> PathBuf {
    PathBuf::from(var(
        "CLOUDLINK_TEST_ECL",
        "the real Python clients (hack/python-clients.sh)",
    ))
}
