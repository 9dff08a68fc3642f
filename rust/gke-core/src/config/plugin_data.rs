//! The data start() returns and DSS keeps as the cluster's `data`: where the GKE cluster is and how
//! DSS reaches it; versioned, older records still read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::names::check_resource_name;
use crate::error::Problem;

/// The version of [`PluginData`] start() writes now. Version 1 (no `version` field) also kept
/// the key file's path, the resolved connection and GKE's description; actions now resolve the
/// connection preset on every run, so those are ignored when read.
pub const PLUGIN_DATA_VERSION: u32 = 2;

/// What start() returns as the DSS cluster's data: where the GKE cluster is and how DSS
/// reaches it. Never a key, never a path to one: actions take credentials from the cluster's
/// connection preset as DSS resolves it when they run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginData {
    pub version: u32,
    pub project: String,
    pub location: String,
    pub name: String,
    pub regional: bool,
    pub autopilot: bool,
    pub endpoint: String,
    pub kubeconfig_path: String,
    pub kube_context: String,
    /// The Google identity made cluster-admin, when known.
    pub identity: Option<String>,
    pub admin_binding: Option<String>,
    /// Whether this start() created the cluster (reported; stop() of a "Create GKE cluster"
    /// deletes the recorded cluster either way, as its form says).
    pub created_by_plugin: bool,
}

/// The settings start() returns for DSS to apply while the cluster runs: its containerized
/// execution (and so Spark on Kubernetes) pointed at the cluster, the way Dataiku's cluster
/// plugins set them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DssOverrides {
    pub container: ContainerOverrides,
    pub spark: SparkOverrides,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverrides {
    pub execution_configs_generic_overrides: GenericOverrides,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenericOverrides {
    #[serde(rename = "kubeCtlContext")]
    pub kube_ctl_context: String,
    #[serde(rename = "kubeConfigPath")]
    pub kube_config_path: String,
    /// The image registry DSS pushes to, when the connection names an Artifact Registry
    /// repository (AKS's plugin sets the registry it attached the same way).
    #[serde(rename = "repositoryURL", skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SparkOverrides {
    pub spark_enabled: bool,
}

impl DssOverrides {
    pub fn new(context: String, kubeconfig: String, registry: Option<String>) -> Self {
        Self {
            container: ContainerOverrides {
                execution_configs_generic_overrides: GenericOverrides {
                    kube_ctl_context: context,
                    kube_config_path: kubeconfig,
                    repository_url: registry,
                },
            },
            spark: SparkOverrides {
                spark_enabled: true,
            },
        }
    }
}

/// Where problems with recorded data point.
const FIELD: &str = "Cluster data";

impl PluginData {
    /// DSS's `data` of a cluster, read: `None` when no GKE cluster is recorded (null, or none of
    /// project, location and name); version 1 records (no `version`) read as well. Data naming
    /// no cluster clearly, or written by a newer plugin, is a problem rather than a guess.
    pub fn read(data: &Value) -> Result<Option<Self>, Problem> {
        let recorded = ["project", "location", "name"]
            .iter()
            .any(|k| data.get(k).is_some_and(|v| !v.is_null()));
        if !recorded {
            return Ok(None);
        }
        let malformed = || {
            Problem::new(
                FIELD,
                "is malformed (project, location and name are not all there as names), so which GKE cluster it is is unknown: it may still run; delete it in the Google Cloud console",
            )
        };
        let read: Self = serde_json::from_value(data.clone()).map_err(|_| malformed())?;
        if read.version > PLUGIN_DATA_VERSION {
            return Err(Problem::new(
                FIELD,
                format!(
                    "was written by a newer gke-native (data version {}; this one reads up to {PLUGIN_DATA_VERSION}): update the plugin",
                    read.version
                ),
            ));
        }
        let names = [&read.project, &read.location, &read.name];
        if names.iter().any(|n| check_resource_name(n).is_err()) {
            return Err(malformed());
        }
        Ok(Some(read))
    }

    /// Where the cluster's operations live: `projects/P/locations/L`.
    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// The identity made cluster-admin at start, when one was.
    pub fn admin_identity(&self) -> Option<&str> {
        self.identity.as_deref().filter(|i| !i.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_are_what_dss_reads() {
        let o = DssOverrides::new("ctx".into(), "/k".into(), Some("r/p/x".into()));
        assert_eq!(
            serde_json::to_value(o).unwrap(),
            json!({"container": {"executionConfigsGenericOverrides": {
                "kubeCtlContext": "ctx", "kubeConfigPath": "/k", "repositoryURL": "r/p/x"}},
                "spark": {"sparkEnabled": true}})
        );
        let o = DssOverrides::new("ctx".into(), "/k".into(), None);
        let v = serde_json::to_value(o).unwrap();
        assert!(v["container"]["executionConfigsGenericOverrides"]
            .get("repositoryURL")
            .is_none());
    }

    #[test]
    fn nothing_recorded_is_none() {
        assert_eq!(PluginData::read(&Value::Null), Ok(None));
        assert_eq!(PluginData::read(&json!({})), Ok(None));
        assert_eq!(PluginData::read(&json!({"project": null})), Ok(None));
    }

    #[test]
    fn version_1_records_still_read() {
        let v1 = json!({
            "project": "p-123456", "location": "europe-west1-b", "name": "c1",
            "key_file": "/x/key.json", "connection": {"zone": "europe-west1-b"},
            "endpoint": "10.0.0.1", "identity": "", "created_by_plugin": true,
        });
        let read = PluginData::read(&v1).unwrap().unwrap();
        assert_eq!(read.version, 0);
        assert_eq!(read.parent(), "projects/p-123456/locations/europe-west1-b");
        assert_eq!(read.admin_identity(), None);
        assert!(read.created_by_plugin);
    }

    #[test]
    fn malformed_or_newer_data_is_refused() {
        let e = PluginData::read(&json!({"project": "p-123456", "name": "c1"})).unwrap_err();
        assert!(e.message.contains("malformed"), "{e}");
        let e = PluginData::read(&json!({"project": 7, "location": "l", "name": "c"})).unwrap_err();
        assert!(e.message.contains("malformed"), "{e}");
        let newer = json!({"version": 3, "project": "p-123456", "location": "europe-west1-b", "name": "c1"});
        let e = PluginData::read(&newer).unwrap_err();
        assert!(e.message.contains("newer gke-native"), "{e}");
    }
}
