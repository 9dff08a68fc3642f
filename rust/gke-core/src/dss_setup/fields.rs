//! The JSON the action writes into DSS, and where each field name comes from. Only fields that
//! Dataiku's own public material shows are written; the others are listed for the admin to set
//! by hand (README › "The reference architecture" says which and why).
//!
//! Sources (read, not copied):
//! - [DAC] `dataiku/dataiku-ansible-collection`,
//!   `tests/integration/targets/dss_general_settings/tasks/smart_update.yml`: execution configs
//!   with `name`, `type`, `repositoryURL`, `usableBy: ALLOWED`, Spark configs with `name`,
//!   `description`, `conf` (`{key, value, isFinal, secret}`), written to and read back from a
//!   live DSS; `plugins/modules/dss_general_settings.py` keys both lists by `name`.
//! - [HL] `dataiku/dataiku-headless`, `dataiku_mcp/tools/general_settings.py`: reads
//!   `containerSettings.executionConfigs[].{type, properties}` and
//!   `sparkSettings.executionConfigs[].kubernetesSettings.managedKubernetes`; DSS 14+ configs
//!   name an `imageBuildConfig` instead of holding their registry.
//! - [API] `dataikuapi` 15.2 (PyPI `dataiku-api-client`): `DSSClient.create_connection(name,
//!   type, params, usable_by='ALL', allowed_groups, description)`, `DSSConnectionSettings`
//!   (`type`, `params`, `usableBy`), the connection type `GCS` (`DSSConnectionInfo.get_type`).
//! - [UI] DSS's admin front end (`dataiku.connections`, `GCSConnectionController`; a public copy
//!   of DSS 9–10's code): a new GCS connection gets `params.credentialsMode = "KEYPAIR"` and
//!   `params.defaultManagedPath = "/dataiku"`.
//! - [DOC] doc.dataiku.com: the metastore is chosen in Administration › Settings › Metastore
//!   catalogs ("DSS"); GCS connections take a service account key or OAuth2.
//!
//! Not settled by any of them, so never written: the Spark config's image registry URL, the
//! metastore setting, the default cluster, an execution config's `usableBy: ALL` and image
//! pre-push hook, a GCS connection's key, bucket, project and HDFS interface fields, and the
//! DSS 14+ image build configs.

use serde_json::{json, Value};

use crate::auth::credentials::KeyInput;
use crate::dss_setup::request::SetupRequest;
use crate::error::Result;

/// [DAC], [HL]: the containerized execution configs, a list keyed by `name`.
pub const CONTAINER_CONFIGS: &[&str] = &["containerSettings", "executionConfigs"];
/// [DAC], [HL]: the Spark configs, a list keyed by `name`.
pub const SPARK_CONFIGS: &[&str] = &["sparkSettings", "executionConfigs"];

/// How this DSS keeps image registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// On each execution config (`repositoryURL`, [DAC]).
    Flat,
    /// In image build configs that execution configs name (`imageBuildConfig`, [HL]; DSS 14+),
    /// whose JSON no public material shows.
    BuildConfigs,
}

pub fn layout(general: &Value) -> Layout {
    let names_build_config = |path: &[&str]| {
        path.iter()
            .try_fold(general, |v, k| v.get(k))
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|c| c.get("imageBuildConfig").is_some()))
    };
    if general["containerSettings"].get("buildConfigs").is_some()
        || names_build_config(CONTAINER_CONFIGS)
        || names_build_config(SPARK_CONFIGS)
    {
        Layout::BuildConfigs
    } else {
        Layout::Flat
    }
}

pub const BUILD_CONFIGS_WHY: &str = "this DSS (14 or later) keeps image registries in image build configs, whose JSON Dataiku's public material does not show: nothing written; create the config by hand with the registry below (Administration › Settings › Containerized execution / Spark)";

/// A field the action keeps as it wants it.
#[derive(Debug, Clone)]
pub struct Managed {
    /// Inside the setting's object.
    pub path: &'static [&'static str],
    /// As DSS's screen names it.
    pub label: &'static str,
    pub value: Value,
}

