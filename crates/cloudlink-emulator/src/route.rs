//! Named routes: what faults and counters are keyed by; `GET /_admin/routes` lists them.
//! `middleware.rs` wraps every one; `router.rs` says which path and method each one is.

use serde::Serialize;

use crate::errors::Service;

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Route {
    pub name: &'static str,
    #[serde(skip)]
    pub service: Service,
    /// Needs a valid `X-Auth-Token` (checked before the handler runs).
    pub authenticated: bool,
}

const fn open(name: &'static str, service: Service) -> Route {
    Route {
        name,
        service,
        authenticated: false,
    }
}

const fn guarded(name: &'static str, service: Service) -> Route {
    Route {
        name,
        service,
        authenticated: true,
    }
}

pub const IDENTITY_VERSIONS: Route = open("identity.versions", Service::Identity);
pub const IDENTITY_DISCOVERY: Route = open("identity.discovery", Service::Identity);
pub const IDENTITY_TOKEN_CREATE: Route = open("identity.token.create", Service::Identity);
/// Validation and revocation check both tokens themselves, as Keystone does.
pub const IDENTITY_TOKEN_VALIDATE: Route = open("identity.token.validate", Service::Identity);
pub const IDENTITY_TOKEN_REVOKE: Route = open("identity.token.revoke", Service::Identity);
/// Any path no service claims (answered in Keystone's shape: the root belongs to identity).
pub const UNKNOWN: Route = open("unknown", Service::Identity);

pub const NOVA_VERSIONS: Route = open("nova.versions", Service::Nova);
pub const NOVA_VERSION: Route = open("nova.version", Service::Nova);
pub const NOVA_CLOUDPIPE_LIST: Route = guarded("nova.cloudpipe.list", Service::Nova);
pub const NOVA_CLOUDPIPE_CREATE: Route = guarded("nova.cloudpipe.create", Service::Nova);
pub const NOVA_CLOUDPIPE_CONFIGURE: Route = guarded("nova.cloudpipe.configure", Service::Nova);
pub const NOVA_SERVER_LIST: Route = guarded("nova.server.list", Service::Nova);
pub const NOVA_SERVER_GET: Route = guarded("nova.server.get", Service::Nova);
pub const NOVA_SERVER_DELETE: Route = guarded("nova.server.delete", Service::Nova);
pub const NOVA_METADATA_LIST: Route = guarded("nova.server.metadata.list", Service::Nova);
pub const NOVA_METADATA_GET: Route = guarded("nova.server.metadata.get", Service::Nova);
pub const NOVA_METADATA_SET: Route = guarded("nova.server.metadata.set", Service::Nova);
pub const NOVA_METADATA_DELETE: Route = guarded("nova.server.metadata.delete", Service::Nova);
pub const NOVA_UNKNOWN: Route = guarded("nova.unknown", Service::Nova);

pub const ECL_TCR_LIST: Route = guarded("ecl.tcr.list", Service::Ecl);
pub const ECL_TCR_GET: Route = guarded("ecl.tcr.get", Service::Ecl);
pub const ECL_TCR_CREATE: Route = guarded("ecl.tcr.create", Service::Ecl);
pub const ECL_TCR_UPDATE: Route = guarded("ecl.tcr.update", Service::Ecl);
pub const ECL_TCR_DELETE: Route = guarded("ecl.tcr.delete", Service::Ecl);
pub const ECL_TC_LIST: Route = guarded("ecl.tc.list", Service::Ecl);
pub const ECL_TC_GET: Route = guarded("ecl.tc.get", Service::Ecl);
pub const ECL_TC_CREATE: Route = guarded("ecl.tc.create", Service::Ecl);
pub const ECL_TC_UPDATE: Route = guarded("ecl.tc.update", Service::Ecl);
pub const ECL_TC_DELETE: Route = guarded("ecl.tc.delete", Service::Ecl);
pub const ECL_UNKNOWN: Route = guarded("ecl.unknown", Service::Ecl);

pub const SSS_APPROVAL_LIST: Route = guarded("sss.approval.list", Service::Sss);
pub const SSS_APPROVAL_GET: Route = guarded("sss.approval.get", Service::Sss);
pub const SSS_APPROVAL_UPDATE: Route = guarded("sss.approval.update", Service::Sss);
pub const SSS_UNKNOWN: Route = guarded("sss.unknown", Service::Sss);

pub const ALL: &[Route] = &[
    IDENTITY_VERSIONS,
    IDENTITY_DISCOVERY,
    IDENTITY_TOKEN_CREATE,
    IDENTITY_TOKEN_VALIDATE,
    IDENTITY_TOKEN_REVOKE,
    UNKNOWN,
    NOVA_VERSIONS,
    NOVA_VERSION,
    NOVA_CLOUDPIPE_LIST,
    NOVA_CLOUDPIPE_CREATE,
    NOVA_CLOUDPIPE_CONFIGURE,
    NOVA_SERVER_LIST,
    NOVA_SERVER_GET,
    NOVA_SERVER_DELETE,
    NOVA_METADATA_LIST,
    NOVA_METADATA_GET,
    NOVA_METADATA_SET,
    NOVA_METADATA_DELETE,
    NOVA_UNKNOWN,
    ECL_TCR_LIST,
    ECL_TCR_GET,
    ECL_TCR_CREATE,
    ECL_TCR_UPDATE,
    ECL_TCR_DELETE,
    ECL_TC_LIST,
    ECL_TC_GET,
    ECL_TC_CREATE,
    ECL_TC_UPDATE,
    ECL_TC_DELETE,
    ECL_UNKNOWN,
    SSS_APPROVAL_LIST,
    SSS_APPROVAL_GET,
    SSS_APPROVAL_UPDATE,
    SSS_UNKNOWN,
];
