//! Nova: `os-cloudpipe` and the servers behind it (compute API v2.1).
//!
//! Cloudpipe works under every microversion up to its removal in 16.0.0 (Pike), and nothing
//! cloudlink reads from a server changed in later microversions, so every call pins 2.1: the
//! answer then has the same shape on every Nova that still has the API. Both version headers
//! are sent; a Nova older than 2.27 ignores the newer one.
//!
//! There is no DELETE for a cloudpipe: it is removed by deleting its server.

use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::CloudError;
use super::serde_util::{de_opt_i64, de_opt_string, de_string, de_tags, null_as_default};
use super::session::{CloudSession, Endpoint, Service, require_id, set_params};

/// Nova's catalog URL normally holds `/v2.1[/{project}]` already; `v2.1` is added if not.
const COMPUTE: Service = Service {
    service_type: "compute",
    version_prefix: |segs| {
        if segs.iter().any(|s| is_compute_version(s)) {
            &[]
        } else {
            &["v2.1"]
        }
    },
};

fn is_compute_version(seg: &str) -> bool {
    seg == "v2"
        || seg
            .strip_prefix("v2.")
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
}

/// The microversion every compute call asks for (2.1), in both of Nova's headers.
static MICROVERSION: [(HeaderName, HeaderValue); 2] = [
    (
        HeaderName::from_static("x-openstack-nova-api-version"),
        HeaderValue::from_static("2.1"),
    ),
    (
        HeaderName::from_static("openstack-api-version"),
        HeaderValue::from_static("compute 2.1"),
    ),
];

/// Nova's cloudpipe API and the server calls a cloudpipe's lifecycle needs.
#[async_trait]
pub trait CloudpipeApi: Send + Sync {
    /// The token's project: where a cloudpipe goes when no project is given, and the project
    /// `configure_project` changes.
    async fn project_id(&self) -> Result<String, CloudError>;

    /// `GET /os-cloudpipe`: the cloudpipes of all projects (the API is admin-only).
    async fn list_cloudpipes(&self) -> Result<Vec<CloudpipeEntry>, CloudError>;

    /// `POST /os-cloudpipe`: launches the VPN server of `project_id` (the token's project if
    /// `None`) and returns its instance id. Idempotent per project in Nova: if the project has a
    /// VPN server already, its id comes back and nothing is launched. Never retried here.
    async fn create_cloudpipe(&self, project_id: Option<&str>) -> Result<String, CloudError>;

    /// `PUT /os-cloudpipe/configure-project`: sets the public address of the VPN of the
    /// *token's* project (Nova takes no project in the body).
    async fn configure_project(&self, vpn_ip: IpAddr, vpn_port: u16) -> Result<(), CloudError>;

    /// `GET /servers/detail`, every page: the servers `filter` selects.
    async fn list_servers(&self, filter: &ServerFilter) -> Result<Vec<Server>, CloudError>;

    /// `GET /servers/{id}`. `NotFound` once the server is gone.
    async fn get_server(&self, server_id: &str) -> Result<Server, CloudError>;

    /// `DELETE /servers/{id}` (asynchronous in Nova: poll `get_server` until `NotFound`).
    async fn delete_server(&self, server_id: &str) -> Result<(), CloudError>;

    /// `POST /servers/{id}/metadata`: sets these metadata items, leaving the others as they are;
    /// returns the server's whole metadata afterwards. Keys are 1 to 255 of `a-zA-Z0-9-_:. `.
    async fn set_server_metadata(
        &self,
        server_id: &str,
        items: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, CloudError>;
}

/// An entry of `GET /os-cloudpipe`. Only the first three fields are always present: the
/// addresses and `state` depend on the server's network state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudpipeEntry {
    #[serde(deserialize_with = "de_string")]
    pub project_id: String,
    #[serde(deserialize_with = "de_string")]
    pub instance_id: String,
    #[serde(deserialize_with = "de_opt_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub internal_ip: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub public_ip: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    pub public_port: Option<i64>,
    /// `running`, `down` or `invalid`.
    #[serde(deserialize_with = "de_opt_string")]
    pub state: Option<String>,
}

