//! The cluster actions and scenario steps of the plugin: their parameters read (typed, as the
//! descriptors declare them), the work done on the DSS cluster they name, the HTML (actions) or
//! one-line summary (steps).

use serde_json::Value;

use crate::cluster::handle::{ClusterRef, Session};
use crate::cluster::node_pool_changes::{self as changes, Change};
use crate::cluster::{health, inventory, plan};
use crate::config::params::{
    forms, in_range, params, AddPoolParams, AutoscalingParams, NetworkParams, ResizeParams,
    WaitParams, NETWORK_TEST_IMAGE, NETWORK_TEST_NAMESPACE, TIMEOUT,
};
use crate::config::record::{ClusterType, DssCluster};
use crate::error::{GkeError, Result};
use crate::html::ToHtml;
use crate::kube::netcheck;

fn no_progress(_: u32) {}

/// A change of the running cluster's node pools, as an action or a step asks for it.
enum ChangeRequest {
    Add(AddPoolParams),
    Resize(ResizeParams),
    Autoscaling(AutoscalingParams),
}

/// Makes the change on the DSS cluster's GKE cluster; a step may not delete a pool.
async fn run_change(
    request: ChangeRequest,
    session: &Session,
    target: &ClusterRef,
    cluster: &DssCluster,
    progress: &(dyn Fn(u32) + Send + Sync),
) -> Result<Change> {
    match request {
        ChangeRequest::Add(p) => {
            let ctx = inventory::pool_context(session, target, cluster.data.as_ref()).await?;
            changes::add(session, target, &p.node_pool, &ctx, TIMEOUT, progress).await
        }
        ChangeRequest::Resize(p) => {
            let count = p.count()?;
            changes::resize(
                session,
                target,
                &p.pool,
                count,
                p.delete_pool,
                TIMEOUT,
                progress,
            )
            .await
        }
        ChangeRequest::Autoscaling(p) => {
            changes::set_autoscaling(session, target, &p.pool, p.limits()?, TIMEOUT, progress).await
        }
    }
}

/// Runs a cluster action (`name` is its folder under cluster-actions/) on `cluster`; returns
/// the HTML DSS shows. `progress` gets percentages.
pub async fn run_action(
    name: &str,
    raw_params: &Value,
    cluster: &DssCluster,
    progress: &(dyn Fn(u32) + Send + Sync),
) -> Result<String> {
    if name == "plan-cluster" {
        if cluster.kind != ClusterType::Create {
            return Err(GkeError::validation(
                "Cluster",
                format!(
                    "{} is an attached cluster: gke-native did not create it, so there is no creation to plan",
                    cluster.id
                ),
            ));
        }
        let plan = plan::plan(&cluster.config, &cluster.settings, &cluster.id).await?;
        progress(100);
        return Ok(plan::plan_html(&plan));
    }
    let change = match name {
        "add-node-pool" => Some(ChangeRequest::Add(params(raw_params, forms::ADD_POOL)?)),
        "resize-node-pool" => Some(ChangeRequest::Resize(params(raw_params, forms::RESIZE)?)),
        "set-autoscaling" => Some(ChangeRequest::Autoscaling(params(
            raw_params,
            forms::AUTOSCALING,
        )?)),
        _ => None,
    };
    let (session, target) = Session::for_record(cluster).await?;
    progress(5);
    let html = match (name, change) {
        (_, Some(request)) => {
            let change = run_change(request, &session, &target, cluster, progress).await?;
            let pools = inventory::node_pools(&session, &target).await?;
            format!("{}{}", change.to_html(), pools.to_html())
        }
        ("inspect-node-pools", None) => inventory::node_pools(&session, &target).await?.to_html(),
        ("cluster-health", None) => health::health(&session, &target).await?.to_html(),
        ("test-network", None) => {
            let p: NetworkParams = params(raw_params, forms::TEST_NETWORK)?;
            let target_host = netcheck::backend_target(&p.host, p.port)?;
            let image = match p.image.trim() {
                "" => NETWORK_TEST_IMAGE,
                i => i,
            };
            let timeout = in_range(p.timeout_seconds, 1..=3600, "Timeout")?;
            netcheck::test_network(
                session.kube_client(&target).await?,
                &target.name,
                target_host,
                image,
                NETWORK_TEST_NAMESPACE,
                std::time::Duration::from_secs(timeout as u64),
            )
            .await?
            .to_html()
        }
        (other, None) => {
            return Err(GkeError::validation(
                "action",
                format!("'{other}' is not a gke-native cluster action"),
            ))
        }
    };
    progress(100);
    Ok(html)
}

/// Runs the scenario step `name` (its folder under python-steps/) on `cluster`; a one-line
/// summary, or the error that fails the step.
pub async fn run_step(name: &str, raw_params: &Value, cluster: &DssCluster) -> Result<String> {
    let summary = match name {
        "wait-cluster-ready" => {
            let timeout = params::<WaitParams>(raw_params, forms::WAIT_STEP)?.timeout()?;
            let (session, target) = Session::for_record(cluster).await?;
            let health = health::wait_ready(&session, &target, timeout).await?;
            format!("{} is ready: {}", health.cluster, health.summary)
        }
        _ => {
            let request = match name {
                "resize-node-pool" => ChangeRequest::Resize(ResizeParams {
                    // A step never deletes a pool.
                    delete_pool: false,
                    ..params(raw_params, forms::RESIZE_STEP)?
                }),
                "set-autoscaling" => {
                    ChangeRequest::Autoscaling(params(raw_params, forms::AUTOSCALING_STEP)?)
                }
                other => {
                    return Err(GkeError::validation(
                        "step",
                        format!("'{other}' is not a gke-native scenario step"),
                    ))
                }
            };
            let (session, target) = Session::for_record(cluster).await?;
            run_change(request, &session, &target, cluster, &no_progress)
                .await?
                .detail
        }
    };
    tracing::info!("{summary}");
    Ok(summary)
}
