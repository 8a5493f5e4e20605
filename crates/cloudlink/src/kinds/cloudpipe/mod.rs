//! Cloudpipe ↔ Nova: the cloud resource is the project's VPN server; its id (`status.id`) is the
//! server's instance id. Nova creates at most one cloudpipe per project (create is idempotent per
//! project), so the adoption lookup is "the cloudpipe of the target project".

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::api::Cloudpipe;
use crate::api::cloudpipe::CloudpipeResourceStatus;
use crate::api::common::{ManagementSpec, ResourceStatus};
use crate::engine::adapter::{Adapter, AdapterError, Assessment, Created, ManagedObject, Owner};
use crate::engine::outcome::{Phase, Reason};
use crate::engine::readings::Previous;
use cloudlink_cloud::nova::{self, CloudpipeApi, Server, ServerFilter};
use cloudlink_cloud::{CloudError, CloudSession, NovaClient};

/// The VPN server's metadata keys that mark it as an object's (Nova allows `a-zA-Z0-9-_:. ` in
/// keys, so no `/`): the owner's UID, and its `namespace/name`.
pub const OWNER_KEY: &str = "cloudlink.dev:uid";
pub const OBJECT_KEY: &str = "cloudlink.dev:object";

/// How often a building server is checked.
const BUILD_POLL: Duration = crate::engine::schedule::IN_FLIGHT_POLL;
/// How often a server in an unusual state (SHUTOFF, PAUSED, …) is checked.
const ODD_STATE_POLL: Duration = Duration::from_secs(30);

impl ManagedObject for Cloudpipe {
    type CloudView = CloudpipeResourceStatus;

    fn management(&self) -> &ManagementSpec {
        &self.spec.management
    }

    fn status(&self) -> Option<&ResourceStatus<CloudpipeResourceStatus>> {
        self.status.as_ref()
    }

    /// `publicIp`, `publicPort`, `internalIp`, `instanceId`, `serverStatus` (README, "Export").
    fn exported(status: &ResourceStatus<CloudpipeResourceStatus>) -> BTreeMap<String, String> {
        let view = status.resource.clone().unwrap_or_default();
        crate::engine::export::known([
            ("publicIp", view.public_ip),
            ("publicPort", view.public_port.map(|p| p.to_string())),
            ("internalIp", view.internal_ip),
            ("instanceId", status.id.clone()),
            ("serverStatus", view.server_status),
        ])
    }
}

/// The VPN server, and its entry in Nova's cloudpipe list (absent while Nova does not list it).
#[derive(Clone, Debug)]
pub struct ObservedCloudpipe {
    pub server: Server,
    pub entry: Option<nova::CloudpipeEntry>,
}

#[derive(Default)]
pub struct CloudpipeAdapter;

#[async_trait]
impl Adapter for CloudpipeAdapter {
    type Object = Cloudpipe;
    type Observed = ObservedCloudpipe;
    type Cloud = Arc<dyn CloudpipeApi>;

    fn connect(&self, session: &CloudSession) -> Self::Cloud {
        Arc::new(NovaClient::new(session))
    }

    fn id(observed: &ObservedCloudpipe) -> String {
        observed.server.id.clone()
    }

    async fn get(
        &self,
        nova: &Self::Cloud,
        object: &Cloudpipe,
        id: &str,
    ) -> Result<Option<ObservedCloudpipe>, AdapterError> {
        let Some(ObservedCloudpipe { server, .. }) = self.probe(nova, object, id).await? else {
            return Ok(None);
        };
        // Nova has no GET for one cloudpipe, only the list of them all. While the server builds,
        // its entry holds nothing the server does not (no address yet), so polling a build costs
        // one small GET instead of a list of every VPN in the cloud.
        if server.status == "BUILD" {
            return Ok(Some(ObservedCloudpipe {
                server,
                entry: None,
            }));
        }
        let entry = nova
            .list_cloudpipes()
            .await?
            .into_iter()
            .find(|c| c.instance_id == id);
        Ok(Some(ObservedCloudpipe { server, entry }))
    }

