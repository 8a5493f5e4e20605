//! The service catalog a Keystone token carries, and picking an endpoint from it.
//!
//! Selection follows keystoneauth: by service type, interface (public unless clouds.yaml says
//! otherwise) and, if given, region (matching either `region_id` or the older `region`). When no
//! region is configured and the catalog offers the service in more than one region, the lookup
//! fails instead of guessing: a wrong guess would create resources in the wrong region.

use serde::Deserialize;

use super::clouds_yaml::Interface;
use super::error::CloudError;
use super::serde_util::{de_string, null_as_default};

/// The `catalog` of a token.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Catalog(#[serde(deserialize_with = "null_as_default")] pub Vec<CatalogService>);

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CatalogService {
    #[serde(rename = "type", deserialize_with = "de_string")]
    pub service_type: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CatalogEndpoint {
    #[serde(deserialize_with = "de_string")]
    pub interface: String,
    #[serde(deserialize_with = "de_string")]
    pub region: String,
    #[serde(deserialize_with = "de_string")]
    pub region_id: String,
    #[serde(deserialize_with = "de_string")]
    pub url: String,
}

impl CatalogEndpoint {
    fn region(&self) -> &str {
        if self.region_id.is_empty() {
            &self.region
        } else {
            &self.region_id
        }
    }
}

impl Catalog {
    /// The URL of `service_type` for `interface` in `region` (any region if `None`).
    /// `cloud` only names the cloud in the error.
    pub fn endpoint(
        &self,
        cloud: &str,
        service_type: &str,
        interface: Interface,
        region: Option<&str>,
    ) -> Result<String, CloudError> {
        let candidates: Vec<&CatalogEndpoint> = self
            .0
            .iter()
            .filter(|s| s.service_type == service_type)
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| {
                e.interface.trim_end_matches("URL") == interface.as_str() && !e.url.is_empty()
            })
            .collect();
        let chosen: Vec<&CatalogEndpoint> = match region {
            Some(r) => candidates
                .iter()
                .copied()
                .filter(|e| e.region_id == r || e.region == r)
                .collect(),
            None => candidates.clone(),
        };
        let mut regions: Vec<&str> = chosen.iter().map(|e| e.region()).collect();
        regions.sort_unstable();
        regions.dedup();
        match (chosen.first(), region, regions.len()) {
            (Some(e), Some(_), _) | (Some(e), None, 0 | 1) => Ok(e.url.clone()),
            (Some(_), None, _) => Err(CloudError::Config(format!(
                "the catalog of cloud '{cloud}' has {} '{service_type}' endpoints in regions {}; set region_name in clouds.yaml",
                interface.as_str(),
                regions.join(", ")
            ))),
            (None, _, _) => Err(CloudError::Config(format!(
                "the catalog of cloud '{cloud}' has no {} endpoint of service type '{service_type}'{} (it has: {}); \
                 check region_name and interface in clouds.yaml, or set {}_endpoint_override",
                interface.as_str(),
                region
                    .map(|r| format!(" in region '{r}'"))
                    .unwrap_or_default(),
                self.summary(),
                service_type.replace('-', "_"),
            ))),
        }
    }

    /// "compute public RegionOne, compute internal RegionOne, …" for error messages.
    fn summary(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .flat_map(|s| {
                s.endpoints.iter().map(move |e| {
                    format!("{} {} {}", s.service_type, e.interface, e.region())
                        .trim()
                        .to_owned()
                })
            })
            .collect();
        if items.is_empty() {
            "no endpoints at all".to_owned()
        } else {
            items.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        serde_json::from_value(serde_json::json!([
            {"type": "identity", "name": "keystone", "id": "c1", "endpoints": [
              {"id": "e1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://127.0.0.1:5000/v3"}]},
            {"type": "compute", "name": "nova", "id": "c2", "endpoints": [
              {"id": "e2", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://pub/v2.1/p"},
              {"id": "e3", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://int/v2.1/p"},
              {"id": "e4", "interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://two/v2.1/p"}]},
            {"type": "provider-connectivity", "name": "pc", "endpoints": [
              {"interface": "public", "region": "jp1", "url": "http://pc/provider-connectivity"}]},
            {"type": "sss", "endpoints": null},
            {"type": "sssv2", "endpoints": [{"interface": "public", "region_id": "jp1", "region": null, "url": "http://sss/v2"}]}
        ]))
        .unwrap()
    }

    #[test]
    fn picks_by_type_interface_and_region() {
        let c = catalog();
        assert_eq!(
            c.endpoint("x", "compute", Interface::Public, Some("RegionOne"))
                .unwrap(),
            "http://pub/v2.1/p"
        );
        assert_eq!(
            c.endpoint("x", "compute", Interface::Internal, Some("RegionOne"))
                .unwrap(),
            "http://int/v2.1/p"
        );
        assert_eq!(
            c.endpoint("x", "compute", Interface::Public, Some("RegionTwo"))
                .unwrap(),
            "http://two/v2.1/p"
        );
        assert_eq!(
            c.endpoint("x", "compute", Interface::Internal, None)
                .unwrap(),
            "http://int/v2.1/p"
        );
        assert_eq!(
            c.endpoint("x", "provider-connectivity", Interface::Public, None)
                .unwrap(),
            "http://pc/provider-connectivity"
        );
        assert_eq!(
            c.endpoint("x", "sssv2", Interface::Public, Some("jp1"))
                .unwrap(),
            "http://sss/v2"
        );
    }

    #[test]
    fn ambiguous_region_is_an_error() {
        let e = catalog()
            .endpoint("x", "compute", Interface::Public, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("RegionOne, RegionTwo") && e.contains("set region_name"),
            "{e}"
        );
    }

    #[test]
    fn missing_service_says_what_exists() {
        let e = catalog()
            .endpoint("demo", "sss", Interface::Public, Some("jp1"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cloud 'demo' has no public endpoint of service type 'sss' in region 'jp1'"),
            "{e}"
        );
        assert!(e.contains("compute internal RegionOne"), "{e}");
        assert!(e.contains("sss_endpoint_override"), "{e}");
        let e = catalog()
            .endpoint("demo", "compute", Interface::Admin, None)
            .unwrap_err();
        assert!(matches!(e, CloudError::Config(_)));
        let e = Catalog::default()
            .endpoint("demo", "compute", Interface::Public, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no endpoints at all"), "{e}");
    }
}
