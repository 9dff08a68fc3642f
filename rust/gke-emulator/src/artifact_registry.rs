//! Artifact Registry v1: repositories get, list and create (a `google.longrunning` operation that
//! creates the repository when done).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::container::Call;
use crate::errors::{ApiError, ApiResult};
use crate::plans::RpcStatus;
use crate::state::State;
use crate::timeline::{rfc3339, Phase, Timeline};

const TYPES: &str = "type.googleapis.com/google.devtools.artifactregistry.v1";
const MAX_REPOSITORY_ID: usize = 63;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryOperation {
    pub name: String,
    pub timeline: Timeline,
    /// The repository this operation creates.
    pub repository: Value,
    pub planned_error: Option<RpcStatus>,
    pub done: bool,
    pub error: Option<RpcStatus>,
}

impl RepositoryOperation {
    fn render(&self) -> Value {
        let mut op = json!({
            "name": self.name,
            "metadata": {"@type": format!("{TYPES}.OperationMetadata")},
            "done": self.done,
        });
        match (&self.error, self.done) {
            (Some(error), true) => op["error"] = error.to_json(),
            (None, true) => {
                let mut response = self.repository.clone();
                response["@type"] = Value::from(format!("{TYPES}.Repository"));
                op["response"] = response;
            }
            _ => {}
        }
        op
    }
}

/// Whether `name` is an Artifact Registry operation (GKE's share the same URL shape).
pub fn owns_operation(state: &State, name: &str) -> bool {
    state.repository_operations.contains_key(name)
}

/// Routes an Artifact Registry method, by its discovery id, to its handler; `params` are the
/// values of its path's variables (project, location, then repository or operation).
pub fn route(
    call: &mut Call,
    id: &str,
    params: &[String],
    query: &[(String, String)],
    body: Value,
) -> ApiResult {
    let (Some(method), [project, location, rest @ ..]) = (
        id.strip_prefix("artifactregistry.projects.locations."),
        params,
    ) else {
        return Err(unimplemented(id));
    };
    let parent = format!("projects/{project}/locations/{location}");
    match (method, rest) {
        ("repositories.list", []) => {
            let prefix = format!("{parent}/repositories/");
            let repositories: Vec<&Value> = call
                .state
                .repositories
                .iter()
                .filter(|(name, _)| name.starts_with(&prefix))
                .map(|(_, repo)| repo)
                .collect();
            Ok(json!({"repositories": repositories}))
        }
        ("repositories.create", []) => {
            let id = query
                .iter()
                .find(|(k, _)| k == "repositoryId")
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            create(call, &parent, id, body)
        }
        ("repositories.get", [id]) => {
            let name = format!("{parent}/repositories/{id}");
            call.state.repositories.get(&name).cloned().ok_or_else(|| {
                ApiError::not_found(format!("Requested entity was not found: {name}"))
            })
        }
        ("operations.get", [id]) => {
            let name = format!("{parent}/operations/{id}");
            call.state
                .repository_operations
                .get(&name)
                .map(RepositoryOperation::render)
                .ok_or_else(|| {
                    ApiError::not_found(format!("Requested entity was not found: {name}"))
                })
        }
        _ => Err(unimplemented(id)),
    }
}

fn unimplemented(id: &str) -> ApiError {
    ApiError::unimplemented(format!(
        "{id} is part of the Artifact Registry API but not emulated by gke-emulator."
    ))
}

fn create(call: &mut Call, parent: &str, id: &str, mut repository: Value) -> ApiResult {
    let valid = !id.is_empty()
        && id.len() <= MAX_REPOSITORY_ID
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ApiError::invalid_field(
            "repository_id",
            format!("Invalid value for field \"repository_id\": \"{id}\". Repository ids are 1-63 lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit."),
        ));
    }
    let format = repository["format"].clone();
    if format.is_null() || format == "FORMAT_UNSPECIFIED" || format == 0 {
        return Err(ApiError::invalid_field(
            "repository.format",
            "Invalid value for field \"repository.format\": a repository needs a format (DOCKER, MAVEN, ...).",
        ));
    }
    let name = format!("{parent}/repositories/{id}");
    let pending = call
        .state
        .repository_operations
        .values()
        .any(|op| !op.done && op.repository["name"] == name.as_str());
    if call.state.repositories.contains_key(&name) || pending {
        return Err(ApiError::already_exists(format!(
            "the repository already exists: {name}"
        )));
    }
    let location = parent.rsplit('/').next().unwrap_or_default();
    let project = parent.split('/').nth(1).unwrap_or_default();
    let now = rfc3339(call.now_ms);
    repository["name"] = Value::from(name.clone());
    repository["createTime"] = Value::from(now.clone());
    repository["updateTime"] = Value::from(now);
    repository["sizeBytes"] = Value::from("0");
    if repository["mode"].is_null() {
        repository["mode"] = Value::from("STANDARD_REPOSITORY");
    }
    // The official clients send enums as numbers; 1 is DOCKER.
    if format == "DOCKER" || format == 1 {
        repository["registryUri"] =
            Value::from(format!("{location}-docker.pkg.dev/{project}/{id}"));
    }
    let sequence = call.state.next_sequence();
    let op_name = format!(
        "{parent}/operations/{:08x}-{:04x}-4{:03x}-8{:03x}-{sequence:012x}",
        (call.now_ms >> 16) as u32,
        call.now_ms & 0xffff,
        sequence & 0xfff,
        (sequence >> 12) & 0xfff,
    );
    let plan = call.state.plans.take();
    let op = RepositoryOperation {
        name: op_name.clone(),
        timeline: Timeline::new(call.now_ms, call.operation_ms, plan.held),
        repository,
        planned_error: plan.error,
        done: false,
        error: None,
    };
    let rendered = op.render();
    call.state.repository_operations.insert(op_name, op);
    Ok(rendered)
}

/// Completes due operations; a successful one makes its repository exist.
pub fn settle(state: &mut State, now_ms: u64) {
    for op in state.repository_operations.values_mut() {
        if op.done || op.timeline.phase(now_ms) != Phase::Finished {
            continue;
        }
        op.done = true;
        op.error = op.planned_error.clone();
        if op.error.is_none() {
            let name = op.repository["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            state.repositories.insert(name, op.repository.clone());
        }
    }
}
