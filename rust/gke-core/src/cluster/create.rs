//! Creating the planned cluster, or resuming an interrupted creation, adopting a running twin,
//! cleaning up a failed one: bounded rounds, each paused.

use std::collections::BTreeSet;
use std::time::Duration;

use google_cloud_container_v1::model::{self, cluster::Status as ClusterStatus};

use crate::cluster::delete::delete_cluster;
use crate::cluster::plan::Plan;
use crate::error::{ApiFailure, GkeError, Result};
use crate::google::gke::{cluster_path, GkeApi};
use crate::google::operation::{running_operation, wait, wait_running_operations, Polling};
use crate::net::retry::CLUSTER_ROUNDS;

fn pool_names(cluster: &model::Cluster) -> BTreeSet<String> {
    cluster.node_pools.iter().map(|p| p.name.clone()).collect()
}

/// Deletes a cluster whose creation failed, so it does not keep costing money.
async fn clean_up_failed(
    gke: &GkeApi,
    parent: &str,
    name: &str,
    keep: bool,
    timeout: Duration,
    why: String,
    code: Option<String>,
) -> GkeError {
    if keep {
        return GkeError::OperationFailed {
            operation: format!("creation of {name}"),
            message: format!("{why}. The cluster was kept (\"keep failed clusters\" is set): delete it yourself when done"),
            code,
        };
    }
    tracing::warn!("creation of {name} failed ({why}); deleting it");
    let after = match delete_cluster(gke, parent, name, timeout).await {
        Ok(()) => "it was deleted, so it costs nothing".to_string(),
        Err(e) => format!("deleting it failed too ({e}): delete it in the console"),
    };
    GkeError::OperationFailed {
        operation: format!("creation of {name}"),
        message: format!("{why}; {after}"),
        code,
    }
}

/// Waits for a creation; when it fails, the cluster is cleaned up (unless kept) and GKE's
/// message is the error.
async fn wait_creation(
    gke: &GkeApi,
    parent: &str,
    name: &str,
    op: model::Operation,
    keep: bool,
    timeout: Duration,
) -> Result<()> {
    match wait(gke, parent, op, timeout, Polling::default(), |_| {}).await {
        Ok(_) => Ok(()),
        Err(GkeError::OperationFailed { message, code, .. }) => {
            let why = format!("GKE said: {message}");
            Err(clean_up_failed(gke, parent, name, keep, timeout, why, code).await)
        }
        Err(other) => Err(other),
    }
}

/// A cluster found under the planned name is taken as this plan's only when it has the same
/// mode and node pools; else the name is taken by another configuration.
fn same_configuration(c: &model::Cluster, plan: &Plan) -> Result<()> {
    let wanted: BTreeSet<String> = plan.spec.pools.iter().map(|(n, _)| n.clone()).collect();
    let autopilot = c.autopilot.as_ref().is_some_and(|a| a.enabled);
    if autopilot == plan.spec.autopilot && (autopilot || pool_names(c) == wanted) {
        return Ok(());
    }
    Err(GkeError::validation(
        "GKE cluster name",
        format!(
            "a cluster named '{}' already runs in {} with another configuration (node pools {:?}, Autopilot {autopilot}): choose another name, or use \"Attach GKE cluster\"",
            c.name,
            plan.spec.location(&plan.context),
            pool_names(c)
        ),
    ))
}

/// Creates the planned cluster, or resumes / adopts / replaces what already exists under its
/// name; returns the running cluster and whether this call created it.
pub async fn create_or_resume(gke: &GkeApi, plan: &Plan) -> Result<(model::Cluster, bool)> {
    let parent = plan.request.parent.clone();
    let name = plan.spec.name.clone();
    let path = cluster_path(&parent, &name);
    let timeout = Duration::from_secs(plan.spec.operation_timeout_minutes as u64 * 60);
    let keep = plan.spec.keep_failed;
    let mut created = false;
    let mut conflicts = 0;
    let started = std::time::Instant::now();
    // The cluster is read right after its creation ends (the operation's wait was the pause);
    // every other round is paused.
    let mut just_created = false;
    for round in 0..CLUSTER_ROUNDS.max {
        if !std::mem::take(&mut just_created) {
            CLUSTER_ROUNDS.pause_before(round).await;
        }
        match gke.get_cluster(&path).await? {
            None => {
                tracing::info!(
                    "creating GKE cluster {name} in {}",
                    plan.spec.location(&plan.context)
                );
                match gke.create_cluster(&plan.request).await {
                    Ok(op) => {
                        created = true;
                        wait_creation(gke, &parent, &name, op, keep, timeout).await?;
                        just_created = true;
                    }
                    // Someone (an earlier start, or this one whose answer was lost) created
                    // it meanwhile: look again, a few times. This call's POST may have made
                    // it, so it counts as created here; another configuration is still
                    // refused when it is seen.
                    Err(GkeError::Api(f)) if f.status == 409 => {
                        created = true;
                        conflicts += 1;
                        if conflicts > MAX_CONFLICTS {
                            return Err(GkeError::Api(ApiFailure {
                                message: format!("GKE says a cluster named '{name}' already exists, yet reading it finds none ({}): check that the credentials may read clusters of this project", f.message),
                                ..f
                            }));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(c) if c.status == ClusterStatus::Provisioning => {
                // Another configuration being made under the name is not ours to wait for (nor
                // to delete if it fails).
                same_configuration(&c, plan)?;
                tracing::info!("{name} is already being created (an earlier start was interrupted): waiting for it");
                created = true;
                match running_operation(gke, &parent, &name).await? {
                    Some(op) => {
                        wait_creation(gke, &parent, &name, op, keep, timeout).await?;
                    }
                    None => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
            Some(c) if c.status == ClusterStatus::Error => {
                // GKE explains an ERROR cluster in its conditions (status_message is deprecated).
                let why = match c
                    .conditions
                    .iter()
                    .map(|c| c.message.as_str())
                    .find(|m| !m.is_empty())
                {
                    Some(message) => format!("GKE said: {message}"),
                    None => "the cluster is in ERROR".to_string(),
                };
                return Err(clean_up_failed(gke, &parent, &name, keep, timeout, why, None).await);
            }
            Some(c) if c.status == ClusterStatus::Stopping => {
                tracing::info!("{name} is being deleted: waiting before creating it again");
                wait_running_operations(gke, &parent, &name, timeout).await?;
            }
            Some(c) if c.status == ClusterStatus::Reconciling => {
                wait_running_operations(gke, &parent, &name, timeout).await?;
            }
            Some(c) => {
                same_configuration(&c, plan)?;
                if !created {
                    tracing::info!("{name} already runs with the same configuration: adopting it");
                }
                return Ok((c, created));
            }
        }
    }
    Err(GkeError::OperationTimeout {
        operation: format!("creation of {name}"),
        waited: started.elapsed(),
    })
}

/// 409s on create tolerated while the cluster cannot be read.
const MAX_CONFLICTS: u32 = 3;
