//! The "Create GKE cluster" configuration: read from DSS, validated in full before any call,
//! and turned by one function into GKE's create request (which the plan shows as is).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::cidr::CidrRange;
use crate::config::connection::ConnectionRequest;
use google_cloud_container_v1::model;

use crate::config::credential_helper::CredentialHelper;
use crate::config::form::{parse_form, parse_typed_valve, CLUSTER_RESERVED};
use crate::config::location::{region_of_zone, LocationType};
use crate::config::names::{check_gcp_label, check_resource_name, MAX_GCP_LABELS};
use crate::config::node_pool::{NodePoolRequest, NodePoolSpec};
use crate::error::{GkeError, Problem, Result};

/// The `create-gke-cluster` cluster type's parameters, field for field.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ClusterRequest {
    pub connection: Value,
    pub node_pools: Vec<Value>,
    pub gke_name: String,
    pub mode: String,
    pub location_type: String,
    pub node_locations: Vec<String>,
    pub kubernetes_version: String,
    pub release_channel: String,
    pub network_mode: String,
    pub network: String,
    pub subnetwork: String,
    pub vpc_native: bool,
    pub pod_range: String,
    pub service_range: String,
    pub gateway_api: bool,
    pub http_load_balancing: bool,
    pub labels: BTreeMap<String, String>,
    pub private_nodes: bool,
    pub master_cidr: String,
    pub authorized_networks: bool,
    pub authorized_cidrs: Vec<String>,
    pub authorize_dss_host: bool,
    pub workload_identity: bool,
    pub shielded_nodes: bool,
    pub settings_valve: String,
    pub keep_failed: bool,
    pub credential_helper: String,
    pub operation_timeout_minutes: i64,
    pub log_level: String,
}

impl Default for ClusterRequest {
    fn default() -> Self {
        Self {
            connection: Value::Null,
            node_pools: Vec::new(),
            gke_name: String::new(),
            mode: "standard".into(),
            location_type: "zonal".into(),
            node_locations: Vec::new(),
            kubernetes_version: "latest".into(),
            release_channel: "default".into(),
            network_mode: "inherit".into(),
            network: String::new(),
            subnetwork: String::new(),
            vpc_native: true,
            pod_range: String::new(),
            service_range: String::new(),
            gateway_api: false,
            http_load_balancing: true,
            labels: BTreeMap::new(),
            private_nodes: false,
            master_cidr: "172.16.0.0/28".into(),
            authorized_networks: false,
            authorized_cidrs: Vec::new(),
            authorize_dss_host: true,
            workload_identity: false,
            shielded_nodes: true,
            settings_valve: String::new(),
            keep_failed: false,
            credential_helper: "dss-gke".into(),
            operation_timeout_minutes: 30,
            log_level: "INFO".into(),
        }
    }
}

/// A pod or service range: a fixed block, a size, or a secondary range of the subnet.
#[derive(Debug, Clone, PartialEq)]
pub enum IpRange {
    Cidr(CidrRange),
    SecondaryRange(String),
}

impl IpRange {
    fn parse(text: &str) -> std::result::Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            Ok(None)
        } else if text.contains('/') {
            text.parse().map(|c| Some(IpRange::Cidr(c)))
        } else if check_resource_name(text).is_ok()
            || text.len() <= 63
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Ok(Some(IpRange::SecondaryRange(text.to_string())))
        } else {
            Err(format!(
                "'{text}' is neither a CIDR range (10.4.0.0/14 or /14) nor a secondary range name"
            ))
        }
    }
}

/// The release channel asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ReleaseChannel {
    /// GKE's default (nothing sent).
    GkeDefault,
    /// Not enrolled: versions are upgraded by hand.
    Unenrolled,
    Enrolled(model::release_channel::Channel),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// The DSS host's network and subnetwork, resolved at plan time.
    Inherit,
    Explicit {
        network: String,
        subnetwork: String,
    },
    /// GKE's defaults (the project's `default` network).
    GkeDefault,
}

