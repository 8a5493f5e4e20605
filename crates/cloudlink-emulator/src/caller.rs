//! Who made a request, as the token says: shared by the built-in identity, which issues tokens,
//! and by authentication, which checks them for every service.

use jiff::Timestamp;

/// The token's user, project and roles, as a service behind keystonemiddleware sees them.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub project_id: String,
    pub roles: Vec<String>,
    pub expires_at: Timestamp,
}

impl Caller {
    /// Nova's `context_is_admin: role:admin`.
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}
