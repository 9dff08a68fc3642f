//! `?watch=1`: a stream of `{"type", "object"}` lines, replaying changes after the given
//! resourceVersion (or the current objects as ADDED) and then following the store by polling it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::objects::{matching, selectors, Query, Target};
use super::selectors::Selector;
use super::status::KubeError;
use super::store::{self, Store};
use crate::server::App;

/// How often a watch looks for changes.
const POLL: Duration = Duration::from_millis(100);
/// Longest a watch lasts when the client sets no `timeoutSeconds` (the API server picks 30–60 min).
const DEFAULT_TIMEOUT: u64 = 1800;

struct Filter {
    resource: &'static str,
    namespace: Option<String>,
    labels: Selector,
    fields: Selector,
}

impl Filter {
    fn keeps(&self, object: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| store::namespace_of(object) == ns)
            && self.labels.matches_labels(object)
            && self.fields.matches_fields(object)
    }
}

struct Watch {
    app: Arc<App>,
    cluster: String,
    filter: Filter,
    last: u64,
    pending: VecDeque<Value>,
    deadline: Instant,
    done: bool,
}

fn event(kind: &str, object: Value) -> Value {
    json!({"type": kind, "object": object})
}

/// The first events and the version they bring the client to, or the 410 of a version too old.
fn start(
    store: &Store,
    target: &Target,
    query: &Query,
    filter: &Filter,
) -> Result<(Vec<Value>, u64), KubeError> {
    let since = query
        .get("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
        .and_then(|v| v.parse::<u64>().ok());
    match since {
        None => {
            let objects = matching(store, target, query)?;
            Ok((
                objects
                    .into_iter()
                    .map(|o| event("ADDED", o.clone()))
                    .collect(),
                store.resource_version,
            ))
        }
        Some(version) => match store.events_since(filter.resource, version) {
            Some(events) => Ok((
                events
                    .into_iter()
                    .filter(|e| filter.keeps(&e.object))
                    .map(|e| event(e.kind, e.object))
                    .collect(),
                store.resource_version.max(version),
            )),
            None => Err(KubeError::gone(format!(
                "too old resource version: {version} ({})",
                store.resource_version
            ))),
        },
    }
}

pub fn watch(app: Arc<App>, cluster: String, target: Target, query: Query) -> Response {
    let (labels, fields) = match selectors(&query) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let filter = Filter {
        resource: target.resource.plural,
        namespace: target
            .namespace
            .clone()
            .filter(|_| target.resource.namespaced),
        labels,
        fields,
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(DEFAULT_TIMEOUT);
    let started = app.with_state(|state, _| {
        state
            .clusters
            .get(&cluster)
            .map(|record| start(&record.kubernetes, &target, &query, &filter))
    });
    let (pending, last) = match started {
        None => return KubeError::no_route().into_response(),
        Some(Ok(start)) => start,
        // A watch too far behind gets an ERROR event carrying 410, which clients answer by listing again.
        Some(Err(gone)) => (vec![event("ERROR", gone.to_json())], u64::MAX),
    };
    let watch = Watch {
        app,
        cluster,
        filter,
        last,
        done: last == u64::MAX,
        pending: pending.into(),
        deadline: Instant::now() + Duration::from_secs(timeout),
    };
    let stream = futures_util::stream::unfold(watch, next);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn next(mut watch: Watch) -> Option<(Result<Bytes, std::io::Error>, Watch)> {
    loop {
        if let Some(event) = watch.pending.pop_front() {
            let mut line = event.to_string();
            line.push('\n');
            return Some((Ok(Bytes::from(line)), watch));
        }
        if watch.done || Instant::now() >= watch.deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
        let (last, filter, cluster) = (watch.last, &watch.filter, &watch.cluster);
        let polled = watch.app.with_state(|state, _| {
            let record = state.clusters.get(cluster)?;
            Some((
                record.kubernetes.events_since(filter.resource, last),
                record.kubernetes.resource_version,
            ))
        });
        match polled {
            None => return None,
            Some((None, _)) => {
                let gone = KubeError::gone(format!("too old resource version: {last}"));
                watch.pending.push_back(event("ERROR", gone.to_json()));
                watch.done = true;
            }
            Some((Some(events), version)) => {
                for e in events.into_iter().filter(|e| watch.filter.keeps(&e.object)) {
                    watch.pending.push_back(event(e.kind, e.object));
                }
                watch.last = version;
            }
        }
    }
}