/// A validated cluster configuration: everything but what must be looked up at run time.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub connection: ConnectionRequest,
    pub autopilot: bool,
    pub location_type: LocationType,
    pub node_locations: Vec<String>,
    pub pools: Vec<(String, NodePoolSpec)>,
    pub version: Option<String>,
    pub release_channel: ReleaseChannel,
    pub network: Network,
    pub pod_range: Option<IpRange>,
    pub service_range: Option<IpRange>,
    pub vpc_native: bool,
    pub gateway_api: bool,
    pub http_load_balancing: bool,
    pub labels: BTreeMap<String, String>,
    pub private_nodes: Option<CidrRange>,
    pub authorized_networks: Option<(Vec<CidrRange>, bool)>,
    pub workload_identity: bool,
    pub shielded_nodes: bool,
    pub valve: Option<Value>,
    pub keep_failed: bool,
    pub credential_helper: CredentialHelper,
    pub operation_timeout_minutes: i64,
}

/// What the create request needs from outside the configuration, found at run time.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    pub project_id: String,
    pub zone: String,
    pub region: String,
    /// Full network/subnetwork of the DSS host, for `Network::Inherit`.
    pub host_network: Option<(String, String)>,
    /// The DSS host's IP, for the "DSS host IP" authorized-network shortcut.
    pub host_ip: Option<String>,
    /// The service account nodes run as when their preset says "same as DSS".
    pub dss_service_account: Option<String>,
}

fn check_zone_in_region(zone: &str, region: &str) -> bool {
    region_of_zone(zone) == Some(region)
}

/// A GKE name from DSS's cluster id: lowercase, hyphens for anything else, a letter first.
pub fn name_from_dss_id(id: &str) -> String {
    let mut name: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "dss-");
    }
    name.truncate(40);
    while name.ends_with('-') || name.contains("--") {
        name = name.trim_end_matches('-').replace("--", "-");
    }
    name
}

impl ClusterRequest {
    pub fn from_dss(value: &Value) -> std::result::Result<Self, Problem> {
        parse_form(value, None, DESCRIPTOR)
    }

