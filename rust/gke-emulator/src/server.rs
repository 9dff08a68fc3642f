//! The HTTP server: routes each surface, logs requests, applies injected faults, and serves
//! connections itself so that a fault can reset one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State as AxumState};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::connection::Connection;
use crate::container::{self, Call};
use crate::discovery::{Discovery, MethodRef};
use crate::errors::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::kubernetes::Servers;
use crate::request_log::{logged_body, redact_form, LoggedRequest, RequestLog};
use crate::state::State;
use crate::timeline::now_ms;
use crate::{admin, artifact_registry, compute, metadata, oauth, observe, storage};

/// Largest request body accepted (GKE requests are a few kilobytes).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Default time a scheduled pod stays Pending, then runs.
const POD_START_MS: u64 = 200;
const POD_RUN_MS: u64 = 500;

pub struct App {
    /// This app, for the Kubernetes API listeners it starts from inside a state change.
    me: Weak<App>,
    state: Mutex<State>,
    state_file: Option<PathBuf>,
    discovery: Discovery,
    /// Duration of operations started from now on.
    pub operation_ms: AtomicU64,
    pub faults: Faults,
    pub log: RequestLog,
    /// How long a pod stays Pending once scheduled, and runs, unless scripted.
    pub pod_start_ms: AtomicU64,
    pub pod_run_ms: AtomicU64,
    kubernetes: Servers,
    /// Cloud Storage's buckets and objects (in memory only, never in the state file).
    pub storage: storage::Storage,
}

impl App {
    pub fn new(
        state: State,
        state_file: Option<PathBuf>,
        discovery: Discovery,
        operation_ms: u64,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| App {
            me: me.clone(),
            state: Mutex::new(state),
            state_file,
            discovery,
            operation_ms: AtomicU64::new(operation_ms),
            faults: Faults::default(),
            log: RequestLog::default(),
            pod_start_ms: AtomicU64::new(POD_START_MS),
            pod_run_ms: AtomicU64::new(POD_RUN_MS),
            kubernetes: Servers::default(),
            storage: storage::Storage::default(),
        })
    }

    /// Runs `f` on the state brought up to date with the clock, then persists it.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = now_ms();
        state.settle(now);
        let out = f(&mut state, now);
        // What the call changed shows at once in the clusters' APIs: new clusters get a
        // listener, deleted ones lose it, node pools are reflected in nodes.
        crate::kubernetes::settle(&mut state, now);
        if let Some(app) = self.me.upgrade() {
            self.kubernetes.reconcile(&app, &mut state);
        }
        if let Some(path) = &self.state_file {
            if let Err(e) = state.save(path) {
                eprintln!(
                    "gke-emulator: cannot write state file {}: {e}",
                    path.display()
                );
            }
        }
        out
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .nest("/_emulator", admin::routes())
        .route("/", get(|| async { metadata::ping() }))
        .route("/computeMetadata/v1", get(metadata_server))
        .route("/computeMetadata/v1/", get(metadata_server))
        .route("/computeMetadata/v1/{*path}", get(metadata_server))
        .route("/compute/v1/{*path}", get(compute_api).post(compute_api))
        .route("/token", post(token))
        .fallback(google_api)
        .layer(middleware::from_fn_with_state(app.clone(), log_and_fault))
        .with_state(app)
}

/// Accepts connections for ever; each is served until the client closes it or a fault resets it.
pub async fn serve(listener: TcpListener, router: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok((stream, connection)) = Connection::accept(stream) else {
            continue;
        };
        let for_requests = connection.clone();
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(for_requests.clone());
                    request
                });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = served => {}
                _ = connection.reset_requested() => {}
            }
        });
    }
}

