//! Node pools: the "Node pool" preset as DSS gives it, validated into a `NodePoolSpec`, and
//! the one function that turns a spec into GKE's `NodePool` request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use google_cloud_container_v1::model;

use crate::config::form::{apply_valve, parse_form, parse_typed_valve, POOL_RESERVED};
use crate::config::names::{check_gcp_label, check_k8s_label, check_resource_name, MAX_GCP_LABELS};
use crate::config::taint::Taint;
use crate::error::Problem;

/// The `node-pool-request` parameter set, field for field.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct NodePoolRequest {
    pub name: String,
    pub machine_type: String,
    pub node_count: i64,
    pub autoscaling: bool,
    pub min_nodes: i64,
    pub max_nodes: i64,
    pub location_policy: String,
    pub spot: bool,
    pub gpu: bool,
    pub gpu_type: String,
    pub gpu_count: i64,
    pub gpu_driver: String,
    pub disk_type: String,
    pub disk_size_gb: i64,
    pub image_type: String,
    pub service_account_mode: String,
    pub service_account: String,
    pub oauth_scopes: Vec<String>,
    pub artifact_registry_pull: bool,
    pub gcs_access: String,
    pub network_tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
    pub resource_labels: BTreeMap<String, String>,
    pub max_pods_per_node: i64,
    pub settings_valve: String,
}

/// A pool's size in nodes per zone, within GKE's range: the one rule for presets, resizes and
/// steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCount(i32);