    async fn list(
        &self,
        nova: &Self::Cloud,
        previous: &Previous<ObservedCloudpipe>,
    ) -> Result<Vec<ObservedCloudpipe>, AdapterError> {
        let entries = nova.list_cloudpipes().await?;
        let Some(first) = entries.first() else {
            return Ok(Vec::new());
        };
        // Every VPN server runs Nova's VPN image: listing only that image's servers keeps the
        // answer to the VPN servers rather than the whole cloud's. The previous reading tells
        // which image it is; the first reading asks one server.
        let image = match previous.iter().find_map(|o| o.server.image_id.clone()) {
            Some(image) => Some(image),
            None => match nova.get_server(&first.instance_id).await {
                Ok(server) => server.image_id,
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            },
        };
        let servers = nova
            .list_servers(&ServerFilter {
                all_tenants: true,
                image,
            })
            .await?;
        let mut servers: HashMap<String, Server> =
            servers.into_iter().map(|s| (s.id.clone(), s)).collect();
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                Some(ObservedCloudpipe {
                    server: servers.remove(&entry.instance_id)?,
                    entry: Some(entry),
                })
            })
            .collect())
    }

    async fn find_own(
        &self,
        nova: &Self::Cloud,
        object: &Cloudpipe,
    ) -> Result<Option<ObservedCloudpipe>, AdapterError> {
        let project = target_project(nova, object).await?;
        let Some(entry) = nova
            .list_cloudpipes()
            .await?
            .into_iter()
            .find(|c| c.project_id == project)
        else {
            return Ok(None);
        };
        match nova.get_server(&entry.instance_id).await {
            Ok(server) => Ok(Some(ObservedCloudpipe {
                server,
                entry: Some(entry),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn create(
        &self,
        nova: &Self::Cloud,
        object: &Cloudpipe,
    ) -> Result<Created<ObservedCloudpipe>, AdapterError> {
        // Nova answers with the instance id only: the server is read next.
        let id = nova.create_cloudpipe(spec_project(object)).await?;
        Ok(Created { id, resource: None })
    }

    async fn update(
        &self,
        nova: &Self::Cloud,
        object: &Cloudpipe,
        observed: &ObservedCloudpipe,
    ) -> Result<Option<ObservedCloudpipe>, AdapterError> {
        let Some(vpn) = object.spec.resource.as_ref().and_then(|r| r.vpn.as_ref()) else {
            return Ok(None);
        };
        // Nova lists a VPN's addresses only once its server is ACTIVE (before, it has no network
        // info), so an address set earlier could not be seen to have taken.
        let Some(entry) = observed
            .entry
            .as_ref()
            .filter(|_| observed.server.status == "ACTIVE")
        else {
            return Ok(None);
        };
        if vpn_matches(entry, &vpn.public_ip, vpn.public_port) {
            return Ok(None);
        }
        // configure-project changes the token's project, whatever the body says.
        let own = nova.project_id().await?;
        if entry.project_id != own {
            return Err(AdapterError::spec(
                "spec.resource.vpn",
                format!(
                    "can only be set for the credentials' own project ({own}), but this cloudpipe serves {}: Nova's configure-project applies to the caller's project",
                    entry.project_id
                ),
            ));
        }
        let ip: IpAddr = vpn.public_ip.parse().map_err(|_| {
            AdapterError::spec(
                "spec.resource.vpn.publicIp",
                format!("{:?} is not an IP address", vpn.public_ip),
            )
        })?;
        let port = u16::try_from(vpn.public_port).map_err(|_| {
            AdapterError::spec(
                "spec.resource.vpn.publicPort",
                format!("{} is not a port", vpn.public_port),
            )
        })?;
        nova.configure_project(ip, port).await?;
        self.get(nova, object, &observed.server.id).await
    }

    async fn delete(
        &self,
        nova: &Self::Cloud,
        observed: &ObservedCloudpipe,
    ) -> Result<(), AdapterError> {
        Ok(nova.delete_server(&observed.server.id).await?)
    }

    /// The server alone: the cloudpipe list entry adds nothing a deletion needs.
    async fn probe(
        &self,
        nova: &Self::Cloud,
        _: &Cloudpipe,
        id: &str,
    ) -> Result<Option<ObservedCloudpipe>, AdapterError> {
        match nova.get_server(id).await {
            Ok(server) => Ok(Some(ObservedCloudpipe {
                server,
                entry: None,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn owner(&self, observed: &ObservedCloudpipe) -> Option<Owner> {
        let metadata = &observed.server.metadata;
        Some(Owner {
            uid: metadata
                .get(OWNER_KEY)
                .filter(|uid| !uid.is_empty())?
                .clone(),
            object: metadata.get(OBJECT_KEY).cloned(),
        })
    }

    /// Nova changes a server's metadata only while it is settled (ACTIVE, no task running; 409
    /// otherwise), so a building server is marked at a later reconcile.
    async fn claim(
        &self,
        nova: &Self::Cloud,
        observed: &ObservedCloudpipe,
        owner: &Owner,
    ) -> Result<Option<ObservedCloudpipe>, AdapterError> {
        let server = &observed.server;
        if server.status != "ACTIVE" || server.task_state.is_some() {
            return Ok(None);
        }
        let mut marks = BTreeMap::from([(OWNER_KEY.to_owned(), owner.uid.clone())]);
        if let Some(object) = &owner.object {
            marks.insert(OBJECT_KEY.to_owned(), object.clone());
        }
        let metadata = nova.set_server_metadata(&server.id, &marks).await?;
        let mut marked = observed.clone();
        marked.server.metadata = metadata;
        Ok(Some(marked))
    }

    fn deleting(&self, observed: &ObservedCloudpipe) -> bool {
        observed.server.task_state.as_deref() == Some("deleting")
            || observed.server.status == "DELETED"
    }

    fn assess(
        &self,
        object: &Cloudpipe,
        observed: &ObservedCloudpipe,
    ) -> Assessment<CloudpipeResourceStatus> {
        Assessment {
            phase: phase(object, observed),
            view: view(observed),
            conditions: Vec::new(),
        }
    }
}

fn spec_project(object: &Cloudpipe) -> Option<&str> {
    object
        .spec
        .resource
        .as_ref()
        .and_then(|r| r.project_id.as_deref())
}

async fn target_project(
    nova: &Arc<dyn CloudpipeApi>,
    object: &Cloudpipe,
) -> Result<String, CloudError> {
    match spec_project(object) {
        Some(project) => Ok(project.to_owned()),
        None => nova.project_id().await,
    }
}

fn vpn_matches(entry: &nova::CloudpipeEntry, ip: &str, port: i32) -> bool {
    let same_ip = match (
        entry
            .public_ip
            .as_deref()
            .and_then(|i| i.parse::<IpAddr>().ok()),
        ip.parse::<IpAddr>().ok(),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    same_ip && entry.public_port == Some(i64::from(port))
}

/// Pure: what the server's state means.
fn phase(object: &Cloudpipe, observed: &ObservedCloudpipe) -> Phase {
    let id = &observed.server.id;
    match observed.server.status.as_str() {
        "ACTIVE" => {
            let vpn = object.spec.resource.as_ref().and_then(|r| r.vpn.as_ref());
            match (vpn, &observed.entry) {
                (Some(vpn), Some(entry))
                    if !vpn_matches(entry, &vpn.public_ip, vpn.public_port) =>
                {
                    Phase::progressing(
                        Reason::Progressing,
                        format!(
                            "VPN server {id} is ACTIVE; its public address is being set to {}:{}",
                            vpn.public_ip, vpn.public_port
                        ),
                        BUILD_POLL,
                    )
                }
                _ => Phase::ready(format!("VPN server {id} is ACTIVE")),
            }
        }
        "BUILD" => Phase::progressing(
            Reason::Progressing,
            format!("VPN server {id} is building"),
            BUILD_POLL,
        ),
        "ERROR" => {
            let fault = observed
                .server
                .fault
                .as_ref()
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default();
            Phase::stalled(
                Reason::UnrecoverableError,
                format!(
                    "VPN server {id} is in ERROR{fault}; delete this object (which deletes the server) and create it again"
                ),
            )
        }
        other => Phase::progressing(
            Reason::Progressing,
            format!("VPN server {id} is {other}; waiting for it to become ACTIVE"),
            ODD_STATE_POLL,
        ),
    }
}

fn view(observed: &ObservedCloudpipe) -> CloudpipeResourceStatus {
    let entry = observed.entry.as_ref();
    CloudpipeResourceStatus {
        instance_id: Some(observed.server.id.clone()),
        project_id: entry
            .map(|e| e.project_id.clone())
            .or_else(|| observed.server.tenant_id.clone()),
        state: entry.and_then(|e| e.state.clone()),
        public_ip: entry.and_then(|e| e.public_ip.clone()),
        public_port: entry
            .and_then(|e| e.public_port)
            .and_then(|p| i32::try_from(p).ok()),
        internal_ip: entry.and_then(|e| e.internal_ip.clone()),
        created_at: entry
            .and_then(|e| e.created_at.clone())
            .or_else(|| observed.server.created.clone()),
        server_status: Some(observed.server.status.clone()),
    }
}

#[cfg(test)]
mod tests;
