//! The real Keystone: its accounts, tokens from it, and clouds.yaml files that point at it.

use serde_json::json;

use super::http::{Reply, http, send};

/// A Keystone user with a role on one project (all in the `default` domain).
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub user_id: String,
    pub password: String,
    pub project: String,
    pub project_id: String,
}

/// An application credential (unrestricted id + secret; the project is fixed by the credential).
#[derive(Clone, Debug)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub secret: String,
}

/// The real Keystone started by `hack/keystone.sh up` for this test run.
#[derive(Clone, Debug)]
pub struct RealKeystone {
    /// `http://127.0.0.1:PORT/v3`
    pub url: String,
    pub region: String,
    pub domain: String,
    /// admin user on the admin project (roles admin, manager, member, reader)
    pub admin: Account,
    /// the second user and project (role member)
    pub demo: Account,
    /// the emulator's service user (role service on project `service`): may validate any token
    pub service: Account,
    /// demo's application credential (project demo, role member)
    pub appcred: AppCredential,
    /// admin's application credential (project admin, role admin)
    pub admin_appcred: AppCredential,
    /// service ids by type: compute, provider-connectivity, sss, sssv2
    pub service_ids: Vec<(String, String)>,
}

impl RealKeystone {
    /// POST /v3/auth/tokens with a password, scoped to the account's project; the raw reply.
    pub async fn password_auth(&self, account: &Account) -> Reply {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": account.user, "domain": {"id": self.domain}, "password": account.password}}},
            "scope": {"project": {"id": account.project_id}}}});
        send(http().post(format!("{}/auth/tokens", self.url)).json(&body)).await
    }

    /// A token for `account`, by password (Keystone answers 201 with `X-Subject-Token`).
    pub async fn token(&self, account: &Account) -> String {
        let reply = self.password_auth(account).await;
        assert_eq!(
            reply.status, 201,
            "password auth for {} failed: {}",
            account.user, reply.body
        );
        reply
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// A token from an application credential.
    pub async fn appcred_token(&self, credential: &AppCredential) -> String {
        let body = json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": credential.id, "secret": credential.secret}}}});
        let reply = send(http().post(format!("{}/auth/tokens", self.url)).json(&body)).await;
        assert_eq!(
            reply.status, 201,
            "application credential auth failed: {}",
            reply.body
        );
        reply
            .header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// Revokes `token` (DELETE /v3/auth/tokens, authorised by an admin token).
    pub async fn revoke(&self, token: &str) {
        let admin = self.token(&self.admin.clone()).await;
        let reply = send(
            http()
                .delete(format!("{}/auth/tokens", self.url))
                .header("X-Auth-Token", admin)
                .header("X-Subject-Token", token),
        )
        .await;
        assert_eq!(reply.status, 204, "token revocation failed: {}", reply.body);
    }

    /// GET /v3/auth/tokens for `token`, as the service user: what a service sees when validating it.
    pub async fn validate(&self, token: &str) -> Reply {
        let service = self.token(&self.service.clone()).await;
        send(
            http()
                .get(format!("{}/auth/tokens?nocatalog", self.url))
                .header("X-Auth-Token", service)
                .header("X-Subject-Token", token),
        )
        .await
    }

    /// What Keystone itself answers to a request made with an unusable `token`: its 401.
    pub async fn unauthorized_reply(&self, token: &str) -> Reply {
        send(
            http()
                .get(format!("{}/auth/projects", self.url))
                .header("X-Auth-Token", token),
        )
        .await
    }

    /// A clouds.yaml with one cloud, `real`: `account` by password (user and project by name, the
    /// domains by id), endpoints of `region`.
    pub fn clouds_yaml_password(&self, account: &Account, region: &str) -> String {
        format!(
            "clouds:\n  real:\n    auth:\n      auth_url: '{}'\n      username: '{}'\n      password: '{}'\n      \
             project_name: '{}'\n      user_domain_id: '{}'\n      project_domain_id: '{}'\n    region_name: '{region}'\n    \
             interface: public\n    identity_api_version: 3\n",
            self.url, account.user, account.password, account.project, self.domain, self.domain
        )
    }

    /// A clouds.yaml with one cloud, `real`: an application credential, endpoints of `region`.
    pub fn clouds_yaml_appcred(&self, credential: &AppCredential, region: &str) -> String {
        format!(
            "clouds:\n  real:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: '{}'\n      \
             application_credential_id: '{}'\n      application_credential_secret: '{}'\n    region_name: '{region}'\n",
            self.url, credential.id, credential.secret
        )
    }
}
