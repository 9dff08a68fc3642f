//! What admins read of a running cluster: the clusters of a location, each node pool with its
//! sizes (GKE, Compute's instance groups) and nodes (the Kubernetes API), and what a new pool
//! inherits.

use std::collections::BTreeMap;

use google_cloud_container_v1::model;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::Api;
use serde::Serialize;

use crate::cluster::handle::{current, enum_name, is_autopilot, ClusterRef, Session};
use crate::config::node_pool::PoolContext;
use crate::config::plugin_data::PluginData;
use crate::error::{GkeError, Result};
use crate::google::resolve::default_metadata;
use crate::html::{Report, ToHtml, Verdict};
use crate::kube::client as kubernetes;

/// One cluster of a location, as `clusters()` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    pub name: String,
    pub location: String,
    pub status: String,
    pub version: String,
    pub autopilot: bool,
    pub node_pools: Vec<String>,
    pub endpoint: String,
}

/// The clusters of the session's location.
pub async fn clusters(session: &Session) -> Result<Vec<ClusterSummary>> {
    Ok(session
        .gke
        .list_clusters(&session.parent())
        .await?
        .iter()
        .map(ClusterSummary::of)
        .collect())
}

impl ToHtml for ClusterSummary {
    fn to_html(&self) -> String {
        Report::new(&format!("GKE cluster {}", self.name))
            .table(
                &[
                    "Location",
                    "Status",
                    "Version",
                    "Autopilot",
                    "Node pools",
                    "Endpoint",
                ],
                [vec![
                    self.location.clone(),
                    self.status.clone(),
                    self.version.clone(),
                    self.autopilot.to_string(),
                    self.node_pools.join(", "),
                    self.endpoint.clone(),
                ]],
            )
            .finish()
    }
}

impl ClusterSummary {
    fn of(c: &model::Cluster) -> Self {
        Self {
            name: c.name.clone(),
            location: c.location.clone(),
            status: enum_name(c.status.name()),
            version: c.current_master_version.clone(),
            autopilot: is_autopilot(c),
            node_pools: c.node_pools.iter().map(|p| p.name.clone()).collect(),
            endpoint: c.endpoint.clone(),
        }
    }
}

/// An instance group of a pool (one per zone) and its size.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceGroup {
    pub name: String,
    pub size: i64,
}

/// A node pool as admins check it: GKE's settings, Compute's sizes, Kubernetes' nodes.
#[derive(Debug, Clone, Serialize)]
pub struct PoolInfo {
    pub name: String,
    pub status: String,
    pub version: String,
    pub machine_type: String,
    /// Nodes now: the sum of the instance groups' sizes.
    pub nodes: i64,
    pub min_nodes: Option<i32>,
    pub max_nodes: Option<i32>,
    pub autoscaling: bool,
    pub spot: bool,
    /// e.g. `1 × nvidia-tesla-t4`.
    pub gpu: Option<String>,
    pub instance_groups: Vec<InstanceGroup>,
    /// Kubernetes nodes of the pool that are Ready / not Ready (None when the Kubernetes API
    /// could not be read).
    pub ready: Option<usize>,
    pub not_ready: Option<usize>,
}

/// One pool alone, in the table "Inspect node pools" shows (titled by the pool's name).
impl ToHtml for PoolInfo {
    fn to_html(&self) -> String {
        pools_html(&self.name, false, std::slice::from_ref(self), None)
    }
}

/// The node pools of a cluster (what "Inspect node pools" shows).
#[derive(Debug, Clone, Serialize)]
pub struct NodePools {
    pub cluster: String,
    pub autopilot: bool,
    pub pools: Vec<PoolInfo>,
    /// Why the Kubernetes API could not be read (nodes unknown), or None.
    pub kubernetes_error: Option<String>,
}

impl ToHtml for NodePools {
    fn to_html(&self) -> String {
        pools_html(
            &self.cluster,
            self.autopilot,
            &self.pools,
            self.kubernetes_error.as_deref(),
        )
    }
}

/// Ready / not-Ready nodes per pool, from the Kubernetes API.
async fn node_readiness(client: &kube::Client) -> Result<BTreeMap<String, (usize, usize)>> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = kubernetes::QUICK
        .retry("list nodes", || async {
            nodes
                .list(&ListParams::default())
                .await
                .map_err(|e| kubernetes::kube_error("list nodes", e))
        })
        .await?;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for node in list.items {
        let pool = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("cloud.google.com/gke-nodepool"))
            .cloned()
            .unwrap_or_default();
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let entry = counts.entry(pool).or_default();
        if ready {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    Ok(counts)
}

/// Pods Pending per namespace.
async fn pending_pods(client: &kube::Client) -> Result<BTreeMap<String, usize>> {
    let pods: Api<Pod> = Api::all(client.clone());
    let list = kubernetes::QUICK
        .retry("list pending pods", || async {
            pods.list(&ListParams::default().fields("status.phase=Pending"))
                .await
                .map_err(|e| kubernetes::kube_error("list pending pods", e))
        })
        .await?;
    let mut counts = BTreeMap::new();
    for pod in list.items {
        *counts
            .entry(pod.metadata.namespace.unwrap_or_default())
            .or_default() += 1;
    }
    Ok(counts)
}

