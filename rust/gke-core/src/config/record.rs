//! A DSS cluster of this plugin as actions, steps and notebooks find it when they run: its id
//! and type, its config and the plugin's settings as DSS resolves them at that moment (presets
//! included, so an edited preset or a rotated key applies at once), and the data its start()
//! returned (which only finds the GKE cluster).

use serde::Deserialize;
use serde_json::Value;

use crate::config::connection::ConnectionRequest;
use crate::config::form::parse;
use crate::config::plugin_data::PluginData;
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Result};

/// `plugin.json`'s id: DSS names the plugin's cluster types `pycluster_gke-native_<component>`.
pub const PLUGIN_ID: &str = "gke-native";

/// Where a DSS cluster's credentials come from, as problems name it.
pub const KEY_FIELD: &str = "GKE connection › Service-account key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterType {
    /// "Create GKE cluster": start() creates it, stop() deletes it.
    Create,
    /// "Attach GKE cluster": an existing cluster, left running.
    Attach,
}

impl ClusterType {
    /// From DSS's type id of a cluster, e.g. `pycluster_gke-native_create-gke-cluster`.
    pub fn from_dss_type(dss_type: &str) -> Option<Self> {
        let component = dss_type
            .strip_prefix("pycluster_")?
            .strip_prefix(PLUGIN_ID)?
            .strip_prefix('_')?;
        match component {
            "create-gke-cluster" => Some(Self::Create),
            "attach-gke-cluster" => Some(Self::Attach),
            _ => None,
        }
    }
}

/// What the shim fetches from DSS (`dss_gke.dss.dss_cluster`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record {
    id: String,
    #[serde(rename = "type")]
    dss_type: String,
    config: Value,
    plugin_config: Value,
    data: Value,
}

/// A DSS cluster of this plugin, read now.
#[derive(Debug, Clone)]
pub struct DssCluster {
    pub id: String,
    pub kind: ClusterType,
    /// The cluster type's params, presets resolved.
    pub config: Value,
    pub settings: PluginSettings,
    /// What start() returned (none when the cluster is not running).
    pub data: Option<PluginData>,
    pub connection: ConnectionRequest,
}

impl DssCluster {
    /// From the shim's record: `{"id", "type", "config", "plugin_config", "data"}`.
    pub fn from_record(record: &Value) -> Result<Self> {
        let record: Record =
            parse(record, "DSS cluster").map_err(|p| GkeError::Validation(vec![p]))?;
        let Some(kind) = ClusterType::from_dss_type(&record.dss_type) else {
            return Err(GkeError::validation(
                "Cluster",
                format!(
                    "{} is a cluster of type '{}', not one gke-native created or attached: choose a \"Create GKE cluster\" or \"Attach GKE cluster\" cluster",
                    record.id, record.dss_type
                ),
            ));
        };
        let settings = PluginSettings::from_dss(&record.plugin_config)?;
        let connection = ConnectionRequest::from_dss(&record.config["connection"])
            .map_err(|p| GkeError::Validation(vec![p]))?;
        Ok(Self {
            id: record.id,
            kind,
            config: record.config,
            settings,
            data: PluginData::read(&record.data).map_err(|p| GkeError::Validation(vec![p]))?,
            connection,
        })
    }

    /// The GKE cluster its data records, or a clear error when it has not been started.
    pub fn recorded(&self) -> Result<&PluginData> {
        self.data.as_ref().ok_or_else(|| {
            GkeError::validation(
                "Cluster",
                format!(
                    "DSS cluster {} has no running GKE cluster recorded: start it first",
                    self.id
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_this_plugins_clusters() {
        assert_eq!(
            ClusterType::from_dss_type("pycluster_gke-native_create-gke-cluster"),
            Some(ClusterType::Create)
        );
        assert_eq!(
            ClusterType::from_dss_type("pycluster_gke-clusters_create-gke-cluster"),
            None
        );
        let e = DssCluster::from_record(&json!({"id": "c", "type": "manual"})).unwrap_err();
        assert!(
            e.to_string().contains("c is a cluster of type 'manual'"),
            "{e}"
        );
        let c = DssCluster::from_record(&json!({
            "id": "c", "type": "pycluster_gke-native_attach-gke-cluster",
            "config": {"connection": {"project_id": "p-123456"}}, "plugin_config": {}, "data": null,
        }))
        .unwrap();
        assert_eq!(c.kind, ClusterType::Attach);
        assert_eq!(c.data, None);
    }
}