/// The fields of `GET /servers/{id}` cloudlink uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    #[serde(deserialize_with = "de_string")]
    pub id: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    /// BUILD, ACTIVE, ERROR, DELETED, …
    #[serde(deserialize_with = "de_string")]
    pub status: String,
    #[serde(deserialize_with = "de_opt_string")]
    pub tenant_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub created: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    pub updated: Option<String>,
    /// The image the server was launched from (`None` when booted from a volume, where Nova
    /// answers `""`). Every cloudpipe server runs Nova's configured VPN image.
    #[serde(rename = "image", deserialize_with = "de_image_id")]
    pub image_id: Option<String>,
    #[serde(rename = "OS-EXT-STS:vm_state", deserialize_with = "de_opt_string")]
    pub vm_state: Option<String>,
    /// `deleting` while a delete runs.
    #[serde(rename = "OS-EXT-STS:task_state", deserialize_with = "de_opt_string")]
    pub task_state: Option<String>,
    #[serde(rename = "OS-EXT-STS:power_state", deserialize_with = "de_opt_i64")]
    pub power_state: Option<i64>,
    /// Network name → addresses, as Nova returns it.
    #[serde(deserialize_with = "null_as_default")]
    pub addresses: serde_json::Map<String, serde_json::Value>,
    /// Why the server is in ERROR, if Nova says.
    #[serde(deserialize_with = "null_as_default")]
    pub fault: Option<ServerFault>,
    /// The server's metadata (key → value), where cloudlink marks the servers it owns.
    #[serde(deserialize_with = "de_tags")]
    pub metadata: BTreeMap<String, String>,
}

/// `{"id": …, "links": […]}`, or `""` for a server booted from a volume.
fn de_image_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Object(image) => image
            .get("id")
            .and_then(|id| id.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        _ => None,
    })
}

/// Which servers `list_servers` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFilter {
    /// Every project's servers (`all_tenants=1`, admin only), not just the token's project.
    pub all_tenants: bool,
    /// Only servers launched from this image.
    pub image: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerFault {
    #[serde(deserialize_with = "de_opt_i64")]
    pub code: Option<i64>,
    #[serde(deserialize_with = "de_string")]
    pub message: String,
}

#[derive(Deserialize)]
struct CloudpipeList {
    cloudpipes: Vec<CloudpipeEntry>,
}

#[derive(Deserialize)]
struct CreatedCloudpipe {
    #[serde(deserialize_with = "de_string")]
    instance_id: String,
}

#[derive(Deserialize)]
struct ServerPage {
    servers: Vec<Server>,
    /// A `next` link when Nova cut the list at its page size (`osapi_max_limit`, 1000 by default).
    #[serde(default)]
    servers_links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: String,
}

impl ServerPage {
    /// The marker of the next page. The link's host is Nova's public one, which may not be the
    /// endpoint this session uses, so only its `marker` is taken.
    fn next_marker(&self) -> Option<String> {
        let next = self.servers_links.iter().find(|l| l.rel == "next")?;
        let url = url::Url::parse(&next.href).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "marker")
            .map(|(_, v)| v.into_owned())
    }
}

/// More pages than any cloud has: a marker that never moves must not loop forever.
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
struct ServerEnvelope {
    server: Server,
}

#[derive(Deserialize)]
struct MetadataEnvelope {
    #[serde(deserialize_with = "de_tags")]
    metadata: BTreeMap<String, String>,
}

/// [`CloudpipeApi`] over a [`CloudSession`].
#[derive(Clone, Debug)]
pub struct NovaClient {
    compute: Endpoint,
}

impl NovaClient {
    pub fn new(session: &CloudSession) -> Self {
        NovaClient {
            compute: Endpoint::new(session, COMPUTE).with_headers(&MICROVERSION),
        }
    }
}

#[async_trait]
impl CloudpipeApi for NovaClient {
    async fn project_id(&self) -> Result<String, CloudError> {
        self.compute.session().project_id().await
    }

    async fn list_cloudpipes(&self) -> Result<Vec<CloudpipeEntry>, CloudError> {
        let r = self
            .compute
            .request("list_cloudpipes", Method::GET, &["os-cloudpipe"])
            .send()
            .await?;
        Ok(
            r.json::<CloudpipeList>("a cloudpipe list ({\"cloudpipes\": [...]})")?
                .cloudpipes,
        )
    }

    async fn create_cloudpipe(&self, project_id: Option<&str>) -> Result<String, CloudError> {
        let body = match project_id {
            Some(p) => json!({ "cloudpipe": { "project_id": p } }),
            None => json!({ "cloudpipe": {} }),
        };
        let r = self
            .compute
            .request("create_cloudpipe", Method::POST, &["os-cloudpipe"])
            .body(body)
            .send()
            .await?;
        let created: CreatedCloudpipe =
            r.json("the new cloudpipe's instance id ({\"instance_id\": ...})")?;
        if created.instance_id.is_empty() {
            return Err(CloudError::invalid(
                &r.request,
                "the answer has an empty instance_id",
            ));
        }
        Ok(created.instance_id)
    }

    async fn configure_project(&self, vpn_ip: IpAddr, vpn_port: u16) -> Result<(), CloudError> {
        // The port goes as a string, as in Nova's own sample and novaclient.
        let body = json!({ "configure_project": { "vpn_ip": vpn_ip.to_string(), "vpn_port": vpn_port.to_string() } });
        self.compute
            .request(
                "configure_project",
                Method::PUT,
                &["os-cloudpipe", "configure-project"],
            )
            .body(body)
            .send()
            .await?;
        Ok(())
    }

