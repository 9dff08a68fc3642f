//! The admin surface under `/_emulator/` for tests: faults, the request log, the instance's
//! metadata, operation plans (fail, hold, release) and settings. Documented in `main.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::rpc_code;
use crate::faults::Fault;
use crate::kubernetes::pods::PodScript;
use crate::metadata::InstanceMetadata;
use crate::plans::RpcStatus;
use crate::server::App;

type AppState = State<Arc<App>>;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/metadata", get(get_metadata).put(put_metadata))
        .route("/operations/fail-next", post(fail_next))
        .route("/operations/hold-next", post(hold_next))
        .route("/operations/release", post(release))
        .route("/settings", get(get_settings).put(put_settings))
        .route(
            "/pods/script",
            get(list_pod_scripts)
                .post(add_pod_script)
                .delete(clear_pod_scripts),
        )
        .route("/state", get(dump_state))
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

/// Parses an admin body, answering 400 with serde's message (which names the field) on error.
fn parse<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, String> {
    serde_json::from_value(body).map_err(|e| e.to_string())
}

async fn list_faults(State(app): AppState) -> Json<Value> {
    Json(json!({"faults": app.faults.list()}))
}

async fn add_fault(State(app): AppState, Json(body): Json<Value>) -> Response {
    match parse::<Fault>(body) {
        Ok(fault) => {
            app.faults.add(fault);
            Json(json!({"faults": app.faults.list()})).into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn clear_faults(State(app): AppState) -> Json<Value> {
    app.faults.clear();
    Json(json!({"faults": []}))
}

async fn list_requests(State(app): AppState) -> Json<Value> {
    Json(json!({"requests": app.log.snapshot()}))
}

async fn clear_requests(State(app): AppState) -> Json<Value> {
    app.log.clear();
    Json(json!({"requests": []}))
}

async fn get_metadata(State(app): AppState) -> Json<Value> {
    Json(app.with_state(|state, _| json!(state.instance)))
}

/// Merges the given fields into the instance metadata; unknown fields are refused.
async fn put_metadata(State(app): AppState, Json(body): Json<Value>) -> Response {
    let Some(changes) = body.as_object() else {
        return bad_request("expected a JSON object of instance metadata fields".into());
    };
    app.with_state(|state, _| {
        let mut merged = json!(state.instance);
        for (key, value) in changes {
            if merged.get(key).is_none() {
                return bad_request(format!("unknown instance metadata field `{key}`"));
            }
            merged[key] = value.clone();
        }
        match parse::<InstanceMetadata>(merged) {
            Ok(instance) => {
                state.instance = instance;
                Json(json!(state.instance)).into_response()
            }
            Err(message) => bad_request(message),
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    /// A `google.rpc.Code` number or name; INTERNAL when absent.
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

async fn fail_next(State(app): AppState, Json(body): Json<Value>) -> Response {
    let request = match parse::<FailNext>(body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    let code = match &request.code {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(13),
        Some(Value::String(name)) => rpc_code(name),
        _ => rpc_code("INTERNAL"),
    };
    let status = RpcStatus {
        code,
        message: request
            .message
            .unwrap_or_else(|| "Operation failed (injected by gke-emulator).".into()),
    };
    app.with_state(|state, _| {
        for _ in 0..request.count {
            state.plans.failures.push_back(status.clone());
        }
        Json(json!(state.plans)).into_response()
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldNext {
    #[serde(default = "one")]
    count: u32,
}

async fn hold_next(State(app): AppState, Json(body): Json<Value>) -> Response {
    match parse::<HoldNext>(body) {
        Ok(request) => app.with_state(|state, _| {
            state.plans.holds += request.count;
            Json(json!(state.plans)).into_response()
        }),
        Err(message) => bad_request(message),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    /// The operation to release (GKE short name or Artifact Registry full name); all when absent.
    #[serde(default)]
    name: Option<String>,
}

async fn release(State(app): AppState, Json(body): Json<Value>) -> Response {
    let request = match parse::<Release>(body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    app.with_state(|state, now| {
        let mut released = Vec::new();
        for (name, timeline) in state.timelines_mut() {
            let wanted = request.name.as_deref().is_none_or(|n| n == name);
            if wanted && timeline.held {
                timeline.release(now);
                released.push(name.clone());
            }
        }
        state.settle(now);
        Json(json!({"released": released})).into_response()
    })
}

/// Timings; a PUT changes the fields it gives.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    #[serde(default)]
    operation_ms: Option<u64>,
    #[serde(default)]
    pod_start_ms: Option<u64>,
    #[serde(default)]
    pod_run_ms: Option<u64>,
}

fn settings(app: &App) -> Json<Value> {
    Json(json!({
        "operationMs": app.operation_ms.load(Ordering::Relaxed),
        "podStartMs": app.pod_start_ms.load(Ordering::Relaxed),
        "podRunMs": app.pod_run_ms.load(Ordering::Relaxed),
    }))
}

async fn get_settings(State(app): AppState) -> Json<Value> {
    settings(&app)
}

async fn put_settings(State(app): AppState, Json(body): Json<Value>) -> Response {
    match parse::<Settings>(body) {
        Ok(new) => {
            let fields = [
                (new.operation_ms, &app.operation_ms),
                (new.pod_start_ms, &app.pod_start_ms),
                (new.pod_run_ms, &app.pod_run_ms),
            ];
            for (value, slot) in fields {
                if let Some(value) = value {
                    slot.store(value, Ordering::Relaxed);
                }
            }
            settings(&app).into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn list_pod_scripts(State(app): AppState) -> Json<Value> {
    Json(app.with_state(|state, _| json!({"scripts": state.pod_scripts})))
}

/// Queues a scripted outcome; `count` (default 1) queues it for that many pods.
async fn add_pod_script(State(app): AppState, Json(mut body): Json<Value>) -> Response {
    let count = body
        .as_object_mut()
        .and_then(|b| b.remove("count"))
        .map_or(Some(1), |c| c.as_u64());
    let Some(count) = count else {
        return bad_request("count must be a positive integer".into());
    };
    let script = match parse::<PodScript>(body).and_then(|s| s.check().map(|()| s)) {
        Ok(script) => script,
        Err(message) => return bad_request(message),
    };
    app.with_state(|state, _| {
        for _ in 0..count {
            state.pod_scripts.push(script.clone());
        }
        Json(json!({"scripts": state.pod_scripts})).into_response()
    })
}

async fn clear_pod_scripts(State(app): AppState) -> Json<Value> {
    app.with_state(|state, _| state.pod_scripts.clear());
    Json(json!({"scripts": []}))
}

async fn dump_state(State(app): AppState) -> Json<Value> {
    Json(app.with_state(|state, _| json!(state)))
}
