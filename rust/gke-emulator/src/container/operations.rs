//! GKE operations: started by every mutation, PENDING → RUNNING → DONE on the clock, applying their
//! effect on the cluster when done; one at a time per cluster.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Call, ClusterRecord};
use crate::errors::{ApiError, ApiResult};
use crate::json_path;
use crate::plans::RpcStatus;
use crate::state::State;
use crate::timeline::{rfc3339, Phase, Timeline};

const CONTAINER: &str = "https://container.googleapis.com/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GkeOperation {
    pub name: String,
    pub project: String,
    pub location: String,
    pub operation_type: String,
    /// Full name of the cluster the operation works on.
    pub cluster: String,
    pub node_pool: Option<String>,
    pub detail: String,
    pub timeline: Timeline,
    pub effect: Effect,
    /// Set by a "fail next operation" admin call: the operation ends with this error.
    pub planned_error: Option<RpcStatus>,
    /// Set once the operation is DONE.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub end_ms: u64,
    pub error: Option<RpcStatus>,
}

/// What happens to the cluster when the operation succeeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Effect {
    CreateCluster,
    DeleteCluster,
    CreateNodePool,
    DeleteNodePool,
    SetNodePoolSize { node_count: i64 },
    Change { changes: Vec<Change> },
}

/// One field written on the cluster, or on one of its node pools.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub pool: Option<String>,
    pub pointer: String,
    pub value: Value,
}

/// What a mutation asks for; `start` turns it into a running operation.
pub struct Request<'a> {
    pub cluster: &'a str,
    pub node_pool: Option<&'a str>,
    pub operation_type: &'a str,
    pub detail: String,
    pub effect: Effect,
}

impl GkeOperation {
    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    fn target_link(&self) -> String {
        let cluster = format!("{CONTAINER}/{}", self.cluster);
        match &self.node_pool {
            Some(pool) => format!("{cluster}/nodePools/{pool}"),
            None => cluster,
        }
    }

    pub fn render(&self, now_ms: u64) -> Value {
        let status = match (&self.outcome, self.timeline.phase(now_ms)) {
            (Some(_), _) => "DONE",
            (None, Phase::Pending) => "PENDING",
            (None, _) => "RUNNING",
        };
        let fraction = if self.is_done() {
            1.0
        } else {
            self.timeline.fraction(now_ms)
        };
        let mut op = json!({
            "name": self.name,
            "zone": self.location,
            "location": self.location,
            "operationType": self.operation_type,
            "status": status,
            "detail": self.detail,
            "selfLink": format!("{CONTAINER}/projects/{}/locations/{}/operations/{}", self.project, self.location, self.name),
            "targetLink": self.target_link(),
            "startTime": rfc3339(self.timeline.start_ms),
            "progress": {"metrics": [
                {"name": "progress", "doubleValue": fraction},
                {"name": "progress scale", "doubleValue": 1.0},
            ]},
        });
        if let Some(outcome) = &self.outcome {
            op["endTime"] = Value::from(rfc3339(outcome.end_ms));
            if let Some(error) = &outcome.error {
                op["error"] = error.to_json();
                op["statusMessage"] = Value::from(error.message.clone());
            }
        }
        op
    }
}

/// Refuses a mutation while another operation works on the same cluster, as GKE does.
pub fn ensure_idle(state: &State, cluster: &str) -> ApiResult<()> {
    match running_on(state, cluster).next() {
        Some(op) => {
            let doing = match op.operation_type.as_str() {
                "CREATE_CLUSTER" => "creating",
                "DELETE_CLUSTER" => "deleting",
                _ => "updating",
            };
            let name = cluster.rsplit('/').next().unwrap_or(cluster);
            Err(ApiError::failed_precondition(format!(
                "Operation {} is currently {doing} cluster {name}. Please wait and try again once it is done.",
                op.name
            )))
        }
        None => Ok(()),
    }
}

pub fn running_on<'a>(
    state: &'a State,
    cluster: &'a str,
) -> impl Iterator<Item = &'a GkeOperation> {
    state
        .operations
        .values()
        .filter(move |op| op.cluster == cluster && !op.is_done())
}

pub fn start(call: &mut Call, request: Request) -> Value {
    let sequence = call.state.next_sequence();
    let name = format!("operation-{}-{sequence:08x}", call.now_ms);
    let plan = call.state.plans.take();
    let record = &call.state.clusters[request.cluster];
    let op = GkeOperation {
        name: name.clone(),
        project: record.project.clone(),
        location: record.location.clone(),
        operation_type: request.operation_type.to_string(),
        cluster: request.cluster.to_string(),
        node_pool: request.node_pool.map(str::to_string),
        detail: request.detail,
        timeline: Timeline::new(call.now_ms, call.operation_ms, plan.held),
        effect: request.effect,
        planned_error: plan.error,
        outcome: None,
    };
    let rendered = op.render(call.now_ms);
    call.state.operations.insert(name, op);
    rendered
}

/// Finishes every operation whose time has come.
pub fn settle(state: &mut State, now_ms: u64) {
    let due: Vec<String> = state
        .operations
        .values()
        .filter(|op| !op.is_done() && op.timeline.phase(now_ms) == Phase::Finished)
        .map(|op| op.name.clone())
        .collect();
    for name in due {
        let op = &state.operations[&name];
        let end_ms = op.timeline.end_ms().unwrap_or(now_ms);
        let error = op.planned_error.clone();
        finish(state, &name, end_ms, error);
    }
}