impl NodeCount {
    /// `field` names the number in the problem.
    pub fn new(count: i64, field: &str) -> Result<Self, Problem> {
        if (0..=MAX_NODES_PER_ZONE).contains(&count) {
            // Within 0..=1000: fits.
            Ok(Self(count as i32))
        } else {
            Err(Problem::new(
                field,
                format!("{count} is not between 0 and {MAX_NODES_PER_ZONE} nodes per zone"),
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// Autoscaling limits in nodes per zone, as GKE takes them: the one rule at creation and when
/// changed later (actions, steps, notebooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscaling {
    pub min: i32,
    pub max: i32,
}

impl Autoscaling {
    /// `scope` prefixes the fields in problems (`node pool 'gpu' › `, or nothing).
    pub fn new(min: i64, max: i64, scope: &str) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        if !(0..=MAX_NODES_PER_ZONE).contains(&min) {
            problems.push(Problem::new(
                format!("{scope}Min nodes"),
                format!("{min} is not between 0 and {MAX_NODES_PER_ZONE}"),
            ));
        }
        if !(1..=MAX_NODES_PER_ZONE).contains(&max) {
            problems.push(Problem::new(
                format!("{scope}Max nodes"),
                format!("{max} is not between 1 and {MAX_NODES_PER_ZONE}"),
            ));
        }
        if problems.is_empty() && min > max {
            problems.push(Problem::new(
                format!("{scope}Min nodes"),
                format!("{min} is above Max nodes ({max}): lower it or raise Max nodes"),
            ));
        }
        if problems.is_empty() {
            // Both within 0..=1000: they fit.
            Ok(Self {
                min: min as i32,
                max: max as i32,
            })
        } else {
            Err(problems)
        }
    }
}

/// A Compute Engine machine type's syntax, e.g. `e2-standard-4`, `n2-highmem-8`,
/// `custom-4-16384`, `n2-custom-8-32768-ext`; whether it exists is Compute's to say.
pub fn check_machine_type(name: &str) -> std::result::Result<(), String> {
    let valid = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.contains('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a machine type like e2-standard-4 or n2-highmem-8"
        ))
    }
}

/// Whether Compute lists the machine type (custom types are made to order, never listed).
pub fn is_custom_machine_type(name: &str) -> bool {
    name.starts_with("custom-") || name.contains("-custom-")
}

/// GKE's limit of nodes per zone in one pool.
pub const MAX_NODES_PER_ZONE: i64 = 1000;

impl Default for NodePoolRequest {
    /// The parameter set's own defaults, so that a preset with blanks means what the admin saw.
    fn default() -> Self {
        Self {
            name: String::new(),
            machine_type: "e2-standard-4".into(),
            node_count: 3,
            autoscaling: false,
            min_nodes: 1,
            max_nodes: 3,
            location_policy: "BALANCED".into(),
            spot: false,
            gpu: false,
            gpu_type: "nvidia-tesla-t4".into(),
            gpu_count: 1,
            gpu_driver: "DEFAULT".into(),
            disk_type: "pd-balanced".into(),
            disk_size_gb: 100,
            image_type: "COS_CONTAINERD".into(),
            service_account_mode: "same-as-dss".into(),
            service_account: String::new(),
            oauth_scopes: Vec::new(),
            artifact_registry_pull: true,
            gcs_access: "read-only".into(),
            network_tags: Vec::new(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            resource_labels: BTreeMap::new(),
            max_pods_per_node: 0,
            settings_valve: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAccount {
    /// The DSS host's own service account (from the metadata server or the key).
    SameAsDss,
    Custom,
    /// GKE's default: the project's Compute Engine default service account.
    ComputeDefault,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gpu {
    pub accelerator_type: String,
    pub count: i64,
    /// GKE's `gpuDriverVersion`: DEFAULT, LATEST or INSTALLATION_DISABLED.
    pub driver: String,
}

/// A validated node pool request; building the API request from it cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePoolSpec {
    pub name: String,
    pub machine_type: String,
    pub node_count: i64,
    /// (min, max, location policy) when autoscaling.
    pub autoscaling: Option<(i64, i64, String)>,
    pub spot: bool,
    pub gpu: Option<Gpu>,
    pub disk_type: String,
    pub disk_size_gb: i64,
    pub image_type: String,
    pub service_account: ServiceAccount,
    pub custom_service_account: String,
    pub oauth_scopes: Vec<String>,
    pub network_tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub resource_labels: BTreeMap<String, String>,
    pub max_pods_per_node: Option<i64>,
    pub valve: Option<Value>,
}

const SCOPE_BASE: &[&str] = &[
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
    "https://www.googleapis.com/auth/servicecontrol",
    "https://www.googleapis.com/auth/service.management.readonly",
    "https://www.googleapis.com/auth/trace.append",
];
const SCOPE_GCS_READ: &str = "https://www.googleapis.com/auth/devstorage.read_only";
const SCOPE_GCS_WRITE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

/// Everything a spec needs from outside the preset: the GKE API's defaults for the pool.
#[derive(Debug, Clone, Default)]
pub struct PoolContext {
    /// Resolved email of the DSS host's service account, for `SameAsDss`.
    pub dss_service_account: Option<String>,
    /// GCP labels of the cluster, which pools inherit (the pool's own win).
    pub cluster_labels: BTreeMap<String, String>,
}

impl NodePoolSpec {
    /// Whether a pod without tolerations can run on the pool's nodes.
    pub fn schedules_any_pod(&self) -> bool {
        self.gpu.is_none()
            && self
                .taints
                .iter()
                .all(|t| t.effect == crate::config::taint::TaintEffect::PreferNoSchedule)
    }
}

impl NodePoolRequest {
    /// Reads a preset as DSS resolved it; `scope` names it in problems (e.g. `node pool 'gpu'`).
    pub fn from_dss(value: &Value, scope: &str) -> Result<Self, Problem> {
        parse_form(value, Some(scope), DESCRIPTOR)
    }

    /// Checks every field; all problems at once, each naming the preset and field.
    /// `autopilot` refuses what Autopilot manages itself.
    pub fn validate(&self, scope: &str, autopilot: bool) -> Result<NodePoolSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: String| {
            problems.push(Problem::new(format!("{scope} › {field}"), message))
        };
        if !self.name.is_empty() {
            if let Err(e) = check_resource_name(&self.name) {
                bad("Name", e);
            }
        }
        if self.machine_type.trim().is_empty() {
            bad(
                "Machine type",
                "is empty: give a machine type like e2-standard-4".into(),
            );
        }
        if let Err(e) = check_machine_type(self.machine_type.trim()) {
            if !self.machine_type.trim().is_empty() {
                bad("Machine type", e);
            }
        }
        if !self.autoscaling {
            if let Err(p) = NodeCount::new(self.node_count, "Number of nodes") {
                bad(&p.field, p.message);
            }
        }
        if !self.autoscaling && self.node_count == 0 {
            bad(
                "Number of nodes",
                "0 without autoscaling: GKE creates no pool without nodes; give at least 1 (resize it to 0 later) or turn autoscaling on".into(),
            );
        }
        for (field, name, value) in [
            ("Disk type", "disk_type", &self.disk_type),
            ("Image type", "image_type", &self.image_type),
        ] {
            if let Some(e) = crate::config::form::choice_problem(DESCRIPTOR, name, value) {
                bad(field, e);
            }
        }
        if self.autoscaling {
            if let Err(ps) = Autoscaling::new(self.min_nodes, self.max_nodes, "") {
                for p in ps {
                    bad(&p.field, p.message);
                }
            }
            if !matches!(self.location_policy.as_str(), "BALANCED" | "ANY") {
                bad(
                    "Location policy",
                    format!("'{}' is not BALANCED or ANY", self.location_policy),
                );
            }
        }
        if self.gpu {
            if autopilot {
                bad(
                    "GPU",
                    "Autopilot clusters choose GPU nodes from workloads' requests: remove the GPU from this preset".into(),
                );
            }
            if self.gpu_type.trim().is_empty() {
                bad(
                    "GPU type",
                    "is empty: give an accelerator like nvidia-tesla-t4".into(),
                );
            } else if check_machine_type(self.gpu_type.trim()).is_err() {
                bad(
                    "GPU type",
                    format!(
                        "'{}' is not an accelerator type like nvidia-tesla-t4 or nvidia-l4",
                        self.gpu_type.trim()
                    ),
                );
            }
            if !(1..=16).contains(&self.gpu_count) {
                bad(
                    "GPUs per node",
                    format!("{} is not between 1 and 16", self.gpu_count),
                );
            }
            if !matches!(
                self.gpu_driver.as_str(),
                "DEFAULT" | "LATEST" | "INSTALLATION_DISABLED"
            ) {
                bad(
                    "GPU driver",
                    format!(
                        "'{}' is not DEFAULT, LATEST or INSTALLATION_DISABLED",
                        self.gpu_driver
                    ),
                );
            }
        }
        if !(10..=65536).contains(&self.disk_size_gb) {
            bad(
                "Disk size",
                format!("{} GB is not between 10 and 65536", self.disk_size_gb),
            );
        }
        let service_account = match self.service_account_mode.as_str() {
            "same-as-dss" => ServiceAccount::SameAsDss,
            "compute-default" => ServiceAccount::ComputeDefault,
            "custom" => {
                if !self.service_account.contains('@') {
                    bad(
                        "Service account",
                        format!(
                            "'{}' is not a service account email like nodes@my-project.iam.gserviceaccount.com",
                            self.service_account
                        ),
                    );
                }
                ServiceAccount::Custom
            }
            other => {
                bad(
                    "Service account",
                    format!("'{other}' is not same-as-dss, custom or compute-default"),
                );
                ServiceAccount::SameAsDss
            }
        };
        if !matches!(
            self.gcs_access.as_str(),
            "none" | "read-only" | "read-write"
        ) {
            bad(
                "GCS access",
                format!("'{}' is not none, read-only or read-write", self.gcs_access),
            );
        }
        for scope_url in &self.oauth_scopes {
            if !scope_url.starts_with("https://www.googleapis.com/auth/") {
                bad("OAuth scopes", format!("'{scope_url}' is not a scope URL like https://www.googleapis.com/auth/cloud-platform"));
            }
        }
        for tag in &self.network_tags {
            if check_resource_name(tag).is_err() || tag.len() > 63 {
                bad("Network tags", format!("'{tag}' must be lowercase letters, digits and hyphens, starting with a letter"));
            }
        }
        for (k, v) in &self.labels {
            if let Err(e) = check_k8s_label(k, v) {
                bad("Kubernetes labels", e);
            }
        }
        let mut taints = Vec::new();
        for text in &self.taints {
            match text.parse::<Taint>() {
                Ok(t) => taints.push(t),
                Err(e) => bad("Taints", e),
            }
        }
        for (k, v) in &self.resource_labels {
            if let Err(e) = check_gcp_label(k, v) {
                bad("GCP labels", e);
            }
        }
        if self.resource_labels.len() > MAX_GCP_LABELS {
            bad(
                "GCP labels",
                format!(
                    "{} labels; GCP allows at most {MAX_GCP_LABELS}",
                    self.resource_labels.len()
                ),
            );
        }
        if self.max_pods_per_node != 0 && !(8..=256).contains(&self.max_pods_per_node) {
            bad(
                "Max pods per node",
                format!(
                    "{} is not between 8 and 256 (0 = GKE's default)",
                    self.max_pods_per_node
                ),
            );
        }
        let valve = match parse_typed_valve::<model::NodePool>(
            &self.settings_valve,
            &format!("{scope} › Settings valve"),
            POOL_RESERVED,
        ) {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(NodePoolSpec {
            name: self.name.clone(),
            machine_type: self.machine_type.trim().to_string(),
            node_count: self.node_count,
            autoscaling: self
                .autoscaling
                .then(|| (self.min_nodes, self.max_nodes, self.location_policy.clone())),
            spot: self.spot,
            gpu: self.gpu.then(|| Gpu {
                accelerator_type: self.gpu_type.trim().to_string(),
                count: self.gpu_count,
                driver: self.gpu_driver.clone(),
            }),
            disk_type: self.disk_type.clone(),
            disk_size_gb: self.disk_size_gb,
            image_type: self.image_type.clone(),
            service_account,
            custom_service_account: self.service_account.clone(),
            oauth_scopes: self.scopes(),
            network_tags: self.network_tags.clone(),
            labels: self.labels.clone(),
            taints,
            resource_labels: self.resource_labels.clone(),
            max_pods_per_node: (self.max_pods_per_node != 0).then_some(self.max_pods_per_node),
            valve,
        })
    }

    /// GKE's default scopes, plus storage as asked, plus the admin's own.
    fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = SCOPE_BASE.iter().map(|s| s.to_string()).collect();
        // Artifact Registry pulls are authorised by the storage read scope.
        match self.gcs_access.as_str() {
            "read-write" => scopes.push(SCOPE_GCS_WRITE.into()),
            "read-only" => scopes.push(SCOPE_GCS_READ.into()),
            _ if self.artifact_registry_pull => scopes.push(SCOPE_GCS_READ.into()),
            _ => {}
        }
        for s in &self.oauth_scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        scopes
    }
}

impl NodePoolSpec {
    /// GKE's `NodePool` for this spec, named `name` (the spec's, or one generated by the
    /// caller), with the preset's valve merged in.
    pub fn to_api(&self, name: &str, ctx: &PoolContext) -> Result<model::NodePool, Problem> {
        let service_account = match self.service_account {
            ServiceAccount::SameAsDss => ctx.dss_service_account.clone().unwrap_or_default(),
            ServiceAccount::Custom => self.custom_service_account.clone(),
            ServiceAccount::ComputeDefault => String::new(),
        };
        let mut resource_labels = ctx.cluster_labels.clone();
        resource_labels.extend(self.resource_labels.clone());
        let accelerators = self.gpu.iter().map(|gpu| {
            model::AcceleratorConfig::new()
                .set_accelerator_count(gpu.count)
                .set_accelerator_type(gpu.accelerator_type.clone())
                .set_gpu_driver_installation_config(
                    model::GPUDriverInstallationConfig::new().set_gpu_driver_version(
                        model::gpu_driver_installation_config::GPUDriverVersion::from(
                            gpu.driver.as_str(),
                        ),
                    ),
                )
        });
        let config = model::NodeConfig::new()
            .set_machine_type(self.machine_type.clone())
            .set_disk_type(self.disk_type.clone())
            // Validated between 10 and 65536.
            .set_disk_size_gb(self.disk_size_gb as i32)
            .set_image_type(self.image_type.clone())
            .set_oauth_scopes(self.oauth_scopes.clone())
            .set_service_account(service_account)
            .set_spot(self.spot)
            .set_accelerators(accelerators)
            .set_tags(self.network_tags.clone())
            .set_labels(self.labels.clone())
            .set_taints(self.taints.iter().map(model::NodeTaint::from))
            .set_resource_labels(resource_labels);
        // Counts are validated within GKE's 0..=1000 per zone, so they fit an i32.
        let (initial, autoscaling) = match &self.autoscaling {
            Some((min, max, policy)) => (
                (*min).max(1).min(*max),
                Some(
                    model::NodePoolAutoscaling::new()
                        .set_enabled(true)
                        .set_min_node_count(*min as i32)
                        .set_max_node_count(*max as i32)
                        .set_location_policy(model::node_pool_autoscaling::LocationPolicy::from(
                            policy.as_str(),
                        )),
                ),
            ),
            None => (self.node_count, None),
        };
        let pool = model::NodePool::new()
            .set_name(name)
            .set_config(config)
            .set_management(
                model::NodeManagement::new()
                    .set_auto_repair(true)
                    .set_auto_upgrade(true),
            )
            .set_initial_node_count(initial as i32)
            .set_or_clear_autoscaling(autoscaling)
            .set_or_clear_max_pods_constraint(
                self.max_pods_per_node
                    .map(|n| model::MaxPodsConstraint::new().set_max_pods_per_node(n)),
            );
        apply_valve(
            pool,
            self.valve.as_ref(),
            &format!("node pool '{name}' › Settings valve"),
        )
    }
}

/// A node pool as people read it (see [`readable`]).
pub fn readable_pool(pool: &model::NodePool) -> Value {
    let mut value = serde_json::to_value(pool).unwrap_or_default();
    name_pool_enums(&mut value, pool);
    value
}

pub(crate) fn name_pool_enums(value: &mut Value, pool: &model::NodePool) {
    if let Some(a) = &pool.autoscaling {
        name_at(
            value,
            &["autoscaling", "locationPolicy"],
            a.location_policy.name(),
        );
    }
    let Some(config) = &pool.config else { return };
    for (j, taint) in config.taints.iter().enumerate() {
        name_at(
            &mut value["config"]["taints"][j],
            &["effect"],
            taint.effect.name(),
        );
    }
    for (j, gpu) in config.accelerators.iter().enumerate() {
        if let Some(d) = &gpu.gpu_driver_installation_config {
            name_at(
                &mut value["config"]["accelerators"][j],
                &["gpuDriverInstallationConfig", "gpuDriverVersion"],
                d.gpu_driver_version.as_ref().and_then(|v| v.name()),
            );
        }
    }
}

/// Replaces the number at `path` (when the wire form has one there) by the enum's name.
pub(crate) fn name_at(value: &mut Value, path: &[&str], name: Option<&str>) {
    let mut at = value;
    for key in path {
        match at.get_mut(*key) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let (true, Some(name)) = (at.is_number(), name) {
        *at = Value::String(name.to_string());
    }
}

/// The "Node pool" preset form (its labels name fields in problems).
const DESCRIPTOR: &str =
    include_str!("../../../../parameter-sets/node-pool-request/parameter-set.json");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> NodePoolRequest {
        NodePoolRequest::from_dss(&v, "node pool 'p'").unwrap()
    }

    #[test]
    fn defaults_build_a_plain_pool() {
        let spec = request(json!({})).validate("node pool 'p'", false).unwrap();
        let ctx = PoolContext {
            dss_service_account: Some("dss@p.iam.gserviceaccount.com".into()),
            cluster_labels: BTreeMap::from([("team".into(), "data".into())]),
        };
        let api = readable_pool(&spec.to_api("pool-1", &ctx).unwrap());
        assert_eq!(api["name"], "pool-1");
        assert_eq!(api["initialNodeCount"], 3);
        assert_eq!(api["config"]["machineType"], "e2-standard-4");
        assert_eq!(
            api["config"]["serviceAccount"],
            "dss@p.iam.gserviceaccount.com"
        );
        assert_eq!(api["config"]["resourceLabels"], json!({"team": "data"}));
        let scopes = api["config"]["oauthScopes"].as_array().unwrap();
        assert!(scopes.contains(&json!(SCOPE_GCS_READ)));
        assert!(api.get("autoscaling").is_none());
    }

    #[test]
    fn gpu_autoscaling_taints_and_valve() {
        let spec = request(json!({
            "gpu": true, "gpu_driver": "LATEST", "gpu_count": 2,
            "autoscaling": true, "min_nodes": 0, "max_nodes": 4,
            "taints": ["dedicated=ml:NoSchedule"], "gcs_access": "read-write",
            "settings_valve": "{\"config\": {\"diskSizeGb\": 200}}",
        }))
        .validate("node pool 'p'", false)
        .unwrap();
        let api = readable_pool(&spec.to_api("gpu", &PoolContext::default()).unwrap());
        assert_eq!(
            api["config"]["accelerators"][0],
            json!({"acceleratorCount": "2", "acceleratorType": "nvidia-tesla-t4",
                   "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}})
        );
        assert_eq!(api["autoscaling"]["maxNodeCount"], 4);
        assert_eq!(api["initialNodeCount"], 1);
        assert_eq!(api["config"]["taints"][0]["effect"], "NO_SCHEDULE");
        assert_eq!(api["config"]["diskSizeGb"], 200);
        assert!(api["config"]["oauthScopes"]
            .as_array()
            .unwrap()
            .contains(&json!(SCOPE_GCS_WRITE)));
    }

    #[test]
    fn limits_are_checked_together() {
        assert_eq!(
            Autoscaling::new(0, 3, ""),
            Ok(Autoscaling { min: 0, max: 3 })
        );
        let e = Autoscaling::new(4, 2, "").unwrap_err();
        assert_eq!(e[0].field, "Min nodes");
        assert!(e[0].message.contains("above Max nodes (2)"), "{e:?}");
        let e = Autoscaling::new(-1, 0, "p › ").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["p › Min nodes", "p › Max nodes"]);
        assert_eq!(NodeCount::new(1000, "n").map(NodeCount::get), Ok(1000));
        let e = NodeCount::new(1001, "Number of nodes").unwrap_err();
        assert_eq!(e.message, "1001 is not between 0 and 1000 nodes per zone");
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let problems = request(json!({
            "name": "Pool_1", "autoscaling": true, "min_nodes": 5, "max_nodes": 2,
            "taints": ["dedicated=ml"], "gpu": true, "resource_labels": {"Team": "x"},
            "settings_valve": "{oops",
        }))
        .validate("node pool 'p'", true)
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "node pool 'p' › Name",
                "node pool 'p' › Min nodes",
                "node pool 'p' › GPU",
                "node pool 'p' › Taints",
                "node pool 'p' › GCP labels",
                "node pool 'p' › Settings valve",
            ]
        );
        assert!(problems[1].message.contains("5 is above Max nodes (2)"));
        assert!(problems[2].message.contains("Autopilot"));
    }
}

#[cfg(test)]
mod descriptor_tests {
    use super::*;
    use serde_json::Map;

    /// The preset DSS shows and the struct that reads it must agree, field for field and on
    /// every default, or a blank field would mean something else than the admin saw.
    #[test]
    fn descriptor_and_struct_agree() {
        let descriptor: Value = serde_json::from_str(DESCRIPTOR).unwrap();
        let params = descriptor["params"].as_array().unwrap();
        let mut names = Vec::new();
        let mut defaults = Map::new();
        for p in params.iter().filter(|p| p["type"] != "SEPARATOR") {
            let name = p["name"].as_str().unwrap().to_string();
            if let Some(d) = p.get("defaultValue") {
                defaults.insert(name.clone(), d.clone());
            }
            names.push(name);
        }
        let from_descriptor = NodePoolRequest::from_dss(&Value::Object(defaults), "d").unwrap();
        let from_descriptor = serde_json::to_value(from_descriptor).unwrap();
        let rust_default = serde_json::to_value(NodePoolRequest::default()).unwrap();
        assert_eq!(from_descriptor, rust_default, "defaults differ");
        let fields: Vec<&String> = rust_default.as_object().unwrap().keys().collect();
        let mut sorted_names: Vec<&String> = names.iter().collect();
        sorted_names.sort();
        assert_eq!(
            fields, sorted_names,
            "preset params and struct fields differ"
        );
    }
}
