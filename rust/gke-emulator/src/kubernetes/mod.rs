//! Each cluster's Kubernetes API: an HTTPS listener on loopback per cluster (certificate signed by
//! the cluster's CA, valid for `127.0.0.1` and `localhost`), bearer-token authentication, and the
//! routes of discovery, OpenAPI and the served resources. Listeners follow the clusters: started
//! when a cluster is created or the emulator restarts, stopped when the cluster is deleted.

pub mod apply;
pub mod auth;
mod daemonsets;
mod defaults;
mod discovery;
mod nodes;
mod objects;
mod patch;
pub mod pods;
mod protobuf;
mod resources;
mod seed;
mod selectors;
mod status;
pub mod store;
mod validation;
mod watch;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::watch as signal;

use crate::connection::Connection;
use crate::container::ClusterRecord;
use crate::observe;
use crate::request_log::{logged_body, LoggedRequest};
use crate::server::App;
use crate::state::State;
use objects::{Answer, Ctx, Query, Target};
use status::{KubeError, KubeResult};

/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest `logs --follow` waits for a pod's containers to stop.
const FOLLOW_LIMIT: Duration = Duration::from_secs(300);

/// Moves every cluster's objects along: built-in objects, nodes from node pools, pods, DaemonSets.
pub fn settle(state: &mut State, now_ms: u64) {
    for cluster in state.clusters.values_mut() {
        seed::seed(&mut cluster.kubernetes, now_ms);
        nodes::sync(cluster, now_ms);
        pods::settle(&mut cluster.kubernetes, now_ms);
        daemonsets::settle(&mut cluster.kubernetes);
    }
}

/// The running API listeners, by cluster key.
#[derive(Default)]
pub struct Servers {
    running: Mutex<HashMap<String, signal::Sender<bool>>>,
}

impl Servers {
    /// Starts the API of every cluster without one (re-binding its persisted port when it can)
    /// and stops those of clusters that are gone.
    pub fn reconcile(&self, app: &Arc<App>, state: &mut State) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|key, stop| {
            let keep = state.clusters.contains_key(key);
            if !keep {
                let _ = stop.send(true);
            }
            keep
        });
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        for (key, record) in state.clusters.iter_mut() {
            if running.contains_key(key) {
                continue;
            }
            match start(app, key, record) {
                Ok(stop) => {
                    running.insert(key.clone(), stop);
                }
                Err(e) => eprintln!("gke-emulator: cannot serve the Kubernetes API of {key}: {e}"),
            }
        }
    }
}

fn bind(port: Option<u16>) -> std::io::Result<std::net::TcpListener> {
    if let Some(port) = port {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => return Ok(listener),
            Err(e) => eprintln!(
                "gke-emulator: port {port} is taken ({e}); the cluster API moves to a new port"
            ),
        }
    }
    std::net::TcpListener::bind(("127.0.0.1", 0))
}

fn start(
    app: &Arc<App>,
    key: &str,
    record: &mut ClusterRecord,
) -> Result<signal::Sender<bool>, String> {
    let (certificate, private_key) = record.ca.server_certificate(record.name())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(private_key.into()),
        )
        .map_err(|e| e.to_string())?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = bind(record.api_port).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    record.set_api_port(port);
    let (stop, stopped) = signal::channel(false);
    let app = app.clone();
    let key = key.to_string();
    tokio::spawn(async move {
        let mut stopping = stopped.clone();
        loop {
            let accepted = tokio::select! {
                _ = stopping.changed() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let Ok((stream, connection)) = Connection::accept(stream) else {
                continue;
            };
            let (acceptor, app, key, mut stopping) =
                (acceptor.clone(), app.clone(), key.clone(), stopped.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let for_requests = connection.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (app, key, connection) = (app.clone(), key.clone(), for_requests.clone());
                    async move { Ok::<_, Infallible>(handle(app, key, connection, request).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service);
                tokio::select! {
                    _ = served => {}
                    _ = connection.reset_requested() => {}
                    _ = stopping.changed() => {}
                }
            });
        }
    });
    Ok(stop)
}

