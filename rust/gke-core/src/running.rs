//! Running clusters: a session on a project and location, and what admins read of a cluster —
//! its node pools (GKE, Compute and the Kubernetes API together), its health, waiting until it
//! is ready — shared by cluster actions, scenario steps and notebooks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use google_cloud_container_v1::model;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::Api;
use serde::Serialize;

use crate::compute::Compute;
use crate::connection::default_metadata;
use crate::credentials::GoogleCredentials;
use crate::dss_cluster::DssCluster;
use crate::error::{GkeError, Problem, Result};
use crate::gke::Gke;
use crate::kubeconfig::{helper_key_file, render, write_private, AuthHelper, KubeconfigSpec};
use crate::kubernetes;
use crate::node_pool::PoolContext;
use crate::node_pools::{current, pool_size, ClusterRef};
use crate::operation::Polling;
use crate::report::{Report, Verdict};
use crate::settings::PluginSettings;

/// Clients for one project and location, with one set of credentials.
#[derive(Clone)]
pub struct Session {
    pub gke: Gke,
    pub compute: Compute,
    pub credentials: GoogleCredentials,
    pub project: String,
    pub location: String,
}

/// What is wrong with a project and location given by hand (a notebook's `Gke(...)`).
fn target_problems(project: &str, location: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if project.trim().is_empty() {
        problems.push(Problem::new(
            "project",
            "is blank: give the project ID, e.g. dss-prod-1234",
        ));
    }
    if location.trim().is_empty() {
        problems.push(Problem::new(
            "location",
            "is blank: give a zone (e.g. europe-west1-b) or a region (e.g. europe-west1)",
        ));
    }
    let zonal = crate::metadata::region_of_zone(location.trim()).is_some();
    let as_connection = crate::connection::ConnectionRequest {
        project_id: project.to_string(),
        zone: if zonal {
            location.to_string()
        } else {
            String::new()
        },
        region: if zonal {
            String::new()
        } else {
            location.to_string()
        },
        ..Default::default()
    };
    problems.extend(as_connection.problems().into_iter().map(|p| {
        let field = if p.field.ends_with("GCP project") {
            "project"
        } else {
            "location"
        };
        Problem::new(field, p.message)
    }));
    problems
}

impl Session {
    pub async fn open(
        credentials: GoogleCredentials,
        settings: &PluginSettings,
        project: &str,
        location: &str,
    ) -> Result<Self> {
        let problems = target_problems(project, location);
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        let gke = Gke::connect(&credentials, settings.api_endpoint()).await?;
        let compute = Compute::new(&credentials, settings.api_endpoint())?;
        Ok(Self {
            gke,
            compute,
            credentials,
            project: project.to_string(),
            location: location.to_string(),
        })
    }

    /// The session of a DSS cluster: its GKE cluster as start() recorded it, with the
    /// credentials of its connection preset as DSS resolves it now.
    pub async fn for_cluster(cluster: &DssCluster) -> Result<(Self, ClusterRef)> {
        let target = cluster.target()?;
        let session = Self::open(
            cluster.credentials()?,
            &cluster.settings,
            &target.project,
            &target.location,
        )
        .await?;
        Ok((session, target))
    }

    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// The clusters of the session's location.
    pub async fn clusters(&self) -> Result<Vec<ClusterSummary>> {
        Ok(self
            .gke
            .list_clusters(&self.parent())
            .await?
            .iter()
            .map(ClusterSummary::of)
            .collect())
    }

    /// A cluster of the session's location by name (a clear error when there is none).
    pub async fn cluster(&self, name: &str) -> Result<ClusterRef> {
        let mut target = ClusterRef {
            project: self.project.clone(),
            location: self.location.clone(),
            name: name.to_string(),
            autopilot: false,
            endpoint: None,
        };
        let found = current(self, &target).await?;
        target.autopilot = is_autopilot(&found);
        Ok(target)
    }

    /// A Kubernetes client of a running cluster, with a token from the session's credentials.
    pub async fn kube(&self, cluster: &ClusterRef, found: &model::Cluster) -> Result<kube::Client> {
        let endpoint = cluster.endpoint.clone().unwrap_or(found.endpoint.clone());
        kubernetes::client(
            &endpoint,
            &cluster_ca(found),
            self.credentials.access_token().await?,
        )
    }
}

