//! Reading one cloud out of an OpenStack `clouds.yaml`, as a user would put it into a Secret.
//!
//! The file is read into a generic YAML tree first and picked apart by hand, rather than
//! deserialised into structs, for two reasons: every error can name the exact key that is
//! missing or wrong ("clouds.yaml: cloud 'x' is missing auth.auth_url"), and no error can
//! quote a value — serde's "invalid type: string \"…\"" would print a password.
//!
//! Supported, as in openstacksdk: `auth.auth_url`; `auth.username` + `auth.user_domain_{name,id}`
//! or `auth.user_id`; `auth.password`; `auth.project_id` or `auth.project_name` +
//! `auth.project_domain_{name,id}` (`tenant_*` aliases, as ECL users write them);
//! `auth.default_domain`; `auth.application_credential_{id,secret}` or
//! `auth.application_credential_name` with a user; `auth_type`; `region_name`; `interface`
//! (or `endpoint_type`); `verify` (or the legacy `insecure`); `cacert`; and
//! `<service_type>_endpoint_override` (hyphens written as underscores).
//!
//! `cacert` is a file path, which means nothing inside a Secret: the CA bundle itself comes from
//! the Secret's `cacert` key and is handed to the session separately.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::error::CloudError;
use super::secret::Secret;

/// One cloud of a clouds.yaml, checked and ready to authenticate.
///
/// `Eq` and `Hash` cover every field, secrets included, so a token cache can be keyed by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CloudConfig {
    /// The name under `clouds:`.
    pub cloud_name: String,
    /// Keystone, as written (with or without `/v3`).
    pub auth_url: String,
    pub auth: AuthMethod,
    pub region_name: Option<String>,
    pub interface: Interface,
    /// False only when clouds.yaml says `verify: false` (or `insecure: true`).
    pub verify: bool,
    /// The `cacert` path from the file. Never read; kept to tell the user where the PEM must go.
    pub cacert_path: Option<String>,
    /// Service type (`compute`, `provider-connectivity`, `sss`) → URL, bypassing the catalog.
    pub endpoint_overrides: BTreeMap<String, String>,
}

