//! Node pools of a running cluster: add one from a preset, resize, delete — waiting for GKE's
//! operations as start() does, and waiting out another operation when GKE says one runs.

use std::future::Future;
use std::time::Duration;

use google_cloud_container_v1::model;
use serde_json::Value;

use crate::error::{GkeError, Result};
use crate::gke::{is_operation_in_progress, Gke};
use crate::node_pool::{NodePoolRequest, PoolContext};
use crate::operation::{wait, wait_running_operations, Polling};

/// A running cluster as plugin data records it.
#[derive(Debug, Clone)]
pub struct ClusterRef {
    pub project: String,
    pub location: String,
    pub name: String,
    pub autopilot: bool,
}

impl ClusterRef {
    /// From the data start() returned; a clear error when it is not a cluster of ours.
    pub fn from_data(data: &Value) -> Result<Self> {
        let field = |k: &str| {
            data[k]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        match (field("project"), field("location"), field("name")) {
            (Some(project), Some(location), Some(name)) => Ok(Self {
                project,
                location,
                name,
                autopilot: data["autopilot"].as_bool().unwrap_or(false),
            }),
            _ => Err(GkeError::validation(
                "cluster",
                "this DSS cluster has no running GKE cluster recorded: start it first",
            )),
        }
    }

    /// What new pools inherit from the running cluster: DSS's identity (for "same as DSS"
    /// service accounts) and the cluster's GCP labels.
    pub fn pool_context(data: &Value) -> PoolContext {
        PoolContext {
            dss_service_account: data["identity"].as_str().map(str::to_string),
            cluster_labels: serde_json::from_value(data["cluster"]["resourceLabels"].clone())
                .unwrap_or_default(),
        }
    }

    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    pub fn path(&self) -> String {
        format!("{}/clusters/{}", self.parent(), self.name)
    }

    fn refuse_on_autopilot(&self, what: &str) -> Result<()> {
        if self.autopilot {
            return Err(GkeError::validation(
                "cluster",
                format!("{} is an Autopilot cluster: GKE manages its nodes, so it has no node pools to {what}", self.name),
            ));
        }
        Ok(())
    }
}

/// Runs a mutation, waiting out any operation already running on the cluster (GKE allows one
/// at a time), then waits for the mutation's own operation.
async fn mutate<F, Fut>(
    gke: &Gke,
    cluster: &ClusterRef,
    timeout: Duration,
    call: F,
) -> Result<model::Operation>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<model::Operation>>,
{
    let parent = cluster.parent();
    for _ in 0..20 {
        match call().await {
            Ok(op) => return wait(gke, &parent, op, timeout, Polling::default(), |_| {}).await,
            Err(e) if is_operation_in_progress(&e) => {
                tracing::info!("another operation runs on {}: waiting for it", cluster.name);
                wait_running_operations(gke, &parent, &cluster.name, timeout).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(GkeError::OperationTimeout {
        operation: format!("change of {}", cluster.name),
        waited: timeout,
    })
}

/// Adds a node pool from a "Node pool" preset; a free name (`pool-N`) when the preset has none.
pub async fn add(
    gke: &Gke,
    cluster: &ClusterRef,
    preset: &Value,
    ctx: &PoolContext,
    timeout: Duration,
) -> Result<String> {
    cluster.refuse_on_autopilot("add")?;
    let request = NodePoolRequest::from_dss(preset, "node pool preset")
        .map_err(|p| GkeError::Validation(vec![p]))?;
    let spec = request
        .validate("node pool preset", false)
        .map_err(GkeError::Validation)?;
    let current = gke.get_cluster(&cluster.path()).await?.ok_or_else(|| {
        GkeError::validation(
            "cluster",
            format!("GKE cluster {} no longer exists", cluster.name),
        )
    })?;
    let taken: Vec<&str> = current.node_pools.iter().map(|p| p.name.as_str()).collect();
    let name = if spec.name.is_empty() {
        (1..)
            .map(|n| format!("pool-{n}"))
            .find(|n| !taken.contains(&n.as_str()))
            .unwrap_or_default()
    } else if taken.contains(&spec.name.as_str()) {
        return Err(GkeError::validation(
            "node pool preset › Name",
            format!(
                "'{}' already exists in {}: pick another name",
                spec.name, cluster.name
            ),
        ));
    } else {
        spec.name.clone()
    };
    let pool = spec.to_api(&name, ctx);
    let path = cluster.path();
    mutate(gke, cluster, timeout, || gke.create_node_pool(&path, &pool)).await?;
    tracing::info!("node pool {name} added to {}", cluster.name);
    Ok(name)
}

/// Resizes `pool` to `count` nodes per zone.
pub async fn resize(
    gke: &Gke,
    cluster: &ClusterRef,
    pool: &str,
    count: i32,
    timeout: Duration,
) -> Result<()> {
    cluster.refuse_on_autopilot("resize")?;
    if !(0..=1000).contains(&count) {
        return Err(GkeError::validation(
            "Number of nodes",
            format!("{count} is not between 0 and 1000"),
        ));
    }
    let path = format!("{}/nodePools/{pool}", cluster.path());
    mutate(gke, cluster, timeout, || {
        gke.set_node_pool_size(&path, count)
    })
    .await?;
    tracing::info!("node pool {pool} of {} resized to {count}", cluster.name);
    Ok(())
}