    /// Every problem at once; `dss_cluster_id` names the cluster when the GKE name is blank.
    pub fn validate(&self, dss_cluster_id: &str) -> Result<ClusterSpec> {
        let mut problems: Vec<Problem> = Vec::new();
        let mut bad = |field: &str, message: String| problems.push(Problem::new(field, message));

        let connection = match ConnectionRequest::from_dss(&self.connection) {
            Ok(c) => c,
            Err(p) => {
                bad(&p.field, p.message);
                ConnectionRequest::default()
            }
        };
        let name = if self.gke_name.trim().is_empty() {
            name_from_dss_id(dss_cluster_id)
        } else {
            self.gke_name.trim().to_string()
        };
        if let Err(e) = check_resource_name(&name) {
            bad("GKE cluster name", e);
        }
        let autopilot = match self.mode.as_str() {
            "standard" => false,
            "autopilot" => true,
            other => {
                bad(
                    "Cluster mode",
                    format!("'{other}' is not standard or autopilot"),
                );
                false
            }
        };
        let location_type = LocationType::parse(&self.location_type).unwrap_or_else(|p| {
            bad(&p.field, p.message);
            LocationType::Zonal
        });
        if autopilot && location_type == LocationType::Zonal {
            bad(
                "Location type",
                "Autopilot clusters are always regional: choose Regional".into(),
            );
        }
        for zone in &self.node_locations {
            if region_of_zone(zone).is_none() {
                bad(
                    "Node locations",
                    format!("'{zone}' is not a zone like europe-west1-b"),
                );
            } else if !connection.region.trim().is_empty()
                && !check_zone_in_region(zone, connection.region.trim())
            {
                bad(
                    "Node locations",
                    format!(
                        "'{zone}' is not in the connection's region {}",
                        connection.region.trim()
                    ),
                );
            } else if !connection.zone.trim().is_empty()
                && !check_zone_in_region(
                    zone,
                    region_of_zone(connection.zone.trim()).unwrap_or_default(),
                )
            {
                bad(
                    "Node locations",
                    format!(
                        "'{zone}' is not in the region of the zone {}",
                        connection.zone.trim()
                    ),
                );
            }
        }
        if self.node_locations.len() > MAX_NODE_LOCATIONS {
            bad(
                "Node locations",
                format!(
                    "{} zones listed; a region has at most {MAX_NODE_LOCATIONS}",
                    self.node_locations.len()
                ),
            );
        }
        if self.node_pools.len() > MAX_NODE_POOLS {
            bad(
                "Node pools",
                format!(
                    "{} presets; gke-native creates at most {MAX_NODE_POOLS} pools with a cluster (add more later with \"Add node pool\")",
                    self.node_pools.len()
                ),
            );
        }
        // Pools: each validated on its own, then together.
        let mut pools = Vec::new();
        if !autopilot && self.node_pools.is_empty() {
            bad(
                "Node pools",
                "a Standard cluster needs at least one node pool preset".into(),
            );
        }
        let mut pools_valid = true;
        for (index, value) in self.node_pools.iter().enumerate() {
            let label = pool_label(value, index);
            match NodePoolRequest::from_dss(value, &label)
                .map_err(|p| vec![p])
                .and_then(|r| r.validate(&label, autopilot))
            {
                Ok(spec) => pools.push(spec),
                Err(ps) => {
                    pools_valid = false;
                    problems.extend(ps)
                }
            }
        }
        // DSS's pods carry no tolerations: they need a pool that neither repels them by a
        // taint nor is GPU-only (GKE taints GPU nodes nvidia.com/gpu:NoSchedule).
        if !autopilot
            && pools_valid
            && !pools.is_empty()
            && !pools.iter().any(|p| p.schedules_any_pod())
        {
            problems.push(Problem::new(
                "Node pools",
                "every node pool has a GPU or a NoSchedule/NoExecute taint, so DSS's pods \
                 (which tolerate none) could run nowhere: add a node pool without GPU and \
                 without such taints",
            ));
        }
        // Duplicates are judged on every preset, valid or not, so both mistakes show at once.
        let explicit: Vec<&str> = self
            .node_pools
            .iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .filter(|n| !n.is_empty())
            .collect();
        let mut seen = BTreeSet::new();
        for n in &explicit {
            if !seen.insert(*n) {
                problems.push(Problem::new(
                    "Node pools",
                    format!("two presets are named '{n}': node pool names must be unique"),
                ));
            }
        }
        let mut taken: BTreeSet<String> = explicit.iter().map(|s| s.to_string()).collect();
        let mut counter = 0;
        let named_pools: Vec<(String, NodePoolSpec)> = pools
            .into_iter()
            .map(|p| {
                let name = if p.name.is_empty() {
                    loop {
                        counter += 1;
                        let candidate = format!("pool-{counter}");
                        if taken.insert(candidate.clone()) {
                            break candidate;
                        }
                    }
                } else {
                    p.name.clone()
                };
                (name, p)
            })
            .collect();

        // "latest" is sent as such (GKE's newest in the channel, as Dataiku's plugin does);
        // "default" (or blank) leaves the choice to GKE.
        let version = match self.kubernetes_version.trim() {
            "" | "default" => None,
            "latest" => Some("latest".to_string()),
            v if v.chars().next().is_some_and(|c| c.is_ascii_digit())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')) =>
            {
                Some(v.to_string())
            }
            v => {
                problems.push(Problem::new(
                    "Kubernetes version",
                    format!("'{v}' is not 'latest', 'default' or a version like 1.31 or 1.31.5-gke.1000000"),
                ));
                None
            }
        };
        let release_channel = match self.release_channel.as_str() {
            "default" => ReleaseChannel::GkeDefault,
            "none" => {
                if autopilot {
                    problems.push(Problem::new(
                        "Release channel",
                        "Autopilot clusters must be enrolled in a release channel",
                    ));
                }
                ReleaseChannel::Unenrolled
            }
            c @ ("RAPID" | "REGULAR" | "STABLE" | "EXTENDED") => {
                ReleaseChannel::Enrolled(model::release_channel::Channel::from(c))
            }
            other => {
                problems.push(Problem::new(
                    "Release channel",
                    format!("'{other}' is not default, none, RAPID, REGULAR, STABLE or EXTENDED"),
                ));
                ReleaseChannel::GkeDefault
            }
        };
        let network = match self.network_mode.as_str() {
            "inherit" => Network::Inherit,
            "default" => Network::GkeDefault,
            "explicit" => {
                if self.network.trim().is_empty() {
                    problems.push(Problem::new(
                        "Network",
                        "is blank: give the VPC network name, e.g. dss-vpc",
                    ));
                }
                Network::Explicit {
                    network: self.network.trim().into(),
                    subnetwork: self.subnetwork.trim().into(),
                }
            }
            other => {
                problems.push(Problem::new(
                    "Network",
                    format!("'{other}' is not inherit, explicit or default"),
                ));
                Network::GkeDefault
            }
        };
        // The sizes GKE takes: pods /9 (8M addresses) to /24, services /16 to /27.
        let mut range =
            |field: &str, text: &str, sizes: std::ops::RangeInclusive<u8>| match IpRange::parse(
                text,
            ) {
                Ok(Some(IpRange::Cidr(c))) if !sizes.contains(&c.prefix()) => {
                    problems.push(Problem::new(
                        field,
                        format!(
                            "'{}': a /{} range is outside what GKE takes (/{} to /{}), e.g. /{}",
                            text.trim(),
                            c.prefix(),
                            sizes.start(),
                            sizes.end(),
                            if field == "Pod range" { 14 } else { 20 }
                        ),
                    ));
                    None
                }
                Ok(r) => r,
                Err(e) => {
                    problems.push(Problem::new(field, e));
                    None
                }
            };
        let pod_range = range("Pod range", &self.pod_range, 9..=24);
        let service_range = range("Service range", &self.service_range, 16..=27);
        if let (Some(IpRange::Cidr(p)), Some(IpRange::Cidr(s))) = (&pod_range, &service_range) {
            if p.overlaps(s) {
                problems.push(Problem::new(
                    "Service range",
                    format!(
                        "{s} overlaps the pod range {p}: pods and services need separate addresses"
                    ),
                ));
            }
        }
        if !self.vpc_native && (pod_range.is_some() || service_range.is_some()) {
            problems.push(Problem::new("Pod range", "pod and service ranges need a VPC-native cluster: enable VPC-native or clear the ranges"));
        }
        for (k, v) in &self.labels {
            if let Err(e) = check_gcp_label(k, v) {
                problems.push(Problem::new("GCP labels", e));
            }
        }
        if self.labels.len() > MAX_GCP_LABELS {
            problems.push(Problem::new(
                "GCP labels",
                format!(
                    "{} labels; GCP allows at most {MAX_GCP_LABELS}",
                    self.labels.len()
                ),
            ));
        }
        let private_nodes = if self.private_nodes {
            match self.master_cidr.trim().parse::<CidrRange>() {
                Ok(c @ CidrRange::Block { prefix: 28, .. }) => {
                    for r in [&pod_range, &service_range].into_iter().flatten() {
                        if let IpRange::Cidr(r) = r {
                            if r.overlaps(&c) {
                                problems.push(Problem::new(
                                    "Control plane range",
                                    format!("{c} overlaps {r}"),
                                ));
                            }
                        }
                    }
                    Some(c)
                }
                Ok(_) => {
                    problems.push(Problem::new(
                        "Control plane range",
                        format!(
                            "'{}' must be a /28 block, e.g. 172.16.0.0/28",
                            self.master_cidr.trim()
                        ),
                    ));
                    None
                }
                Err(e) => {
                    problems.push(Problem::new("Control plane range", e));
                    None
                }
            }
        } else {
            None
        };
        let authorized_networks = if self.authorized_networks {
            let mut blocks = Vec::new();
            for text in &self.authorized_cidrs {
                match text.parse::<CidrRange>() {
                    Ok(c @ CidrRange::Block { .. }) => blocks.push(c),
                    Ok(_) => problems.push(Problem::new(
                        "Authorized networks",
                        format!("'{text}' needs an address, e.g. 203.0.113.0/24"),
                    )),
                    Err(e) => problems.push(Problem::new("Authorized networks", e)),
                }
            }
            if blocks.is_empty() && !self.authorize_dss_host {
                problems.push(Problem::new("Authorized networks", "no network may reach the control plane, not even DSS: add a range or tick \"DSS host IP\""));
            }
            Some((blocks, self.authorize_dss_host))
        } else {
            None
        };
        if !(1..=180).contains(&self.operation_timeout_minutes) {
            problems.push(Problem::new(
                "Timeout",
                format!(
                    "{} minutes is not between 1 and 180",
                    self.operation_timeout_minutes
                ),
            ));
        }
        let credential_helper =
            CredentialHelper::parse(&self.credential_helper).unwrap_or_else(|p| {
                problems.push(p);
                CredentialHelper::DssGke
            });
        let valve = match parse_typed_valve::<model::Cluster>(
            &self.settings_valve,
            VALVE_FIELD,
            CLUSTER_RESERVED,
        ) {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        problems.extend(connection.problems());
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        Ok(ClusterSpec {
            name,
            connection,
            autopilot,
            location_type,
            node_locations: self.node_locations.clone(),
            pools: named_pools,
            version,
            release_channel,
            network,
            pod_range,
            service_range,
            vpc_native: self.vpc_native,
            gateway_api: self.gateway_api,
            http_load_balancing: self.http_load_balancing,
            labels: self.labels.clone(),
            private_nodes,
            authorized_networks,
            workload_identity: self.workload_identity,
            shielded_nodes: self.shielded_nodes,
            valve,
            keep_failed: self.keep_failed,
            credential_helper,
            operation_timeout_minutes: self.operation_timeout_minutes,
        })
    }
}

/// How a node pool preset is named in problems: by its name, else by its position.
fn pool_label(value: &Value, index: usize) -> String {
    match value
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(name) => format!("node pool '{name}'"),
        None => format!("node pool #{}", index + 1),
    }
}