/// How to get a token. `Debug` is safe: secrets are [`Secret`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    Password {
        user: UserRef,
        password: Secret,
        project: ProjectScope,
    },
    /// An application credential fixes its own project; the token request carries no scope.
    ApplicationCredential {
        credential: AppCredentialRef,
        secret: Secret,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProjectScope {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AppCredentialRef {
    Id(String),
    Name { name: String, user: UserRef },
}

/// Which catalog endpoint to use. Public by default, as in keystoneauth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// Parses `text` and returns the cloud called `cloud`.
pub fn parse_clouds_yaml(text: &str, cloud: &str) -> Result<CloudConfig, CloudError> {
    let root: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        // Syntax errors from the YAML parser name a place, never a value.
        let at = e
            .location()
            .map(|l| format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        cfg_err(format!("clouds.yaml is not valid YAML{at}: {e}"))
    })?;
    let root = root
        .as_mapping()
        .ok_or_else(|| cfg_err("clouds.yaml must be a mapping with a 'clouds' key"))?;
    let clouds = match root.get("clouds") {
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            return Err(cfg_err(
                "clouds.yaml: 'clouds' must be a mapping of cloud names to settings",
            ));
        }
        None => return Err(cfg_err("clouds.yaml has no 'clouds' key")),
    };
    let entry = match clouds.get(cloud) {
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            return Err(cfg_err(format!(
                "clouds.yaml: cloud '{cloud}' must be a mapping"
            )));
        }
        None => {
            let names: Vec<&str> = clouds.keys().filter_map(Value::as_str).collect();
            return Err(cfg_err(format!(
                "clouds.yaml has no cloud '{cloud}' (it has: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
    };
    Cloud { name: cloud, entry }.parse()
}

fn cfg_err(msg: impl Into<String>) -> CloudError {
    CloudError::Config(msg.into())
}

struct Cloud<'a> {
    name: &'a str,
    entry: &'a Mapping,
}

impl Cloud<'_> {
    fn err(&self, what: impl std::fmt::Display) -> CloudError {
        cfg_err(format!("clouds.yaml: cloud '{}' {what}", self.name))
    }

    fn missing(&self, key: &str) -> CloudError {
        self.err(format_args!("is missing {key}"))
    }

    /// A scalar as a string. Absent, null or empty means unset. Numbers and booleans are
    /// accepted as their text (YAML turns an unquoted `password: 123456` into a number).
    fn string(&self, map: &Mapping, key: &str, path: &str) -> Result<Option<String>, CloudError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.err(format_args!("has {path}{key} that is not a string"))),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, CloudError> {
        match self.entry.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Some(true)),
                "false" | "no" | "0" => Ok(Some(false)),
                _ => Err(self.err(format_args!("has {key} that is neither true nor false"))),
            },
            Some(_) => Err(self.err(format_args!("has {key} that is neither true nor false"))),
        }
    }

    fn parse(&self) -> Result<CloudConfig, CloudError> {
        let auth = match self.entry.get("auth") {
            Some(Value::Mapping(m)) => m,
            Some(_) => return Err(self.err("has an 'auth' that is not a mapping")),
            None => return Err(self.missing("auth")),
        };
        let s = |key: &str| self.string(auth, key, "auth.");

        let auth_url = s("auth_url")?.ok_or_else(|| self.missing("auth.auth_url"))?;
        let parsed = url::Url::parse(&auth_url)
            .map_err(|_| self.err("has an auth.auth_url that is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(self.err("has an auth.auth_url that is neither http nor https"));
        }
        if let Some(v) = self.string(self.entry, "identity_api_version", "")?
            && !v.starts_with('3')
        {
            return Err(self.err("sets identity_api_version to something other than 3; only Keystone v3 is supported"));
        }

        let auth_type = self.string(self.entry, "auth_type", "")?;
        let has_app_cred = s("application_credential_id")?.is_some()
            || s("application_credential_name")?.is_some();
        let method = match auth_type.as_deref() {
            None if has_app_cred => self.app_credential(auth)?,
            None | Some("password" | "v3password") => self.password(auth)?,
            Some(
                "v3applicationcredential" | "application_credential" | "applicationcredential",
            ) => self.app_credential(auth)?,
            Some(other) => {
                return Err(self.err(format_args!(
                    "has auth_type '{other}', which cloudlink does not support (use password or v3applicationcredential)"
                )));
            }
        };

        let interface = match self.string(self.entry, "interface", "")?.or(self.string(
            self.entry,
            "endpoint_type",
            "",
        )?) {
            None => Interface::Public,
            Some(v) => match v.trim().to_ascii_lowercase().trim_end_matches("url") {
                "public" => Interface::Public,
                "internal" => Interface::Internal,
                "admin" => Interface::Admin,
                _ => {
                    return Err(self.err(format_args!(
                        "has interface '{v}'; use public, internal or admin"
                    )));
                }
            },
        };

        let verify = match (self.boolean("verify")?, self.boolean("insecure")?) {
            (Some(v), _) => v,
            (None, Some(insecure)) => !insecure,
            (None, None) => true,
        };

        let mut endpoint_overrides = BTreeMap::new();
        for k in self.entry.keys() {
            let Some(key) = k.as_str() else { continue };
            let Some(service) = key.strip_suffix("_endpoint_override") else {
                continue;
            };
            let Some(url) = self.string(self.entry, key, "")? else {
                continue;
            };
            url::Url::parse(&url)
                .map_err(|_| self.err(format_args!("has a {key} that is not a URL")))?;
            endpoint_overrides.insert(service.replace('_', "-"), url);
        }

        Ok(CloudConfig {
            cloud_name: self.name.to_owned(),
            auth_url,
            auth: method,
            region_name: self.string(self.entry, "region_name", "")?,
            interface,
            verify,
            cacert_path: self.string(self.entry, "cacert", "")?,
            endpoint_overrides,
        })
    }

    fn domain(&self, auth: &Mapping, prefix: &str) -> Result<Option<DomainRef>, CloudError> {
        let id = self.string(auth, &format!("{prefix}_domain_id"), "auth.")?;
        let name = self.string(auth, &format!("{prefix}_domain_name"), "auth.")?;
        let default = self.string(auth, "default_domain", "auth.")?;
        Ok(match (id, name, default) {
            (Some(id), _, _) => Some(DomainRef::Id(id)),
            (None, Some(name), _) => Some(DomainRef::Name(name)),
            // openstacksdk's default_domain is a domain id.
            (None, None, Some(id)) => Some(DomainRef::Id(id)),
            (None, None, None) => None,
        })
    }

    fn user(&self, auth: &Mapping, why: &str) -> Result<UserRef, CloudError> {
        if let Some(id) = self.string(auth, "user_id", "auth.")? {
            return Ok(UserRef::Id(id));
        }
        let Some(name) = self.string(auth, "username", "auth.")? else {
            return Err(self.missing(&format!("auth.username or auth.user_id{why}")));
        };
        let domain = self.domain(auth, "user")?.ok_or_else(|| {
            self.missing("auth.user_domain_name or auth.user_domain_id (needed with auth.username; ECL uses user_domain_id: default)")
        })?;
        Ok(UserRef::Name { name, domain })
    }

    fn password(&self, auth: &Mapping) -> Result<AuthMethod, CloudError> {
        let user = self.user(auth, "")?;
        let password = self
            .string(auth, "password", "auth.")?
            .ok_or_else(|| self.missing("auth.password"))?;
        let project = if let Some(id) =
            self.string(auth, "project_id", "auth.")?
                .or(self.string(auth, "tenant_id", "auth.")?)
        {
            ProjectScope::Id(id)
        } else if let Some(name) = self.string(auth, "project_name", "auth.")?.or(self.string(
            auth,
            "tenant_name",
            "auth.",
        )?) {
            let domain = self
                .domain(auth, "project")?
                .ok_or_else(|| self.missing("auth.project_domain_name or auth.project_domain_id (needed with auth.project_name)"))?;
            ProjectScope::Name { name, domain }
        } else {
            return Err(self.missing(
                "auth.project_id or auth.project_name (cloudlink needs a project-scoped token)",
            ));
        };
        Ok(AuthMethod::Password {
            user,
            password: Secret::new(password),
            project,
        })
    }

    fn app_credential(&self, auth: &Mapping) -> Result<AuthMethod, CloudError> {
        let secret = self
            .string(auth, "application_credential_secret", "auth.")?
            .ok_or_else(|| self.missing("auth.application_credential_secret"))?;
        let credential =
            if let Some(id) = self.string(auth, "application_credential_id", "auth.")? {
                AppCredentialRef::Id(id)
            } else if let Some(name) = self.string(auth, "application_credential_name", "auth.")? {
                AppCredentialRef::Name {
                    name,
                    user: self.user(auth, " (needed with auth.application_credential_name)")?,
                }
            } else {
                return Err(self.missing(
                    "auth.application_credential_id or auth.application_credential_name",
                ));
            };
        Ok(AuthMethod::ApplicationCredential {
            credential,
            secret: Secret::new(secret),
        })
    }
}

#[cfg(test)]
mod tests;