/// A field the action does not write: what the admin sets, where.
#[derive(Debug, Clone)]
pub struct ByHand {
    pub label: String,
    pub value: String,
    pub where_: String,
    pub why: &'static str,
}

/// How a setting made by gke-native is told from one the admin made.
#[derive(Debug, Clone)]
pub enum Marker {
    /// A custom property `{key: "gke-native", value}` ([HL], [DAC]: `properties` is a list of
    /// `{key, value}`).
    Property(String),
    /// `description` ([DAC] for Spark configs, [API] for connections) starting with this.
    Description(String),
}

pub const MARK: &str = "gke-native";
const DESCRIPTION_PREFIX: &str = "Created by gke-native";

impl Marker {
    pub fn is_on(&self, setting: &Value) -> bool {
        match self {
            Marker::Property(_) => setting["properties"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["key"] == MARK)),
            Marker::Description(_) => setting["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(DESCRIPTION_PREFIX)),
        }
    }

    /// Marks a setting the admin asked the action to take over.
    pub fn put_on(&self, setting: &mut Value) {
        match self {
            Marker::Property(value) => {
                let entry = json!({"key": MARK, "value": value});
                match setting["properties"].as_array_mut() {
                    Some(ps) => ps.push(entry),
                    None => setting["properties"] = json!([entry]),
                }
            }
            Marker::Description(text) => setting["description"] = json!(text),
        }
    }
}

/// One DSS setting the action manages.
#[derive(Debug, Clone)]
pub struct Spec {
    pub what: &'static str,
    pub name: String,
    /// Where it lives in the general settings (empty for connections).
    pub list: &'static [&'static str],
    /// What a new one holds, the managed fields aside.
    pub template: Value,
    pub managed: Vec<Managed>,
    pub marker: Marker,
    pub by_hand: Vec<ByHand>,
    /// What it is for, as the report says.
    pub purpose: String,
}

const NOT_PUBLIC: &str = "its JSON is not in Dataiku's public material";

fn by_hand(label: &str, value: impl Into<String>, where_: impl Into<String>) -> ByHand {
    ByHand {
        label: label.into(),
        value: value.into(),
        where_: where_.into(),
        why: NOT_PUBLIC,
    }
}

/// The Kubernetes containerized execution config, its images in `registry`.
pub fn container_config(request: &SetupRequest, registry: &str) -> Spec {
    let name = request.container_config.clone();
    let mark = format!("created for cluster {}", request.cluster);
    let place = format!("Administration › Settings › Containerized execution › {name}");
    Spec {
        what: "Containerized execution config",
        list: CONTAINER_CONFIGS,
        // [DAC], [HL]: name, type KUBERNETES, properties.
        template: json!({
            "name": name,
            "type": "KUBERNETES",
            "properties": [{"key": MARK, "value": mark}],
        }),
        // [DAC]: the image registry URL of a flat-layout execution config.
        managed: vec![Managed {
            path: &["repositoryURL"],
            label: "Image registry URL",
            value: json!(registry),
        }],
        marker: Marker::Property(mark),
        by_hand: vec![
            by_hand("Usable by", "the groups that run containerized jobs (or all)", place.clone()),
            by_hand(
                "Image pre-push hook",
                "the Google (GCR / Artifact Registry) option, so that DSS's own pushes of code-env images authenticate",
                place,
            ),
        ],
        purpose: format!("Kubernetes, images from {registry}"),
        name,
    }
}

/// The Spark config, Managed Spark-on-K8S on.
pub fn spark_config(request: &SetupRequest, registry: &str) -> Spec {
    let name = request.spark_config.clone();
    let description = format!(
        "{DESCRIPTION_PREFIX} for cluster {}: Managed Spark-on-K8S, images from {registry}",
        request.cluster
    );
    let place = format!("Administration › Settings › Spark › {name}");
    Spec {
        what: "Spark config",
        list: SPARK_CONFIGS,
        // [DAC]: name, description, conf.
        template: json!({"name": name, "description": description, "conf": []}),
        // [HL]: kubernetesSettings.managedKubernetes.
        managed: vec![Managed {
            path: &["kubernetesSettings", "managedKubernetes"],
            label: "Managed Spark-on-K8S",
            value: json!(true),
        }],
        marker: Marker::Description(description),
        by_hand: vec![by_hand("Image registry URL", registry, place)],
        purpose: format!("Managed Spark-on-K8S on cluster {}", request.cluster),
        name,
    }
}