/// One request: read, authenticate, log, apply faults, route.
async fn handle(
    app: Arc<App>,
    key: String,
    connection: Arc<Connection>,
    request: Request<Incoming>,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .unwrap_or_default();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (identity, cluster_name) = app.with_state(|state, _| {
        let name = state.clusters.get(&key).map(|c| c.name().to_string());
        (auth::identity(state, authorization), name)
    });
    let Some(cluster_name) = cluster_name else {
        return KubeError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the cluster is being deleted",
        )
        .into_response();
    };
    let mut entry = LoggedRequest::new(&parts, logged_body(&bytes));
    entry.cluster = Some(key.clone());
    entry.identity = identity.clone();
    let injected = |status| KubeError::injected(status).into_response();
    observe::observe(&app, entry, Some(connection), injected, || {
        serve(&app, &key, &cluster_name, identity.is_some(), &parts, bytes)
    })
    .await
}

fn json(status: StatusCode, body: Value, warnings: &[String]) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    for warning in warnings {
        if let Ok(value) = HeaderValue::from_str(&format!(
            "299 - {}",
            serde_json::Value::from(warning.as_str())
        )) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

async fn serve(
    app: &Arc<App>,
    key: &str,
    cluster: &str,
    authenticated: bool,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> Response {
    let path = parts.uri.path();
    if matches!(path, "/healthz" | "/livez" | "/readyz") {
        return (StatusCode::OK, "ok").into_response();
    }
    if !authenticated {
        return KubeError::unauthorized().into_response();
    }
    let query = Query::parse(parts.uri.query());
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let get = parts.method == Method::GET;
    let found = match segments.as_slice() {
        ["version"] if get => {
            let version = app.with_state(|state, _| {
                state.clusters.get(key).and_then(|c| {
                    c.resource["currentMasterVersion"]
                        .as_str()
                        .map(str::to_string)
                })
            });
            Some(discovery::version(
                version.as_deref().unwrap_or("1.33.5-gke.1162000"),
            ))
        }
        ["api"] if get => Some(discovery::api_versions()),
        ["apis"] if get => Some(discovery::api_groups()),
        ["api", "v1"] if get => discovery::resource_list("", "v1"),
        ["apis", group] if get => discovery::api_group(group),
        ["apis", group, version] if get => discovery::resource_list(group, version),
        ["openapi", "v3"] if get => Some(discovery::openapi_v3_index()),
        ["openapi", "v3", rest @ ..] if get => discovery::openapi_v3_group_version(&rest.join("/")),
        ["openapi", "v2"] if get => {
            let accept = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if accept.contains("protobuf") {
                // Not the media type asked for: Go's MIME parser (kubectl 1.20) rejects its `@`.
                return (
                    [(header::CONTENT_TYPE, "application/octet-stream")],
                    discovery::openapi_v2_protobuf(),
                )
                    .into_response();
            }
            Some(discovery::openapi_v2_json())
        }
        _ => None,
    };
    if let Some(document) = found {
        return json(StatusCode::OK, document, &[]);
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return KubeError::no_route().into_response(),
    };
    let Some((target, sub)) = parse_target(group, version, rest) else {
        return KubeError::no_route().into_response();
    };
    match call(
        app,
        key,
        cluster,
        parts,
        &query,
        target,
        sub.as_deref(),
        &body,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `[namespaces/{ns}/]{plural}[/{name}[/{sub}]]`, for the resources served.
fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<(Target, Option<String>)> {
    let find = |plural: &str| resources::find(group, version, plural);
    let (namespace, rest): (Option<String>, &[&str]) = match rest {
        ["namespaces", ns, plural, ..] if find(plural).is_some_and(|r| r.namespaced) => {
            (Some((*ns).to_string()), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return None,
    };
    let resource = find(plural)?;
    if let Some(sub) = sub {
        if !resource.subresources.contains(&sub) {
            return None;
        }
    }
    // A namespaced object is only addressed inside its namespace.
    if resource.namespaced && name.is_some() && namespace.is_none() {
        return None;
    }
    Some((
        Target {
            resource,
            namespace,
            name: name.map(str::to_string),
        },
        sub.map(str::to_string),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn call(
    app: &Arc<App>,
    key: &str,
    cluster: &str,
    parts: &axum::http::request::Parts,
    query: &Query,
    target: Target,
    sub: Option<&str>,
    body: &[u8],
) -> KubeResult<Response> {
    let method = parts.method.clone();
    if sub == Some("log") {
        if method != Method::GET {
            return Err(KubeError::method_not_allowed(method.as_str()));
        }
        return pod_log(app, key, &target, query).await;
    }
    if method == Method::GET && target.name.is_none() && query.flag("watch") {
        return Ok(watch::watch(
            app.clone(),
            key.to_string(),
            target,
            Query {
                pairs: query.pairs.clone(),
            },
        ));
    }
    let mut content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let decoded;
    let body = if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        let object = protobuf::decode_object(body).map_err(|e| {
            KubeError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                e,
            )
        })?;
        decoded = object.to_string().into_bytes();
        content_type = "application/json".into();
        decoded.as_slice()
    } else {
        body
    };
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let timing = pods::Timing {
        start_ms: app.pod_start_ms.load(Ordering::Relaxed),
        run_ms: app.pod_run_ms.load(Ordering::Relaxed),
    };
    let status_only = sub == Some("status");
    let answer: KubeResult<Answer> = app.with_state(|state, now_ms| {
        let State {
            clusters,
            pod_scripts,
            ..
        } = state;
        let Some(record) = clusters.get_mut(key) else {
            return Err(KubeError::no_route());
        };
        let store = &mut record.kubernetes;
        let mut ctx = Ctx {
            now_ms,
            cluster,
            scripts: pod_scripts,
            timing,
            query,
            user_agent: &user_agent,
        };
        let named = target.name.is_some();
        let answer = match (method.as_str(), named) {
            ("GET", false) => objects::list(store, &target, query),
            ("POST", false) => objects::create(store, &mut ctx, &target, body),
            ("DELETE", false) => objects::delete_collection(store, &ctx, &target),
            ("GET", true) => objects::get(store, &target),
            ("PUT", true) => objects::replace(store, &mut ctx, &target, body, status_only),
            ("PATCH", true) => {
                objects::patch(store, &mut ctx, &target, &content_type, body, status_only)
            }
            ("DELETE", true) => objects::delete(store, &ctx, &target, body),
            (other, _) => Err(KubeError::method_not_allowed(other)),
        }?;
        // Kinds the emulator moves along (pods, DaemonSets) answer with their status caught up.
        pods::settle(store, now_ms);
        daemonsets::settle(store);
        Ok(answer)
    });
    let answer = answer?;
    Ok(json(answer.status, answer.body, &answer.warnings))
}

async fn pod_log(
    app: &Arc<App>,
    key: &str,
    target: &Target,
    query: &Query,
) -> KubeResult<Response> {
    let name = target.name.clone().unwrap_or_default();
    let follow = query.flag("follow");
    let deadline = Instant::now() + FOLLOW_LIMIT;
    loop {
        let read = app.with_state(|state, _| {
            let store = &state
                .clusters
                .get(key)
                .ok_or_else(KubeError::no_route)?
                .kubernetes;
            let pod = store
                .get(
                    target.resource,
                    target.namespace.as_deref().unwrap_or_default(),
                    &name,
                )
                .ok_or_else(|| KubeError::not_found(target.resource, &name))?;
            let tail = query.get("tailLines").and_then(|t| t.parse().ok());
            let text = pods::log(store, pod, query.get("container"), tail);
            Ok::<_, KubeError>((text, pods::finished(pod)))
        })?;
        let (text, finished) = read;
        // Following waits for the containers to stop, then sends everything they printed.
        let waiting = follow && !finished && Instant::now() < deadline;
        if !waiting {
            return text.map(|t| ([(header::CONTENT_TYPE, "text/plain")], t).into_response());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