/// The cluster's CA certificate (base64 PEM, as GKE gives it).
pub fn cluster_ca(c: &model::Cluster) -> String {
    c.master_auth
        .as_ref()
        .map(|m| m.cluster_ca_certificate.clone())
        .unwrap_or_default()
}

/// The kubeconfig context name gcloud would give the cluster.
pub fn kube_context(project: &str, location: &str, name: &str) -> String {
    format!("gke_{project}_{location}_{name}")
}

fn is_autopilot(c: &model::Cluster) -> bool {
    c.autopilot.as_ref().is_some_and(|a| a.enabled)
}

fn enum_name(name: Option<&str>) -> String {
    name.unwrap_or("UNKNOWN").to_string()
}

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

/// An operation GKE runs on the cluster now.
#[derive(Debug, Clone, Serialize)]
pub struct RunningOperation {
    pub name: String,
    pub kind: String,
    pub status: String,
    pub target: String,
}

/// A cluster's state at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub cluster: String,
    pub location: String,
    pub status: String,
    pub version: String,
    pub autopilot: bool,
    pub node_pools: Vec<PoolInfo>,
    pub pending_pods: BTreeMap<String, usize>,
    pub operations: Vec<RunningOperation>,
    /// Why the Kubernetes API could not be read, when it could not.
    pub kubernetes_error: Option<String>,
    /// `OK`, `Warning` or `Failed`, and why.
    pub verdict: String,
    pub summary: String,
}

impl Health {
    /// Ready means: RUNNING, every pool RUNNING with all its nodes registered and Ready.
    pub fn is_ready(&self) -> bool {
        self.status == "RUNNING"
            && self.kubernetes_error.is_none()
            && self.node_pools.iter().all(|p| {
                p.status == "RUNNING"
                    && p.not_ready == Some(0)
                    && p.ready.is_some_and(|r| r as i64 == p.nodes)
            })
    }

    fn judge(&mut self) {
        let not_ready: usize = self.node_pools.iter().filter_map(|p| p.not_ready).sum();
        let pending: usize = self.pending_pods.values().sum();
        let (verdict, summary) = if matches!(self.status.as_str(), "ERROR" | "DEGRADED") {
            (Verdict::Failed, format!("the cluster is {}", self.status))
        } else if not_ready > 0 {
            (
                Verdict::Failed,
                format!("{not_ready} node(s) are not Ready"),
            )
        } else if let Some(e) = &self.kubernetes_error {
            (
                Verdict::Warning,
                format!("the Kubernetes API could not be read: {e}"),
            )
        } else if self.status != "RUNNING" || !self.operations.is_empty() {
            (
                Verdict::Warning,
                format!(
                    "the cluster is {} with {} operation(s) in progress",
                    self.status,
                    self.operations.len()
                ),
            )
        } else if pending > 0 {
            (
                Verdict::Warning,
                format!("{pending} pod(s) are Pending: the nodes may be too few or too small"),
            )
        } else if !self.is_ready() {
            (
                Verdict::Warning,
                "some nodes have not registered yet".to_string(),
            )
        } else {
            (
                Verdict::Ok,
                "running, every node Ready, no pod Pending".to_string(),
            )
        };
        self.verdict = verdict.label().to_string();
        self.summary = summary;
    }

    fn verdict_kind(&self) -> Verdict {
        match self.verdict.as_str() {
            "OK" => Verdict::Ok,
            "Warning" => Verdict::Warning,
            _ => Verdict::Failed,
        }
    }