/// Instance-wide settings the action leaves to the admin.
pub fn instance_by_hand(request: &SetupRequest) -> Vec<ByHand> {
    vec![
        by_hand(
            "Metastore catalog",
            "Internal DSS catalog (\"DSS\")",
            "Administration › Settings › Metastore catalogs",
        ),
        by_hand(
            "Default cluster (containerized execution and Spark)",
            request.cluster.as_str(),
            "Administration › Settings, or each project's Settings › Cluster",
        ),
    ]
}

/// Where a GCS connection's credentials come from, as the report names them (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcsKey {
    /// The DSS host's own (GCE metadata server, environment).
    Host,
    /// The cluster's connection preset's key; its service account when it says.
    Key { account: Option<String> },
    /// A key file on the DSS host.
    File(String),
}

impl GcsKey {
    pub fn of(raw: &str) -> Result<Self> {
        Ok(
            match KeyInput::parse(raw, "GKE connection › Service-account key")? {
                KeyInput::Blank => GcsKey::Host,
                KeyInput::Json(text) => GcsKey::Key {
                    account: serde_json::from_str::<Value>(text)
                        .ok()
                        .and_then(|k| k["client_email"].as_str().map(str::to_string)),
                },
                KeyInput::File(path) => GcsKey::File(path.to_string()),
            },
        )
    }

    fn describe(&self) -> String {
        match self {
            GcsKey::Host => {
                "the DSS host's own credentials (GCE metadata server or environment)".into()
            }
            GcsKey::Key { account: Some(a) } => {
                format!("the service-account key of {a} (the cluster's connection preset)")
            }
            GcsKey::Key { account: None } => {
                "the service-account key of the cluster's connection preset".into()
            }
            GcsKey::File(path) => format!("the service-account key file {path} on the DSS host"),
        }
    }
}

/// The GCS connection of `bucket`.
pub fn gcs_connection(request: &SetupRequest, name: &str, bucket: &str, key: &GcsKey) -> Spec {
    let description = format!(
        "{DESCRIPTION_PREFIX} for cluster {}: bucket gs://{bucket}",
        request.cluster
    );
    let place = format!("Administration › Connections › {name}");
    let mut managed = Vec::new();
    let mut by_hand_fields = Vec::new();
    if key != &GcsKey::Host {
        // [UI]: a service-account key connection.
        managed.push(Managed {
            path: &["params", "credentialsMode"],
            label: "Credentials",
            value: json!("KEYPAIR"),
        });
        by_hand_fields.push(by_hand(
            "Service account key",
            key.describe(),
            place.clone(),
        ));
    } else {
        by_hand_fields.push(by_hand("Credentials", key.describe(), place.clone()));
    }
    by_hand_fields.push(by_hand("Bucket", bucket, place.clone()));
    by_hand_fields.push(by_hand(
        "HDFS interface",
        "GS (so that Spark reads and writes its datasets)",
        place,
    ));
    Spec {
        what: "GCS connection",
        list: &[],
        // [API]: type, params, usableBy, allowedGroups, description; [UI]: defaultManagedPath.
        template: json!({
            "type": "GCS",
            "description": description,
            "params": {"defaultManagedPath": "/dataiku"},
            "usableBy": "ALL",
            "allowedGroups": [],
        }),
        managed,
        marker: Marker::Description(description),
        by_hand: by_hand_fields,
        purpose: format!("gs://{bucket}, {}", key.describe()),
        name: name.to_string(),
    }
}

/// `DSSClient.create_connection`'s body for a new connection ([API]).
pub fn connection_create_body(name: &str, connection: &Value) -> Value {
    json!({
        "name": name,
        "type": connection["type"],
        "params": connection["params"],
        "usableBy": connection["usableBy"],
        "allowedGroups": connection["allowedGroups"],
        "description": connection["description"],
    })
}