    async fn list_servers(&self, filter: &ServerFilter) -> Result<Vec<Server>, CloudError> {
        let mut servers = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query = set_params([
                ("all_tenants", filter.all_tenants.then_some("1")),
                ("image", filter.image.as_deref()),
                ("marker", marker.as_deref()),
            ]);
            let r = self
                .compute
                .request("list_servers", Method::GET, &["servers", "detail"])
                .query(query)
                .send()
                .await?;
            let page: ServerPage = r.json("a server list ({\"servers\": [...]})")?;
            let next = page.next_marker();
            servers.extend(page.servers);
            match next {
                Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
                _ => return Ok(servers),
            }
        }
        Err(CloudError::invalid(
            "GET servers/detail",
            format!("more than {MAX_PAGES} pages"),
        ))
    }

    async fn get_server(&self, server_id: &str) -> Result<Server, CloudError> {
        let id = require_id("server", server_id)?;
        let r = self
            .compute
            .request("get_server", Method::GET, &["servers", id])
            .send()
            .await?;
        Ok(r.json::<ServerEnvelope>("a server ({\"server\": {...}})")?
            .server)
    }

    async fn delete_server(&self, server_id: &str) -> Result<(), CloudError> {
        let id = require_id("server", server_id)?;
        self.compute
            .request("delete_server", Method::DELETE, &["servers", id])
            .send()
            .await?;
        Ok(())
    }

    async fn set_server_metadata(
        &self,
        server_id: &str,
        items: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, CloudError> {
        let id = require_id("server", server_id)?;
        let r = self
            .compute
            .request(
                "set_server_metadata",
                Method::POST,
                &["servers", id, "metadata"],
            )
            .body(json!({ "metadata": items }))
            .send()
            .await?;
        Ok(
            r.json::<MetadataEnvelope>("the server's metadata ({\"metadata\": {...}})")?
                .metadata,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_root_gets_v2_1_unless_the_catalog_names_a_version() {
        let p = |u: &str| COMPUTE.prefix_of(&url::Url::parse(u).unwrap()).to_vec();
        assert_eq!(p("http://h:8774/v2.1/0123"), Vec::<&str>::new());
        assert_eq!(p("http://h/compute/v2.1"), Vec::<&str>::new());
        assert_eq!(p("http://h/compute/v2/p"), Vec::<&str>::new());
        assert_eq!(p("http://h:8774/"), vec!["v2.1"]);
        assert_eq!(p("http://h/compute"), vec!["v2.1"]);
    }

    #[test]
    fn list_entries_tolerate_missing_fields() {
        let list: CloudpipeList = serde_json::from_str(
            r#"{"cloudpipes": [
              {"project_id": "p1", "instance_id": "i1", "created_at": "2017-03-01T10:20:30Z",
               "internal_ip": "10.0.0.3", "public_ip": "203.0.113.10", "public_port": 1194, "state": "running"},
              {"project_id": "p2", "instance_id": "i2", "created_at": "2017-03-01T10:20:30Z"},
              {"project_id": "p3", "instance_id": "i3", "public_ip": null, "public_port": null, "state": "invalid"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(list.cloudpipes[0].public_port, Some(1194));
        assert_eq!(list.cloudpipes[0].state.as_deref(), Some("running"));
        assert_eq!(
            list.cloudpipes[1],
            CloudpipeEntry {
                project_id: "p2".into(),
                instance_id: "i2".into(),
                created_at: Some("2017-03-01T10:20:30Z".into()),
                ..Default::default()
            }
        );
        assert_eq!(list.cloudpipes[2].public_ip, None);
    }

    #[test]
    fn server_fields() {
        let s: ServerEnvelope = serde_json::from_str(
            r#"{"server": {"id": "i1", "name": "p1-vpn", "status": "BUILD", "tenant_id": "p1",
              "OS-EXT-STS:vm_state": "building", "OS-EXT-STS:task_state": "spawning", "OS-EXT-STS:power_state": 0,
              "addresses": {"private": [{"addr": "10.0.0.3", "version": 4}]}, "links": [], "fault": null}}"#,
        )
        .unwrap();
        assert_eq!(s.server.status, "BUILD");
        assert_eq!(s.server.task_state.as_deref(), Some("spawning"));
        assert_eq!(s.server.power_state, Some(0));
        assert!(s.server.addresses.contains_key("private"));
        assert_eq!(s.server.fault, None);
        assert!(s.server.metadata.is_empty());
        let s: ServerEnvelope = serde_json::from_str(r#"{"server": {"id": "i1", "addresses": null, "fault": {"code": 500, "message": "No valid host"}}}"#).unwrap();
        assert_eq!(s.server.fault.unwrap().message, "No valid host");
        assert!(serde_json::from_str::<ServerEnvelope>(r#"{"servers": []}"#).is_err());
    }
}
