//! The built-in identity's accounts (`directory::BUILTIN`), for tests and demos that log in as
//! them. A unit test keeps the two in step.

/// A user of the built-in identity, with the project its password logs in to.
#[derive(Clone, Copy, Debug)]
pub struct Account {
    pub user: &'static str,
    pub user_id: &'static str,
    pub password: &'static str,
    pub project: &'static str,
    pub project_id: &'static str,
}

/// Role admin on the admin project: may use os-cloudpipe; the requester side of ECL requests.
pub const ADMIN: Account = Account {
    user: "admin",
    user_id: "ee4dfb6e5540447cb3741905149d9b6e",
    password: "AdminPass123",
    project: "admin",
    project_id: "6b7f3c2a9d8e4f10a1b2c3d4e5f60718",
};

/// Role member on the admin project: cloudpipe answers it 403.
pub const DEMO: Account = Account {
    user: "demo",
    user_id: "5b2a7c19d0e84f6a9c3e1d7b8a6f4e21",
    password: "DemoPass123",
    project: "admin",
    project_id: "6b7f3c2a9d8e4f10a1b2c3d4e5f60718",
};

/// Role member on the network-owner project: the tenant that approves ECL requests.
pub const OWNER: Account = Account {
    user: "owner",
    user_id: "0c4e8a2f6b1d4e9a8f7c3b5d2e1a6f90",
    password: "OwnerPass123",
    project: "network-owner",
    project_id: "9a1b2c3d4e5f60718293a4b5c6d7e8f9",
};

/// ADMIN's application credential.
pub const APPCRED_ID: &str = "423f19a4ac1e4f48bbb4180756e6eb6c";
pub const APPCRED_SECRET: &str = "AppCredSecret123";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;

    #[test]
    fn the_constants_are_the_builtin_directory() {
        let directory = Directory::builtin().unwrap();
        for account in [ADMIN, DEMO, OWNER] {
            let user = directory.user(account.user_id).expect(account.user);
            assert_eq!(user.name, account.user);
            assert!(user.password_is(account.password), "{}", account.user);
            assert_eq!(user.project_id, account.project_id, "{}", account.user);
            let project = directory.project(account.project_id).unwrap();
            assert_eq!(project.name, account.project);
        }
        let credential = directory
            .application_credentials
            .iter()
            .find(|c| c.id == APPCRED_ID)
            .unwrap();
        assert!(credential.secret_is(APPCRED_SECRET));
        assert_eq!(credential.user_id, ADMIN.user_id);
    }
}
