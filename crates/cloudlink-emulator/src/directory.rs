//! The built-in identity's projects, users and application credentials: from a YAML (or JSON)
//! file given with `--identity-config`, or the defaults below. Everything lives in the one domain
//! `default` ("Default"), as on ECL.
//!
//! Secrets are kept only to compare them: nothing here implements Debug or is ever logged, and
//! the admin dump shows only [`Directory::public_view`].

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Value, json};

pub const DOMAIN_ID: &str = "default";
pub const DOMAIN_NAME: &str = "Default";

/// The defaults, written in the config file format (which they also document): an admin in a
/// project of its own (cloudpipe needs the admin role), a non-admin user in the same project, a
/// second tenant that owns the network an ECL request asks for, and an application credential.
pub const BUILTIN: &str = r#"
projects:
  - {id: 6b7f3c2a9d8e4f10a1b2c3d4e5f60718, name: admin}
  - {id: 9a1b2c3d4e5f60718293a4b5c6d7e8f9, name: network-owner}
users:
  - {id: ee4dfb6e5540447cb3741905149d9b6e, name: admin, password: AdminPass123, project: admin,
     roles: [admin, member, reader]}
  - {id: 5b2a7c19d0e84f6a9c3e1d7b8a6f4e21, name: demo, password: DemoPass123, project: admin,
     roles: [member, reader]}
  - {id: 0c4e8a2f6b1d4e9a8f7c3b5d2e1a6f90, name: owner, password: OwnerPass123, project: network-owner,
     roles: [member, reader]}
application_credentials:
  - {id: 423f19a4ac1e4f48bbb4180756e6eb6c, name: cloudlink, secret: AppCredSecret123, user: admin}
"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    projects: Vec<ProjectEntry>,
    users: Vec<UserEntry>,
    #[serde(default)]
    application_credentials: Vec<AppCredEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectEntry {
    id: Option<String>,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    id: Option<String>,
    name: String,
    password: String,
    /// Name or id of the user's project: its only role assignment and its default project.
    project: String,
    #[serde(default = "member_roles")]
    roles: Vec<String>,
}

fn member_roles() -> Vec<String> {
    vec!["member".to_owned(), "reader".to_owned()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppCredEntry {
    id: Option<String>,
    name: String,
    secret: String,
    /// Name or id of the owner; the credential gets the owner's project and roles.
    user: String,
}

pub struct Project {
    pub id: String,
    pub name: String,
}

pub struct User {
    pub id: String,
    pub name: String,
    password: String,
    pub project_id: String,
    pub roles: Vec<String>,
}

impl User {
    pub fn password_is(&self, candidate: &str) -> bool {
        self.password == candidate
    }
}

pub struct AppCredential {
    pub id: String,
    pub name: String,
    secret: String,
    pub user_id: String,
}

impl AppCredential {
    pub fn secret_is(&self, candidate: &str) -> bool {
        self.secret == candidate
    }
}

pub struct Directory {
    pub projects: Vec<Project>,
    pub users: Vec<User>,
    pub application_credentials: Vec<AppCredential>,
}

impl Directory {
    pub fn builtin() -> Result<Directory, String> {
        Directory::parse(BUILTIN)
    }

    pub fn load(path: &std::path::Path) -> Result<Directory, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Directory::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// YAML is a superset of JSON, so one parser reads both.
    fn parse(text: &str) -> Result<Directory, String> {
        let file: DirectoryFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let projects: Vec<Project> = file
            .projects
            .into_iter()
            .map(|p| Project {
                id: p.id.unwrap_or_else(|| stable_id("project", &p.name)),
                name: p.name,
            })
            .collect();
        unique("project id", projects.iter().map(|p| &p.id))?;
        unique("project name", projects.iter().map(|p| &p.name))?;

        let mut users = Vec::new();
        for entry in file.users {
            let project = projects
                .iter()
                .find(|p| p.id == entry.project || p.name == entry.project)
                .ok_or_else(|| format!("user {}: no project {:?}", entry.name, entry.project))?;
            users.push(User {
                id: entry.id.unwrap_or_else(|| stable_id("user", &entry.name)),
                name: entry.name,
                password: entry.password,
                project_id: project.id.clone(),
                roles: entry.roles,
            });
        }
        unique("user id", users.iter().map(|u| &u.id))?;
        unique("user name", users.iter().map(|u| &u.name))?;

        let mut application_credentials = Vec::new();
        for entry in file.application_credentials {
            let owner = users
                .iter()
                .find(|u| u.id == entry.user || u.name == entry.user)
                .ok_or_else(|| {
                    format!(
                        "application credential {}: no user {:?}",
                        entry.name, entry.user
                    )
                })?;
            application_credentials.push(AppCredential {
                id: entry
                    .id
                    .unwrap_or_else(|| stable_id("application_credential", &entry.name)),
                name: entry.name,
                secret: entry.secret,
                user_id: owner.id.clone(),
            });
        }
        unique(
            "application credential id",
            application_credentials.iter().map(|a| &a.id),
        )?;
        Ok(Directory {
            projects,
            users,
            application_credentials,
        })
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// What the admin dump shows: no passwords, no secrets.
    pub fn public_view(&self) -> Value {
        json!({
            "projects": self.projects.iter().map(|p| json!({"id": p.id, "name": p.name})).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| json!({
                "id": u.id, "name": u.name, "project_id": u.project_id, "roles": u.roles,
            })).collect::<Vec<_>>(),
            "application_credentials": self.application_credentials.iter().map(|a| json!({
                "id": a.id, "name": a.name, "user_id": a.user_id,
            })).collect::<Vec<_>>(),
        })
    }
}

fn unique<'a>(what: &str, values: impl Iterator<Item = &'a String>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for value in values {
        if !seen.insert(value) {
            return Err(format!("duplicate {what} {value:?}"));
        }
    }
    Ok(())
}

/// A Keystone-looking id (32 hex) derived from a name, so that a config without ids gives the
/// same ids on every start (FNV-1a, twice with different seeds).
pub fn stable_id(kind: &str, name: &str) -> String {
    let hash = |seed: u64| {
        kind.bytes()
            .chain([0])
            .chain(name.bytes())
            .fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf29ce484222325),
        hash(0x84222325cbf29ce4)
    )
}
