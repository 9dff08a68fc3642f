//! A running cluster's health at a glance (GKE's status and operations, nodes, pending pods) and
//! waiting until it is ready.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cluster::handle::{current, enum_name, is_autopilot, ClusterRef, Session};
use crate::cluster::inventory::{collect, opt, yes_no, PoolInfo};
use crate::error::{GkeError, Result};
use crate::google::operation::{running_operations, Polling};
use crate::html::{Report, ToHtml, Verdict};

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
    pub verdict: Verdict,
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
        self.verdict = verdict;
        self.summary = summary;
    }
}

impl ToHtml for Health {
    fn to_html(&self) -> String {
        let mut report = Report::new(&format!("Health of {}", self.cluster))
            .verdict(self.verdict, &self.summary)
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

/// The cluster's health: GKE's status and operations, nodes and pending pods.
pub async fn health(session: &Session, cluster: &ClusterRef) -> Result<Health> {
    let found = current(session, cluster).await?;
    let (node_pools, pending, kubernetes_error) = collect(session, cluster, &found, true).await?;
    let operations = running_operations(&session.gke, &cluster.parent(), &cluster.name)
        .await?
        .into_iter()
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
        verdict: Verdict::Warning,
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
    // Each round reads the cluster, its nodes, pods and operations: half the operations' rate.
    let polling = Polling {
        period: Polling::default().period * 5 / 2,
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
                code: None,
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
            verdict: Verdict::Warning,
            summary: String::new(),
        };
        h.judge();
        h
    }

    #[test]
    fn verdicts_name_what_is_wrong() {
        let ok = health(vec![pool("cpu", 2, 2, 0)], &[]);
        assert!(ok.is_ready());
        assert_eq!(ok.verdict, Verdict::Ok);
        let bad = health(vec![pool("cpu", 2, 1, 1)], &[]);
        assert_eq!(
            (bad.verdict, bad.summary.as_str()),
            (Verdict::Failed, "1 node(s) are not Ready")
        );
        let pending = health(vec![pool("cpu", 2, 2, 0)], &[("jobs", 3)]);
        assert_eq!(pending.verdict, Verdict::Warning);
        assert!(pending.to_html().contains("<td>jobs</td><td>3</td>"));
        let registering = health(vec![pool("cpu", 3, 2, 0)], &[]);
        assert!(!registering.is_ready());
    }
}