impl ClusterSpec {
    /// The subnetwork the cluster will use, as a path Compute answers, when known.
    pub fn subnetwork_path(&self, ctx: &PlanContext) -> Option<String> {
        let subnetwork = match &self.network {
            Network::Inherit => ctx.host_network.as_ref().map(|(_, s)| s.clone())?,
            Network::Explicit { subnetwork, .. } if !subnetwork.is_empty() => subnetwork.clone(),
            _ => return None,
        };
        Some(if subnetwork.starts_with("projects/") {
            subnetwork
        } else {
            format!(
                "projects/{}/regions/{}/subnetworks/{subnetwork}",
                ctx.project_id, ctx.region
            )
        })
    }

    /// Problems of the pod and service ranges against the subnetwork they will live in: its
    /// primary range (no overlap) and its secondary ranges (names must exist).
    pub fn subnet_problems(
        &self,
        subnet: &str,
        primary: &str,
        secondary: &[(String, String)],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let primary_range = primary.parse::<CidrRange>().ok();
        for (field, range) in [
            ("Pod range", &self.pod_range),
            ("Service range", &self.service_range),
        ] {
            match range {
                Some(IpRange::Cidr(c)) => {
                    if primary_range.is_some_and(|p| p.overlaps(c)) {
                        problems.push(Problem::new(field, format!("{c} overlaps the subnetwork {subnet} ({primary}): nodes, pods and services need separate addresses")));
                    }
                    for (name, cidr) in secondary {
                        if cidr.parse::<CidrRange>().is_ok_and(|r| r.overlaps(c)) {
                            problems.push(Problem::new(field, format!("{c} overlaps the secondary range {name} ({cidr}) of {subnet}: use the range's name instead, or another block")));
                        }
                    }
                }
                Some(IpRange::SecondaryRange(name))
                    if !secondary.iter().any(|(n, _)| n == name) =>
                {
                    let known: Vec<&str> = secondary.iter().map(|(n, _)| n.as_str()).collect();
                    problems.push(Problem::new(field, format!("'{name}' is not a secondary range of the subnetwork {subnet} (it has: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })));
                }
                _ => {}
            }
        }
        problems
    }

    /// `projects/{p}/locations/{zone or region}`.
    pub fn parent(&self, ctx: &PlanContext) -> String {
        format!(
            "projects/{}/locations/{}",
            ctx.project_id,
            self.location(ctx)
        )
    }

    pub fn location<'a>(&self, ctx: &'a PlanContext) -> &'a str {
        self.location_type.pick(&ctx.zone, &ctx.region)
    }
}

/// The cluster valve's field, as problems name it.
pub const VALVE_FIELD: &str = "Settings valve";

/// Zones a cluster's nodes may be listed in (a region has 3 or 4).
pub const MAX_NODE_LOCATIONS: usize = 8;
/// Node pool presets one cluster is created with: each is checked with a few read-only calls
/// before creation, so the number of calls stays small whatever the input.
pub const MAX_NODE_POOLS: usize = 12;

/// The "Create GKE cluster" form (its labels name fields in problems).
const DESCRIPTOR: &str =
    include_str!("../../../../python-clusters/create-gke-cluster/cluster.json");

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::form::deep_merge;
    use serde_json::json;

