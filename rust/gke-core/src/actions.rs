//! The cluster actions and scenario steps of the plugin: their parameters read and checked,
//! the work done on the running cluster, the HTML (actions) or one-line summary (steps).

use std::time::Duration;

use serde_json::Value;

use crate::error::{GkeError, Result};
use crate::lifecycle;
use crate::netcheck;
use crate::node_pools::{self, Change, ClusterRef};
use crate::report::{Report, Verdict};
use crate::running::{self, Session};
use crate::settings::PluginSettings;

/// How long a change may take before `OperationTimeout` (it goes on in GKE).
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

fn no_progress(_: u32) {}

/// What a change did, as an action's report.
pub fn change_html(c: &Change) -> String {
    Report::new(&format!("{}: node pool {} {}", c.cluster, c.pool, c.action))
        .verdict(Verdict::Ok, &format!("{} in {:.1} s", c.detail, c.seconds))
        .finish()
}

fn param<'a>(params: &'a Value, key: &str) -> &'a str {
    params[key].as_str().unwrap_or_default()
}

fn int_param(params: &Value, key: &str, field: &str) -> Result<i32> {
    match &params[key] {
        Value::Null => Err(GkeError::validation(field, "is required")),
        v => v
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e6)
            .map(|f| f as i32)
            .ok_or_else(|| GkeError::validation(field, format!("{v} is not a whole number"))),
    }
}

/// The "Autoscaling" / "Min nodes" / "Max nodes" params: limits, or None to turn it off.
fn autoscaling_limits(params: &Value) -> Result<Option<(i32, i32)>> {
    if !params["enable"].as_bool().unwrap_or(true) {
        return Ok(None);
    }
    Ok(Some((
        int_param(params, "min_nodes", "Min nodes")?,
        int_param(params, "max_nodes", "Max nodes")?,
    )))
}

/// Runs a cluster action (`action` is its folder name) on the DSS cluster whose plugin data is
/// `data`; returns the HTML DSS shows. `progress` gets percentages.
pub async fn run_action(
    name: &str,
    params: &Value,
    settings: &PluginSettings,
    data: &Value,
    raw: &Value,
    progress: &(dyn Fn(u32) + Send + Sync),
) -> Result<String> {
    if name == "plan-cluster" {
        let config = lifecycle::config_for_plan(raw, &params["connection"], &params["node_pools"])?;
        let id = param(params, "clusterId");
        let plan = lifecycle::plan(
            &config,
            settings,
            if id.is_empty() { "dss-cluster" } else { id },
        )
        .await?;
        progress(100);
        return Ok(lifecycle::plan_html(&plan));
    }
    let (session, cluster) = Session::for_cluster(data, settings).await?;
    progress(5);
    let pool = param(params, "pool");
    let html = match name {
        "inspect-node-pools" => {
            let (pools, error) = running::node_pools(&session, &cluster).await?;
            running::pools_html(&cluster.name, cluster.autopilot, &pools, error.as_deref())
        }
        "cluster-health" => running::health(&session, &cluster).await?.to_html(),
        "test-network" => {
            let port = match &params["port"] {
                Value::Null => None,
                v => Some(
                    v.as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| {
                            GkeError::validation("DSS port", format!("{v} is not a port number"))
                        })?,
                ),
            };
            let target = netcheck::backend_target(param(params, "host"), port)?;
            let image = match param(params, "image").trim() {
                "" => "busybox:1.36",
                i => i,
            };
            let timeout = params["timeout_seconds"].as_u64().unwrap_or(120).max(1);
            netcheck::test_network(
                &session,
                &cluster,
                target,
                image,
                "default",
                Duration::from_secs(timeout),
            )
            .await?
            .to_html()
        }
        "add-node-pool" | "resize-node-pool" | "set-autoscaling" => {
            let change = match name {
                "add-node-pool" => {
                    let ctx = ClusterRef::pool_context(data);
                    node_pools::add(
                        &session,
                        &cluster,
                        &params["node_pool"],
                        &ctx,
                        TIMEOUT,
                        progress,
                    )
                    .await?
                }
                "resize-node-pool" => {
                    let count = int_param(params, "node_count", "Number of nodes")?;
                    let delete = params["delete_pool"].as_bool().unwrap_or(false);
                    node_pools::resize(&session, &cluster, pool, count, delete, TIMEOUT, progress)
                        .await?
                }
                _ => {
                    let limits = autoscaling_limits(params)?;
                    node_pools::set_autoscaling(&session, &cluster, pool, limits, TIMEOUT, progress)
                        .await?
                }
            };
            let (pools, error) = running::node_pools(&session, &cluster).await?;
            format!(
                "{}{}",
                change_html(&change),
                running::pools_html(&cluster.name, cluster.autopilot, &pools, error.as_deref())
            )
        }
        other => {
            return Err(GkeError::validation(
                "action",
                format!("'{other}' is not a gke-native cluster action"),
            ))
        }
    };
    progress(100);
    Ok(html)
}

/// Runs the scenario step `name` (its folder under python-steps/) on the DSS cluster whose
/// plugin data is `data`; a one-line summary, or the error that fails the step.
pub async fn run_step(
    name: &str,
    params: &Value,
    settings: &PluginSettings,
    data: &Value,
) -> Result<String> {
    let (session, cluster) = Session::for_cluster(data, settings).await?;
    let pool = param(params, "pool");
    let summary = match name {
        "resize-node-pool" => {
            let count = int_param(params, "node_count", "Number of nodes")?;
            node_pools::resize(
                &session,
                &cluster,
                pool,
                count,
                false,
                TIMEOUT,
                &no_progress,
            )
            .await?
            .detail
        }
        "set-autoscaling" => {
            let limits = autoscaling_limits(params)?;
            node_pools::set_autoscaling(&session, &cluster, pool, limits, TIMEOUT, &no_progress)
                .await?
                .detail
        }
        "wait-cluster-ready" => {
            let minutes = params["timeout_minutes"].as_f64().unwrap_or(20.0).max(0.0);
            let health =
                running::wait_ready(&session, &cluster, Duration::from_secs_f64(minutes * 60.0))
                    .await?;
            format!("{} is ready: {}", health.cluster, health.summary)
        }
        other => {
            return Err(GkeError::validation(
                "step",
                format!("'{other}' is not a gke-native scenario step"),
            ))
        }
    };
    tracing::info!("{summary}");
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_whole_and_named() {
        assert_eq!(
            int_param(&json!({"n": 3.0}), "n", "Number of nodes").unwrap(),
            3
        );
        let e = int_param(&json!({"n": 2.5}), "n", "Number of nodes").unwrap_err();
        assert!(
            e.to_string()
                .contains("Number of nodes: 2.5 is not a whole number"),
            "{e}"
        );
        let e = int_param(&json!({}), "n", "Number of nodes").unwrap_err();
        assert!(
            e.to_string().contains("Number of nodes: is required"),
            "{e}"
        );
        assert_eq!(autoscaling_limits(&json!({"enable": false})).unwrap(), None);
        assert_eq!(
            autoscaling_limits(&json!({"min_nodes": 0, "max_nodes": 4})).unwrap(),
            Some((0, 4))
        );
    }
}