    pub fn to_html(&self) -> String {
        let mut report = Report::new(&format!("Health of {}", self.cluster))
            .verdict(self.verdict_kind(), &self.summary)
            .table(
                &["Status", "Version", "Location", "Autopilot"],
                [vec![
                    self.status.clone(),
                    self.version.clone(),
                    self.location.clone(),
                    yes_no(self.autopilot),
                ]],
            );
        if !self.node_pools.is_empty() {
            report = report.table(
                &["Node pool", "Status", "Nodes", "Ready", "Not Ready"],
                self.node_pools.iter().map(|p| {
                    vec![
                        p.name.clone(),
                        p.status.clone(),
                        p.nodes.to_string(),
                        opt(p.ready),
                        opt(p.not_ready),
                    ]
                }),
            );
        }
        report = if self.pending_pods.is_empty() {
            report.paragraph("No pod is Pending.")
        } else {
            report.table(
                &["Namespace", "Pending pods"],
                self.pending_pods
                    .iter()
                    .map(|(ns, n)| vec![ns.clone(), n.to_string()]),
            )
        };
        report = if self.operations.is_empty() {
            report.paragraph("No GKE operation in progress.")
        } else {
            report.table(
                &["Operation in progress", "Type", "Status", "Target"],
                self.operations.iter().map(|o| {
                    vec![
                        o.name.clone(),
                        o.kind.clone(),
                        o.status.clone(),
                        o.target.clone(),
                    ]
                }),
            )
        };
        report.finish()
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Autoscaling limits: "-" when autoscaling is off.
fn dash(v: Option<i32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

/// The node pools of a running cluster, each with its sizes and nodes.
pub async fn node_pools(
    session: &Session,
    cluster: &ClusterRef,
) -> Result<(Vec<PoolInfo>, Option<String>)> {
    let found = current(session, cluster).await?;
    let (pools, _, error) = collect(session, cluster, &found, false).await?;
    Ok((pools, error))
}

/// Pools with their nodes and, when asked, the pending pods: the Kubernetes API is read with
/// one client; when it cannot be read, GKE's and Compute's view is still given, with why.
async fn collect(
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
pub fn pools_html(
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

/// The cluster's health: GKE's status and operations, nodes and pending pods.
pub async fn health(session: &Session, cluster: &ClusterRef) -> Result<Health> {
    let found = current(session, cluster).await?;
    let (node_pools, pending, kubernetes_error) = collect(session, cluster, &found, true).await?;
    let suffix = format!("/clusters/{}", cluster.name);
    let operations = session
        .gke
        .list_operations(&cluster.parent())
        .await?
        .into_iter()
        .filter(|op| {
            op.status != model::operation::Status::Done
                && (op.target_link.ends_with(&suffix)
                    || op.target_link.contains(&format!("{suffix}/")))
        })
        .map(|op| RunningOperation {
            kind: enum_name(op.operation_type.name()),
            status: enum_name(op.status.name()),
            target: op
                .target_link
                .rsplit_once("/clusters/")
                .map(|(_, t)| t.to_string())
                .unwrap_or_default(),
            name: op.name,
        })
        .collect();
    let mut health = Health {
        cluster: cluster.name.clone(),
        location: cluster.location.clone(),
        status: enum_name(found.status.name()),
        version: found.current_master_version.clone(),
        autopilot: is_autopilot(&found),
        node_pools,
        pending_pods: pending,
        operations,
        kubernetes_error,
        verdict: String::new(),
        summary: String::new(),
    };
    health.judge();
    Ok(health)
}

/// Waits until the cluster is RUNNING with every pool's nodes registered and Ready.
pub async fn wait_ready(
    session: &Session,
    cluster: &ClusterRef,
    timeout: Duration,
) -> Result<Health> {
    let start = Instant::now();
    let polling = Polling {
        first: Duration::from_millis(300),
        ..Polling::default()
    };
    loop {
        let health = health(session, cluster).await?;
        if health.is_ready() {
            tracing::info!("{} is ready", cluster.name);
            return Ok(health);
        }
        if matches!(health.status.as_str(), "ERROR" | "STOPPING") {
            return Err(GkeError::OperationFailed {
                operation: format!("wait for {}", cluster.name),
                message: format!("the cluster is {}: it will not become ready", health.status),
            });
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(GkeError::OperationTimeout {
                operation: format!(
                    "wait for {} to be ready (last seen: {})",
                    cluster.name, health.summary
                ),
                waited,
            });
        }
        tracing::info!("{} not ready yet: {}", cluster.name, health.summary);
        tokio::time::sleep(polling.pause(waited).min(timeout - waited)).await;
    }
}

/// What new pools of a cluster reached without DSS's record inherit: the session's identity
/// (the key's account, else the host's from the metadata server) and the cluster's labels.
pub async fn pool_context(session: &Session, cluster: &ClusterRef) -> Result<PoolContext> {
    let found = current(session, cluster).await?;
    let identity = match session.credentials.client_email() {
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

/// A kubeconfig for `cluster` whose credential helper is `python -m dss_gke` (`helper` is the
/// interpreter and the folder that makes `dss_gke` importable); `key` as the session was given
/// it (blank, a key file's path, or JSON — then written 0600 next to the kubeconfig). With
/// `path`, written there (0600) and the path returned; else the text.
pub fn kubeconfig(
    cluster: &ClusterRef,
    found: &model::Cluster,
    key: &str,
    helper: (String, String),
    path: Option<&std::path::Path>,
) -> Result<String> {
    let dir = match path {
        Some(p) => p.parent().map(std::path::PathBuf::from).unwrap_or_default(),
        None => std::env::temp_dir(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        GkeError::validation("path", format!("cannot create {}: {e}", dir.display()))
    })?;
    let key_file = helper_key_file(
        key,
        "credentials",
        &dir.join(format!("gke-native-key-{}.json", cluster.name)),
    )?;
    let (python, python_path) = helper;
    let helper = AuthHelper::DssGke {
        python,
        python_path,
        key_file,
        cache_file: dir
            .join(format!(".gke-native-token-{}.json", cluster.name))
            .display()
            .to_string(),
    };
    let endpoint = cluster.endpoint.clone().unwrap_or(found.endpoint.clone());
    let doc = render(&KubeconfigSpec {
        context: &kube_context(&cluster.project, &cluster.location, &cluster.name),
        server: &format!("https://{endpoint}"),
        ca_base64: &cluster_ca(found),
        helper: &helper,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    match path {
        Some(p) => {
            write_private(p, text.as_bytes())?;
            Ok(p.display().to_string())
        }
        None => Ok(text),
    }
}

/// Deletes the cluster and waits; already gone is success.
pub async fn delete(session: &Session, cluster: &ClusterRef, timeout: Duration) -> Result<()> {
    crate::lifecycle::delete_cluster(&session.gke, &cluster.parent(), &cluster.name, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, nodes: i64, ready: usize, not_ready: usize) -> PoolInfo {
        PoolInfo {
            name: name.into(),
            status: "RUNNING".into(),
            version: "1.33".into(),
            machine_type: "e2-standard-4".into(),
            nodes,
            min_nodes: None,
            max_nodes: None,
            autoscaling: false,
            spot: false,
            gpu: None,
            instance_groups: vec![],
            ready: Some(ready),
            not_ready: Some(not_ready),
        }
    }

    fn health(pools: Vec<PoolInfo>, pending: &[(&str, usize)]) -> Health {
        let mut h = Health {
            cluster: "c".into(),
            location: "europe-west1-b".into(),
            status: "RUNNING".into(),
            version: "1.33".into(),
            autopilot: false,
            node_pools: pools,
            pending_pods: pending.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            operations: vec![],
            kubernetes_error: None,
            verdict: String::new(),
            summary: String::new(),
        };
        h.judge();
        h
    }

    #[test]
    fn verdicts_name_what_is_wrong() {
        let ok = health(vec![pool("cpu", 2, 2, 0)], &[]);
        assert!(ok.is_ready());
        assert_eq!(ok.verdict, "OK");
        let bad = health(vec![pool("cpu", 2, 1, 1)], &[]);
        assert_eq!(
            (bad.verdict.as_str(), bad.summary.as_str()),
            ("Failed", "1 node(s) are not Ready")
        );
        let pending = health(vec![pool("cpu", 2, 2, 0)], &[("jobs", 3)]);
        assert_eq!(pending.verdict, "Warning");
        assert!(pending.to_html().contains("<td>jobs</td><td>3</td>"));
        let registering = health(vec![pool("cpu", 3, 2, 0)], &[]);
        assert!(!registering.is_ready());
    }
}
