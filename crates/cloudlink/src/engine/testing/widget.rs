//! `Widget`: a kind that exists only for the engine's lifecycle tests. It has the shared spec and
//! status shape and nothing of any real cloud, so the tests say what the engine does, not a kind.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::common::{
    CloudCredentialsRef, ImportRef, ManagementPolicy, ManagementSpec, OnDelete, ResourceStatus,
};
use crate::engine::adapter::ManagedObject;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "test.cloudlink.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    #[serde(flatten)]
    pub management: ManagementSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<WidgetResource>,
}

/// The desired widget: `name` is what the cloud finds it by, `description` can be updated.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct WidgetResource {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// The widget as the cloud reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct WidgetView {
    pub name: String,
    pub description: String,
    pub state: String,
}

pub type WidgetStatus = ResourceStatus<WidgetView>;

impl ManagedObject for Widget {
    type CloudView = WidgetView;

    fn management(&self) -> &ManagementSpec {
        &self.spec.management
    }

    fn status(&self) -> Option<&WidgetStatus> {
        self.status.as_ref()
    }

    fn exported(status: &WidgetStatus) -> std::collections::BTreeMap<String, String> {
        let view = status.resource.clone().unwrap_or_default();
        crate::engine::export::known([
            ("id", status.id.clone()),
            ("description", Some(view.description)),
        ])
    }
}

/// The Secret every widget names unless a test says otherwise.
pub const SECRET: &str = "cloud";

/// A managed widget that wants a cloud widget called `name`.
pub fn managed(name: &str) -> Widget {
    let mut widget = Widget::new(
        name,
        WidgetSpec {
            management: ManagementSpec {
                cloud_credentials_ref: CloudCredentialsRef {
                    secret_name: SECRET.into(),
                    cloud_name: "fake".into(),
                },
                management_policy: ManagementPolicy::Managed,
                on_delete: OnDelete::Delete,
                import: None,
                resync_period: None,
                export: None,
            },
            resource: Some(WidgetResource {
                name: name.into(),
                description: String::new(),
            }),
        },
    );
    widget.metadata.namespace = Some("default".into());
    widget
}

/// A managed widget that adopts the cloud widget `id`.
pub fn adopting(name: &str, id: &str) -> Widget {
    let mut widget = managed(name);
    widget.spec.management.import = Some(ImportRef { id: id.into() });
    widget
}

/// An unmanaged widget that only observes the cloud widget `id`.
pub fn observing(name: &str, id: &str) -> Widget {
    let mut widget = adopting(name, id);
    widget.spec.management.management_policy = ManagementPolicy::Unmanaged;
    widget.spec.resource = None;
    widget
}