/// Marks the operation DONE and applies its effect, or on error leaves the cluster as GKE would.
pub fn finish(state: &mut State, name: &str, end_ms: u64, error: Option<RpcStatus>) {
    let Some(op) = state.operations.get_mut(name) else {
        return;
    };
    op.outcome = Some(Outcome {
        end_ms,
        error: error.clone(),
    });
    let op = op.clone();
    let pool = op.node_pool.as_deref().unwrap_or_default();
    if let (Effect::DeleteCluster, None) = (&op.effect, &error) {
        state.clusters.remove(&op.cluster);
        return;
    }
    let Some(cluster) = state.clusters.get_mut(&op.cluster) else {
        return;
    };
    match error {
        None => apply(cluster, &op.effect, pool),
        Some(error) => fail(cluster, &op.effect, pool, &error),
    }
    cluster.refresh();
}

fn apply(cluster: &mut ClusterRecord, effect: &Effect, pool: &str) {
    match effect {
        Effect::CreateCluster => {
            let pools: Vec<String> = pool_names(cluster);
            for name in pools {
                cluster.set_pool_status(&name, "RUNNING");
            }
        }
        Effect::DeleteCluster => {}
        Effect::CreateNodePool => cluster.set_pool_status(pool, "RUNNING"),
        Effect::DeleteNodePool => {
            if let Some(pools) = cluster.resource["nodePools"].as_array_mut() {
                pools.retain(|p| p["name"] != pool);
            }
            cluster.node_counts.remove(pool);
        }
        Effect::SetNodePoolSize { node_count } => {
            cluster.node_counts.insert(pool.to_string(), *node_count);
            cluster.set_pool_status(pool, "RUNNING");
        }
        Effect::Change { changes } => {
            for change in changes {
                let target = match &change.pool {
                    Some(name) => cluster.pool_mut(name),
                    None => Some(&mut cluster.resource),
                };
                if let Some(target) = target {
                    json_path::set(target, &change.pointer, change.value.clone());
                }
                if let (Some(pool), "/autoscaling") = (&change.pool, change.pointer.as_str()) {
                    clamp_to_autoscaling(cluster, pool);
                }
            }
            if !pool.is_empty() {
                cluster.set_pool_status(pool, "RUNNING");
            }
        }
    }
    cluster.set_status("RUNNING");
}

/// The cluster autoscaler brings a pool within its new limits (per zone, as GKE counts them).
fn clamp_to_autoscaling(cluster: &mut ClusterRecord, pool: &str) {
    let Some(autoscaling) = cluster.pool(pool).map(|p| p["autoscaling"].clone()) else {
        return;
    };
    if autoscaling["enabled"] != true {
        return;
    }
    let min = super::integer(&autoscaling["minNodeCount"]).unwrap_or(0);
    let max = super::integer(&autoscaling["maxNodeCount"]).unwrap_or(i64::MAX);
    if let Some(count) = cluster.node_counts.get_mut(pool) {
        *count = (*count).clamp(min, max.max(min));
    }
}

fn fail(cluster: &mut ClusterRecord, effect: &Effect, pool: &str, error: &RpcStatus) {
    match effect {
        Effect::CreateCluster | Effect::DeleteCluster => {
            cluster.set_status("ERROR");
            cluster.resource["statusMessage"] = Value::from(error.message.clone());
        }
        Effect::CreateNodePool => {
            cluster.set_pool_status(pool, "ERROR");
            if let Some(p) = cluster.pool_mut(pool) {
                p["statusMessage"] = Value::from(error.message.clone());
            }
            cluster.set_status("RUNNING");
        }
        _ => {
            cluster.set_pool_status(pool, "RUNNING");
            cluster.set_status("RUNNING");
        }
    }
}

fn pool_names(cluster: &ClusterRecord) -> Vec<String> {
    cluster
        .pools()
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

fn find<'a>(
    call: &'a Call,
    (project, location): (&str, &str),
    name: &str,
) -> ApiResult<&'a GkeOperation> {
    call.state
        .operations
        .get(name)
        .filter(|op| op.project == project && (location == "-" || op.location == location))
        .ok_or_else(|| {
            super::not_found(&format!(
                "projects/{project}/locations/{location}/operations/{name}"
            ))
        })
}

pub fn get(call: &mut Call, at: (&str, &str), name: &str) -> ApiResult {
    Ok(find(call, at, name)?.render(call.now_ms))
}

pub fn list(call: &mut Call, (project, location): (&str, &str)) -> ApiResult {
    let operations: Vec<Value> = call
        .state
        .operations
        .values()
        .filter(|op| op.project == project && (location == "-" || op.location == location))
        .map(|op| op.render(call.now_ms))
        .collect();
    Ok(json!({"operations": operations}))
}

/// Cancelling ends the operation at once, with a CANCELLED error and without its effect.
pub fn cancel(call: &mut Call, at: (&str, &str), name: &str) -> ApiResult {
    if find(call, at, name)?.is_done() {
        return Err(ApiError::failed_precondition(format!(
            "Operation {name} is already done and cannot be cancelled."
        )));
    }
    finish(
        call.state,
        name,
        call.now_ms,
        Some(RpcStatus::cancelled("Operation was cancelled.")),
    );
    Ok(json!({}))
}

/// Ends, as CANCELLED, the operations still running on a cluster being deleted.
pub fn abort_running(state: &mut State, cluster: &str, now_ms: u64) {
    let running: Vec<String> = running_on(state, cluster)
        .map(|op| op.name.clone())
        .collect();
    for name in running {
        if let Some(op) = state.operations.get_mut(&name) {
            op.outcome = Some(Outcome {
                end_ms: now_ms,
                error: Some(RpcStatus::cancelled(
                    "Operation was aborted because the cluster is being deleted.",
                )),
            });
        }
    }
}