    pub(crate) fn config(extra: Value) -> ClusterRequest {
        let mut base = json!({"connection": {"project_id": "dss-prod-1234", "zone": "europe-west1-b"}, "node_pools": [{}]});
        deep_merge(&mut base, &extra);
        ClusterRequest::from_dss(&base).unwrap()
    }

    #[test]
    fn a_standard_cluster_needs_a_pool_for_dss_pods() {
        let gpu_only = json!({"node_pools": [{"gpu": true}]});
        let e = config(gpu_only).validate("x").unwrap_err().to_string();
        assert!(
            e.contains("Node pools: every node pool has a GPU or a NoSchedule"),
            "{e}"
        );
        let tainted = json!({"node_pools": [{"taints": ["ml=yes:NoSchedule"]}, {"taints": ["a=b:NoExecute"]}]});
        assert!(config(tainted).validate("x").is_err());
        // One pool that takes ordinary pods is enough; PreferNoSchedule does not repel.
        let mixed = json!({"node_pools": [{"gpu": true, "name": "gpu"}, {"name": "cpu"}]});
        assert!(config(mixed).validate("x").is_ok());
        let soft = json!({"node_pools": [{"taints": ["a=b:PreferNoSchedule"]}]});
        assert!(config(soft).validate("x").is_ok());
    }

