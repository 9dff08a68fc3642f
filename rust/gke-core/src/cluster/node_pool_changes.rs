//! Node pools of a running cluster: add one from a preset, resize (or delete), set autoscaling —
//! waiting for GKE's operations as start() does, and waiting out another operation when GKE
//! says one runs.

use std::future::Future;
use std::time::{Duration, Instant};

use google_cloud_container_v1::model;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::handle::{current, ClusterRef, Session};
use crate::cluster::inventory::pool_size;
use crate::config::node_pool::{Autoscaling, NodeCount, NodePoolRequest, PoolContext};
use crate::error::{GkeError, Result};
use crate::google::operation::{submit_when_idle, wait, wait_running_operations, Polling};
use crate::html::{Report, ToHtml, Verdict};
use crate::net::retry::CLUSTER_ROUNDS;

/// Progress of an action in percent, for DSS's progress bar.
pub type Percent<'a> = &'a (dyn Fn(u32) + Send + Sync);

/// Progress while GKE works: from 20 % towards 90 %, half-way after a minute.
pub fn waiting_percent(waited: Duration) -> u32 {
    let share = 1.0 - 0.5f64.powf(waited.as_secs_f64() / 60.0);
    20 + (70.0 * share) as u32
}

/// What kind of change was made; serialised as people read it (`added`, `autoscaling enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    #[serde(rename = "added")]
    Added,
    #[serde(rename = "resized")]
    Resized,
    #[serde(rename = "deleted")]
    Deleted,
    #[serde(rename = "autoscaling enabled")]
    AutoscalingEnabled,
    #[serde(rename = "autoscaling disabled")]
    AutoscalingDisabled,
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Resized => "resized",
            Self::Deleted => "deleted",
            Self::AutoscalingEnabled => "autoscaling enabled",
            Self::AutoscalingDisabled => "autoscaling disabled",
        }
    }
}

/// What a change did, for reports and notebooks.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub cluster: String,
    pub pool: String,
    pub action: ChangeKind,
    /// A sentence: what it was before and what it is now.
    pub detail: String,
    pub seconds: f64,
}

/// What a change did, as an action's report.
impl ToHtml for Change {
    fn to_html(&self) -> String {
        Report::new(&format!(
            "{}: node pool {} {}",
            self.cluster,
            self.pool,
            self.action.label()
        ))
        .verdict(
            Verdict::Ok,
            &format!("{} in {:.1} s", self.detail, self.seconds),
        )
        .finish()
    }
}

/// Runs a mutation, waiting out any operation already running on the cluster (GKE allows one
/// at a time), then waits for the mutation's own operation.
async fn mutate<F, Fut>(
    session: &Session,
    cluster: &ClusterRef,
    timeout: Duration,
    progress: Percent<'_>,
    call: F,
) -> Result<model::Operation>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<model::Operation>>,
{
    let gke = &session.gke;
    let parent = cluster.parent();
    let start = Instant::now();
    let op = submit_when_idle(
        gke,
        &parent,
        &cluster.name,
        "change",
        timeout,
        CLUSTER_ROUNDS,
        |_| false,
        call,
    )
    .await?;
    progress(20);
    wait(gke, &parent, op, timeout, Polling::default(), |_| {
        progress(waiting_percent(start.elapsed()))
    })
    .await
}

/// The pool named `requested`, or the only one when blank.
pub fn choose_pool<'c>(
    cluster: &'c model::Cluster,
    requested: &str,
) -> Result<&'c model::NodePool> {
    let requested = requested.trim();
    let names = || {
        cluster
            .node_pools
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if requested.is_empty() {
        return match cluster.node_pools.as_slice() {
            [only] => Ok(only),
            [] => Err(GkeError::validation(
                "Node pool",
                format!("{} has no node pool", cluster.name),
            )),
            _ => Err(GkeError::validation(
                "Node pool",
                format!(
                    "{} has several node pools ({}): name the one to change",
                    cluster.name,
                    names()
                ),
            )),
        };
    }
    cluster
        .node_pools
        .iter()
        .find(|p| p.name == requested)
        .ok_or_else(|| {
            GkeError::validation(
                "Node pool",
                format!(
                    "{} has no node pool '{requested}': it has {}",
                    cluster.name,
                    names()
                ),
            )
        })
}