async fn pool_info(
    session: &Session,
    pool: &model::NodePool,
    readiness: Option<&BTreeMap<String, (usize, usize)>>,
) -> Result<PoolInfo> {
    let groups = pool_size(session, pool).await?;
    let config = pool.config.clone().unwrap_or_default();
    let autoscaling = pool.autoscaling.as_ref().filter(|a| a.enabled);
    let gpu = config
        .accelerators
        .iter()
        .find(|a| a.accelerator_count > 0)
        .map(|a| format!("{} × {}", a.accelerator_count, a.accelerator_type));
    let (ready, not_ready) = match readiness {
        Some(r) => {
            let (ok, bad) = r.get(&pool.name).copied().unwrap_or_default();
            (Some(ok), Some(bad))
        }
        None => (None, None),
    };
    Ok(PoolInfo {
        name: pool.name.clone(),
        status: enum_name(pool.status.name()),
        version: pool.version.clone(),
        machine_type: config.machine_type.clone(),
        nodes: groups.iter().map(|(_, s)| s).sum(),
        min_nodes: autoscaling.map(|a| a.min_node_count),
        max_nodes: autoscaling.map(|a| a.max_node_count),
        autoscaling: autoscaling.is_some(),
        spot: config.spot || config.preemptible,
        gpu,
        instance_groups: groups
            .into_iter()
            .map(|(name, size)| InstanceGroup { name, size })
            .collect(),
        ready,
        not_ready,
    })
}

pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Autoscaling limits: "-" when autoscaling is off.
fn dash(v: Option<i32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

pub(crate) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

/// The node pools of a running cluster, each with its sizes and nodes.
pub async fn node_pools(session: &Session, cluster: &ClusterRef) -> Result<NodePools> {
    let found = current(session, cluster).await?;
    let (pools, _, kubernetes_error) = collect(session, cluster, &found, false).await?;
    Ok(NodePools {
        cluster: cluster.name.clone(),
        autopilot: cluster.autopilot,
        pools,
        kubernetes_error,
    })
}

/// Pools with their nodes and, when asked, the pending pods: the Kubernetes API is read with
/// one client; when it cannot be read, GKE's and Compute's view is still given, with why.
pub(crate) async fn collect(
    session: &Session,
    cluster: &ClusterRef,
    found: &model::Cluster,
    with_pending: bool,
) -> Result<(Vec<PoolInfo>, BTreeMap<String, usize>, Option<String>)> {
    let kubernetes = async {
        let client = session.kube(cluster, found).await?;
        let readiness = node_readiness(&client).await?;
        let pending = if with_pending {
            pending_pods(&client).await?
        } else {
            BTreeMap::new()
        };
        Ok::<_, GkeError>((readiness, pending))
    }
    .await;
    let (readiness, pending, error) = match kubernetes {
        Ok((r, p)) => (Some(r), p, None),
        Err(e) => (None, BTreeMap::new(), Some(e.to_string())),
    };
    let mut pools = Vec::new();
    for pool in &found.node_pools {
        pools.push(pool_info(session, pool, readiness.as_ref()).await?);
    }
    Ok((pools, pending, error))
}

/// The node pools as an HTML table (what "Inspect node pools" shows).
fn pools_html(
    cluster: &str,
    autopilot: bool,
    pools: &[PoolInfo],
    kubernetes_error: Option<&str>,
) -> String {
    let mut report = Report::new(&format!("Node pools of {cluster}"));
    if autopilot {
        report = report.paragraph(&format!(
            "{cluster} is an Autopilot cluster: GKE creates and sizes these pools itself."
        ));
    }
    if let Some(e) = kubernetes_error {
        report = report.verdict(
            Verdict::Warning,
            &format!("nodes could not be read from the Kubernetes API: {e}"),
        );
    }
    if pools.is_empty() {
        return report.paragraph("No node pool.").finish();
    }
    report
        .table(
            &[
                "Node pool",
                "Machine type",
                "Nodes (current / min / max)",
                "Autoscaling",
                "Spot",
                "GPU",
                "Version",
                "Status",
                "Instance groups",
                "Ready / Not Ready",
            ],
            pools.iter().map(pool_row),
        )
        .finish()
}

fn pool_row(p: &PoolInfo) -> Vec<String> {
    vec![
        p.name.clone(),
        p.machine_type.clone(),
        format!(
            "{} / {} / {}",
            p.nodes,
            dash(p.min_nodes),
            dash(p.max_nodes)
        ),
        if p.autoscaling { "on" } else { "off" }.to_string(),
        yes_no(p.spot),
        p.gpu.clone().unwrap_or_else(|| "none".into()),
        p.version.clone(),
        p.status.clone(),
        p.instance_groups
            .iter()
            .map(|g| format!("{} ({})", g.name, g.size))
            .collect::<Vec<_>>()
            .join(", "),
        format!("{} / {}", opt(p.ready), opt(p.not_ready)),
    ]
}

/// What a pool added to a running cluster inherits: the identity DSS was made admin as at
/// start (from the recorded data, when there is some), else the session's (the key's account,
/// else the host's from the metadata server); and the cluster's labels now.
pub async fn pool_context(
    session: &Session,
    cluster: &ClusterRef,
    recorded: Option<&PluginData>,
) -> Result<PoolContext> {
    let found = current(session, cluster).await?;
    let recorded = recorded.and_then(PluginData::admin_identity);
    let identity = match recorded.or(session.credentials.client_email()) {
        Some(email) => Some(email.to_string()),
        None => default_metadata()?
            .probe()
            .await?
            .and_then(|h| h.service_account),
    };
    Ok(PoolContext {
        dss_service_account: identity,
        cluster_labels: found.resource_labels.into_iter().collect(),
    })
}

/// How many nodes a pool has now, from its instance groups (Compute); per zone when every
/// zone has the same.
pub async fn pool_size(session: &Session, pool: &model::NodePool) -> Result<Vec<(String, i64)>> {
    let mut sizes = Vec::new();
    for url in &pool.instance_group_urls {
        let size = session.compute.instance_group_size(url).await?;
        let name = url.rsplit('/').next().unwrap_or(url).to_string();
        sizes.push((name, size));
    }
    Ok(sizes)
}