/// Logs every non-admin request and applies the first injected fault that matches it.
async fn log_and_fault(
    AxumState(app): AxumState<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/_emulator") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // Cloud Storage's bodies (objects of any size) stream through, unlogged.
    let (logged, body) = if storage::owns(parts.uri.path()) {
        (Bytes::new(), body)
    } else {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return ApiError::invalid_argument("Request body too large or unreadable.")
                .into_response();
        };
        (bytes.clone(), Body::from(bytes))
    };
    let logged = if parts.uri.path() == "/token" {
        Value::from(redact_form(&String::from_utf8_lossy(&logged)))
    } else {
        logged_body(&logged)
    };
    let entry = LoggedRequest::new(&parts, logged);
    let connection = parts.extensions.get::<Arc<Connection>>().cloned();
    let injected = |status| ApiError::injected(status).into_response();
    observe::observe(&app, entry, connection, injected, || {
        next.run(Request::from_parts(parts, body))
    })
    .await
}

async fn metadata_server(
    AxumState(app): AxumState<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/computeMetadata/v1")
        .unwrap_or_default()
        .trim_start_matches('/');
    let recursive = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "recursive=true"));
    let instance = app.with_state(|state, _| state.instance.clone());
    metadata::serve(&instance, &headers, path, recursive)
}

async fn token(
    AxumState(app): AxumState<Arc<App>>,
    Form(request): Form<oauth::TokenRequest>,
) -> Response {
    app.with_state(|state, now| oauth::exchange(state, &request, now))
}

async fn compute_api(
    AxumState(app): AxumState<Arc<App>>,
    method: Method,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let path = uri.path().strip_prefix("/compute/v1/").unwrap_or_default();
    app.with_state(|state, _| compute::serve(state, method.as_str(), path, &query))
}

/// The APIs with a discovery document (GKE, Artifact Registry, Cloud Storage): a request is
/// resolved to its method, whose id routes it.
async fn google_api(AxumState(app): AxumState<Arc<App>>, request: Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let called = app.discovery.find(method.as_str(), &path);
    match called {
        Some(called) if called.id().starts_with("storage.") => {
            let (id, endpoint) = (called.id(), called.endpoint());
            storage::serve(&app.storage, id, endpoint, &called.params, request).await
        }
        None if storage::owns(&path) => storage::not_emulated(&method, &path),
        None => ApiError::not_found(format!(
            "The requested URL {path} was not found on this server."
        ))
        .into_response(),
        Some(called) => {
            let query = match Query::<Vec<(String, String)>>::try_from_uri(request.uri()) {
                Ok(Query(query)) => query,
                Err(rejection) => return rejection.into_response(),
            };
            let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
                return ApiError::invalid_argument("Request body too large or unreadable.")
                    .into_response();
            };
            match call_google_api(&app, &called, &query, &body) {
                Ok(value) => Json(value).into_response(),
                Err(error) => error.into_response(),
            }
        }
    }
}

/// GKE and Artifact Registry, which share `/v1/projects/{p}/locations/{l}/…`.
fn call_google_api(
    app: &App,
    called: &MethodRef,
    query: &[(String, String)],
    body: &Bytes,
) -> ApiResult {
    called.check_query(query)?;
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid_argument(format!("Invalid JSON payload received. {e}"))
        })?
    };
    let body = called.check_body(body)?;
    let operation_ms = app.operation_ms.load(Ordering::Relaxed);
    app.with_state(|state, now_ms| {
        let id = owner_api(state, called.id(), &called.params);
        let mut call = Call {
            state,
            now_ms,
            operation_ms,
        };
        match id.split_once('.') {
            Some(("artifactregistry", _)) => {
                artifact_registry::route(&mut call, &id, &called.params, query, body)
            }
            _ => container::route(&mut call, &id, &called.params, body),
        }
    })
}

/// The id of the method that answers: GKE and Artifact Registry share
/// `…/locations/{l}/operations/{op}`, which discovery resolves to GKE's method, so an Artifact
/// Registry operation's id is rewritten to its API's.
fn owner_api(state: &State, id: &str, params: &[String]) -> String {
    match (
        id.strip_prefix("container.projects.locations.operations."),
        params,
    ) {
        (Some(verb), [project, location, op])
            if artifact_registry::owns_operation(
                state,
                &format!("projects/{project}/locations/{location}/operations/{op}"),
            ) =>
        {
            format!("artifactregistry.projects.locations.operations.{verb}")
        }
        _ => id.to_string(),
    }
}