/// Adds a node pool from a "Node pool" preset; a free name (`pool-N`) when the preset has none.
pub async fn add(
    session: &Session,
    cluster: &ClusterRef,
    preset: &Value,
    ctx: &PoolContext,
    timeout: Duration,
    progress: Percent<'_>,
) -> Result<Change> {
    cluster.refuse_on_autopilot("add")?;
    let start = Instant::now();
    let request = NodePoolRequest::from_dss(preset, "node pool preset")
        .map_err(|p| GkeError::Validation(vec![p]))?;
    let spec = request
        .validate("node pool preset", false)
        .map_err(GkeError::Validation)?;
    let current = current(session, cluster).await?;
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
    progress(10);
    let pool = spec.to_api(&name, ctx)?;
    let path = cluster.path();
    let created = mutate(session, cluster, timeout, progress, || {
        session.gke.create_node_pool(&path, &pool)
    })
    .await;
    match created {
        Ok(_) => {}
        // Our own POST, retried after its answer was lost, finds the pool it made.
        Err(e) if e.status() == Some(409) => {
            adopt_pool(session, cluster, &name, &pool, timeout, e).await?
        }
        Err(e) => return Err(e),
    }
    tracing::info!("node pool {name} added to {}", cluster.name);
    Ok(Change {
        cluster: cluster.name.clone(),
        detail: format!(
            "{name} added: {} node(s) per zone of {}",
            spec.node_count, spec.machine_type
        ),
        pool: name,
        action: ChangeKind::Added,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// After a 409 on creating `name` (checked free just before): the pool is taken as ours when
/// it is what was asked for, once GKE's work on the cluster is done; else `conflict` stands.
async fn adopt_pool(
    session: &Session,
    cluster: &ClusterRef,
    name: &str,
    wanted: &model::NodePool,
    timeout: Duration,
    conflict: GkeError,
) -> Result<()> {
    wait_running_operations(&session.gke, &cluster.parent(), &cluster.name, timeout).await?;
    let now = current(session, cluster).await?;
    let Some(found) = now.node_pools.iter().find(|p| p.name == name) else {
        return Err(conflict);
    };
    if !same_pool(found, wanted) {
        return Err(GkeError::validation(
            "node pool preset › Name",
            format!(
                "'{name}' was created in {} meanwhile with another configuration: pick another name",
                cluster.name
            ),
        ));
    }
    if found.status == model::node_pool::Status::Error {
        return Err(GkeError::OperationFailed {
            operation: format!("creation of node pool {name}"),
            message: found
                .conditions
                .iter()
                .map(|c| c.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            code: None,
        });
    }
    tracing::info!(
        "node pool {name} exists as requested (the answer to its creation was lost): adopting it"
    );
    Ok(())
}

/// Whether `found` is the pool `wanted` asks for, on what the request sets (GKE fills the rest).
fn same_pool(found: &model::NodePool, wanted: &model::NodePool) -> bool {
    let (f, w) = (
        found.config.clone().unwrap_or_default(),
        wanted.config.clone().unwrap_or_default(),
    );
    let set_or_equal = |w: &str, f: &str| w.is_empty() || w == f;
    let gpus = |c: &model::NodeConfig| {
        c.accelerators
            .iter()
            .map(|a| (a.accelerator_type.clone(), a.accelerator_count))
            .collect::<Vec<_>>()
    };
    let scaling = |p: &model::NodePool| {
        p.autoscaling
            .as_ref()
            .filter(|a| a.enabled)
            .map(|a| (a.min_node_count, a.max_node_count))
    };
    set_or_equal(&w.machine_type, &f.machine_type)
        && set_or_equal(&w.disk_type, &f.disk_type)
        && set_or_equal(&w.image_type, &f.image_type)
        && (w.disk_size_gb == 0 || w.disk_size_gb == f.disk_size_gb)
        && w.spot == f.spot
        && w.labels == f.labels
        && w.taints == f.taints
        && gpus(&w) == gpus(&f)
        && wanted.initial_node_count == found.initial_node_count
        && scaling(wanted) == scaling(found)
}

/// Resizes `pool` (blank: the only one) to `count` nodes per zone. At 0 with `delete_at_zero`
/// the pool is deleted instead — never the last pool of a Standard cluster.
pub async fn resize(
    session: &Session,
    cluster: &ClusterRef,
    pool: &str,
    count: i64,
    delete_at_zero: bool,
    timeout: Duration,
    progress: Percent<'_>,
) -> Result<Change> {
    cluster.refuse_on_autopilot("resize")?;
    let count = NodeCount::new(count, "Number of nodes")?.get();
    let start = Instant::now();
    let current = current(session, cluster).await?;
    let chosen = choose_pool(&current, pool)?;
    let name = chosen.name.clone();
    let path = format!("{}/nodePools/{name}", cluster.path());
    let before: i64 = pool_size(session, chosen)
        .await?
        .iter()
        .map(|(_, s)| s)
        .sum();
    progress(10);
    if count == 0 && delete_at_zero {
        if current.node_pools.len() == 1 {
            return Err(GkeError::validation(
                "Node pool",
                format!("{name} is the last node pool of {}: a Standard cluster needs one; resize it to 0 nodes without deleting it, or stop the DSS cluster", cluster.name),
            ));
        }
        mutate(session, cluster, timeout, progress, || {
            session.gke.delete_node_pool(&path)
        })
        .await?;
        tracing::info!("node pool {name} of {} deleted", cluster.name);
        return Ok(Change {
            cluster: cluster.name.clone(),
            pool: name.clone(),
            action: ChangeKind::Deleted,
            detail: format!("{name} deleted (it had {before} node(s))"),
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let zones = chosen.instance_group_urls.len().max(1);
    mutate(session, cluster, timeout, progress, || {
        session.gke.set_node_pool_size(&path, count)
    })
    .await?;
    tracing::info!("node pool {name} of {} resized to {count}", cluster.name);
    let mut detail = format!(
        "{name} resized from {before} to {} node(s) ({count} per zone in {zones} zone(s))",
        count as usize * zones
    );
    if chosen.autoscaling.as_ref().is_some_and(|a| a.enabled) {
        detail.push_str("; autoscaling is on, so GKE may change the size again");
    }
    Ok(Change {
        cluster: cluster.name.clone(),
        pool: name,
        action: ChangeKind::Resized,
        detail,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Turns autoscaling of `pool` (blank: the only one) on with `limits` (min, max per zone), or
/// off with `None`.
pub async fn set_autoscaling(
    session: &Session,
    cluster: &ClusterRef,
    pool: &str,
    limits: Option<(i64, i64)>,
    timeout: Duration,
    progress: Percent<'_>,
) -> Result<Change> {
    cluster.refuse_on_autopilot("autoscale")?;
    let limits = match limits {
        Some((min, max)) => Some(Autoscaling::new(min, max, "")?),
        None => None,
    };
    let start = Instant::now();
    let current = current(session, cluster).await?;
    let chosen = choose_pool(&current, pool)?;
    let name = chosen.name.clone();
    let was = match chosen.autoscaling.as_ref().filter(|a| a.enabled) {
        Some(a) => format!("{}–{} per zone", a.min_node_count, a.max_node_count),
        None => "off".to_string(),
    };
    progress(10);
    let path = format!("{}/nodePools/{name}", cluster.path());
    mutate(session, cluster, timeout, progress, || {
        session
            .gke
            .set_node_pool_autoscaling(&path, limits.map(|l| (l.min, l.max)))
    })
    .await?;
    let (action, now) = match limits {
        Some(l) => (
            ChangeKind::AutoscalingEnabled,
            format!("{}–{} per zone", l.min, l.max),
        ),
        None => (ChangeKind::AutoscalingDisabled, "off".to_string()),
    };
    tracing::info!("node pool {name} of {}: {}", cluster.name, action.label());
    Ok(Change {
        cluster: cluster.name.clone(),
        detail: format!("{name}: autoscaling was {was}, now {now}"),
        pool: name,
        action,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_progress_stays_between_submitted_and_done() {
        assert_eq!(waiting_percent(Duration::ZERO), 20);
        assert_eq!(waiting_percent(Duration::from_secs(60)), 55);
        assert!(waiting_percent(Duration::from_secs(3600)) <= 90);
    }

    fn cluster_with(pools: &[&str]) -> model::Cluster {
        model::Cluster::new().set_name("c").set_node_pools(
            pools
                .iter()
                .map(|p| model::NodePool::new().set_name(*p))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_pool_must_be_named_when_there_are_several() {
        assert_eq!(choose_pool(&cluster_with(&["a"]), "").unwrap().name, "a");
        let e = choose_pool(&cluster_with(&["a", "b"]), "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("several node pools (a, b)"), "{e}");
        let e = choose_pool(&cluster_with(&["a", "b"]), "z")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no node pool 'z': it has a, b"), "{e}");
    }
}
