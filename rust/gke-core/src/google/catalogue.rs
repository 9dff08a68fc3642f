//! Whether what a plan names exists where it will be used, asked with read-only calls before
//! anything is created: Compute's machine, accelerator and disk types in the nodes' zones, and
//! GKE's versions and image types. One call per distinct type and one for GKE, so the number of
//! calls stays small whatever the configuration (pools are capped by validation).

use std::collections::{BTreeMap, BTreeSet};

use google_cloud_container_v1::model;

use crate::config::cluster::{ClusterSpec, PlanContext};
use crate::config::location::LocationType;
use crate::config::node_pool::is_custom_machine_type;
use crate::error::{Problem, Result};
use crate::google::compute::Compute;
use crate::google::gke::GkeApi;

/// The Compute collections a node pool's types live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    MachineType,
    AcceleratorType,
    DiskType,
}

impl Kind {
    pub fn collection(self) -> &'static str {
        match self {
            Kind::MachineType => "machineTypes",
            Kind::AcceleratorType => "acceleratorTypes",
            Kind::DiskType => "diskTypes",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Kind::MachineType => "Machine type",
            Kind::AcceleratorType => "GPU type",
            Kind::DiskType => "Disk type",
        }
    }
}

/// The zones nodes will be in: the listed node locations, the zone of a zonal cluster, or
/// (regional, none listed) three of the region's zones, where GKE puts them.
async fn node_zones(
    spec: &ClusterSpec,
    ctx: &PlanContext,
    compute: &Compute,
) -> Result<Vec<String>> {
    Ok(if !spec.node_locations.is_empty() {
        spec.node_locations.clone()
    } else if spec.location_type == LocationType::Regional {
        let mut zones = compute.region_zones(&ctx.project_id, &ctx.region).await?;
        zones.truncate(3);
        zones
    } else {
        vec![ctx.zone.clone()]
    })
}

/// Every problem with the types and version of `spec`, as Compute and GKE list them now.
pub async fn problems(
    spec: &ClusterSpec,
    ctx: &PlanContext,
    compute: &Compute,
    gke: &GkeApi,
) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    if !spec.autopilot {
        // What each pool needs, grouped so that each distinct name is asked once.
        let mut wanted: BTreeMap<(Kind, String), Vec<String>> = BTreeMap::new();
        for (name, pool) in &spec.pools {
            let scope = format!("node pool '{name}'");
            if !is_custom_machine_type(&pool.machine_type) {
                wanted
                    .entry((Kind::MachineType, pool.machine_type.clone()))
                    .or_default()
                    .push(scope.clone());
            }
            if let Some(gpu) = &pool.gpu {
                wanted
                    .entry((Kind::AcceleratorType, gpu.accelerator_type.clone()))
                    .or_default()
                    .push(scope.clone());
            }
            wanted
                .entry((Kind::DiskType, pool.disk_type.clone()))
                .or_default()
                .push(scope);
        }
        let zones = if wanted.is_empty() {
            Vec::new()
        } else {
            node_zones(spec, ctx, compute).await?
        };
        for ((kind, name), scopes) in &wanted {
            let offered = compute
                .zones_offering(&ctx.project_id, kind.collection(), name)
                .await?;
            let missing: Vec<String> = zones
                .iter()
                .filter(|z| !offered.contains(*z))
                .cloned()
                .collect();
            if !missing.is_empty() {
                let why = if offered.is_empty() {
                    format!("'{name}' does not exist in Compute Engine (project {}): check the spelling, e.g. {}", ctx.project_id, example(*kind))
                } else {
                    format!(
                        "'{name}' is not offered in {}: it is in {}; choose another type or other node locations",
                        missing.join(", "),
                        summarize(&offered)
                    )
                };
                for scope in scopes {
                    problems.push(Problem::new(
                        format!("{scope} › {}", kind.field()),
                        why.clone(),
                    ));
                }
            }
        }
    }
    let location = spec.location(ctx).to_string();
    let config = gke
        .server_config(&format!("projects/{}/locations/{location}", ctx.project_id))
        .await?;
    problems.extend(server_config_problems(spec, &config, &location));
    Ok(problems)
}

fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::MachineType => "e2-standard-4 or n2-highmem-8",
        Kind::AcceleratorType => "nvidia-tesla-t4 or nvidia-l4",
        Kind::DiskType => "pd-balanced",
    }
}

/// A zone list kept readable: the first few, then how many more.
fn summarize(zones: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = zones.iter().take(6).map(String::as_str).collect();
    match zones.len() {
        n if n > shown.len() => format!("{} and {} more", shown.join(", "), n - shown.len()),
        _ => shown.join(", "),
    }
}

/// The version and image types against what GKE offers in the location.
pub fn server_config_problems(
    spec: &ClusterSpec,
    config: &model::ServerConfig,
    location: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(version) = spec.version.as_deref().filter(|v| *v != "latest") {
        let mut valid: Vec<&String> = config.valid_master_versions.iter().collect();
        for channel in &config.channels {
            valid.extend(channel.valid_versions.iter());
        }
        let matches = |v: &&String| v.as_str() == version || v.starts_with(&format!("{version}."));
        if !valid.iter().any(matches) {
            let mut minors: Vec<String> = valid
                .iter()
                .filter_map(|v| {
                    let mut parts = v.split('.');
                    Some(format!("{}.{}", parts.next()?, parts.next()?))
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            minors.reverse();
            problems.push(Problem::new(
                "Kubernetes version",
                format!(
                    "GKE offers no version '{version}' in {location}: it offers {} (or 'latest', or 'default')",
                    if minors.is_empty() { "none".to_string() } else { minors.join(", ") }
                ),
            ));
        }
    }
    if !spec.autopilot && !config.valid_image_types.is_empty() {
        for (name, pool) in &spec.pools {
            let offered = config
                .valid_image_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&pool.image_type));
            if !offered {
                problems.push(Problem::new(
                    format!("node pool '{name}' › Image type"),
                    format!(
                        "GKE offers no image type '{}' in {location}: it offers {}",
                        pool.image_type,
                        config.valid_image_types.join(", ")
                    ),
                ));
            }
        }
    }
    problems
}
