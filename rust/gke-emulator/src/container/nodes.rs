//! The Compute resources GKE derives from node pools: one managed instance group per pool and
//! zone, and its node VMs (names stable, so Compute and a Kubernetes surface agree on them).

use super::ClusterRecord;

const COMPUTE: &str = "https://www.googleapis.com/compute/v1";

pub struct InstanceGroup {
    pub project: String,
    pub zone: String,
    pub pool: String,
    pub name: String,
    /// Nodes in this group (GKE's node count is per zone).
    pub size: i64,
}

impl InstanceGroup {
    /// GKE lists the group managers in `instanceGroupUrls`.
    pub fn manager_url(&self) -> String {
        format!(
            "{COMPUTE}/projects/{}/zones/{}/instanceGroupManagers/{}",
            self.project, self.zone, self.name
        )
    }

    pub fn url(&self) -> String {
        format!(
            "{COMPUTE}/projects/{}/zones/{}/instanceGroups/{}",
            self.project, self.zone, self.name
        )
    }

    /// `gke-{cluster}-{pool}-{hash}-grp` → `gke-{cluster}-{pool}-{hash}-{suffix}`, as GKE names nodes.
    pub fn node_names(&self) -> Vec<String> {
        let stem = self.name.trim_end_matches("-grp");
        (0..self.size)
            .map(|index| format!("{stem}-{}", &hash(&format!("{}/{index}", self.name))[..4]))
            .collect()
    }
}

pub fn instance_groups(cluster: &ClusterRecord) -> Vec<InstanceGroup> {
    let cluster_zones: Vec<String> = string_list(&cluster.resource["locations"]);
    let mut groups = Vec::new();
    for pool in cluster.pools() {
        let pool_name = pool["name"].as_str().unwrap_or_default();
        let mut zones = string_list(&pool["locations"]);
        if zones.is_empty() {
            zones = cluster_zones.clone();
        }
        let size = cluster.node_counts.get(pool_name).copied().unwrap_or(0);
        for zone in zones {
            let id = format!("{}/{pool_name}/{zone}", cluster.key());
            groups.push(InstanceGroup {
                project: cluster.project.clone(),
                name: format!(
                    "gke-{}-{}-{}-grp",
                    truncate(cluster.name(), 14),
                    truncate(pool_name, 16),
                    hash(&id)
                ),
                zone,
                pool: pool_name.to_string(),
                size,
            });
        }
    }
    groups
}

fn string_list(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// GKE shortens long cluster names inside resource names; so do we, so names stay under 63.
fn truncate(name: &str, max: usize) -> &str {
    &name[..name.len().min(max)]
}

/// Eight hex digits standing in for GKE's random suffixes, stable across restarts (FNV-1a).
fn hash(text: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        h ^= u32::from(byte);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}