    #[test]
    fn every_problem_at_once() {
        let err = config(json!({
            "gke_name": "Bad_Name", "mode": "autopilot", "location_type": "zonal",
            "node_pools": [{"name": "gpu", "gpu": true}, {"name": "gpu"}],
            "pod_range": "10.0.0.0/12", "service_range": "10.4.0.0/20",
            "labels": {"Team": "x"}, "settings_valve": "nope",
            "connection": {"project_id": "dss-prod-1234", "zone": "europe-west1-b"},
        }))
        .validate("x")
        .unwrap_err();
        let GkeError::Validation(problems) = err else {
            panic!()
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "GKE cluster name",
                "Location type",
                "node pool 'gpu' › GPU",
                "Node pools",
                "Service range",
                "GCP labels",
                "Settings valve",
            ]
        );
    }

    #[test]
    fn names_from_dss_ids() {
        assert_eq!(name_from_dss_id("My Cluster_1"), "my-cluster-1");
        assert_eq!(name_from_dss_id("42"), "dss-42");
        assert_eq!(name_from_dss_id("a--b-"), "a-b");
    }
}

#[cfg(test)]
mod descriptor_tests {
    use super::*;
    use serde_json::Map;

    /// The form DSS shows and the struct reading it agree on fields and defaults.
    #[test]
    fn descriptor_and_struct_agree() {
        let descriptor: Value = serde_json::from_str(DESCRIPTOR).unwrap();
        let mut names: Vec<String> = Vec::new();
        let mut defaults = Map::new();
        for p in descriptor["params"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] != "SEPARATOR")
        {
            let name = p["name"].as_str().unwrap().to_string();
            if let Some(d) = p.get("defaultValue") {
                defaults.insert(name.clone(), d.clone());
            }
            names.push(name);
        }
        names.sort();
        let from_descriptor =
            serde_json::to_value(ClusterRequest::from_dss(&Value::Object(defaults)).unwrap())
                .unwrap();
        let rust_default = serde_json::to_value(ClusterRequest::default()).unwrap();
        assert_eq!(from_descriptor, rust_default, "defaults differ");
        let fields: Vec<&String> = rust_default.as_object().unwrap().keys().collect();
        assert_eq!(fields, names.iter().collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod subnet_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_are_checked_against_the_subnetwork() {
        let request = ClusterRequest::from_dss(&json!({
            "connection": {"project_id": "dss-prod-1234", "zone": "europe-west1-b"},
            "node_pools": [{}], "pod_range": "10.128.0.0/14", "service_range": "svc",
        }))
        .unwrap();
        let spec = request.validate("x").unwrap();
        let problems = spec.subnet_problems(
            "projects/p/regions/r/subnetworks/s",
            "10.128.0.0/20",
            &[("pods".into(), "10.4.0.0/14".into())],
        );
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].field, "Pod range");
        assert!(problems[0].message.contains("overlaps the subnetwork"));
        assert!(
            problems[1]
                .message
                .contains("'svc' is not a secondary range")
                && problems[1].message.contains("it has: pods")
        );
    }
}
