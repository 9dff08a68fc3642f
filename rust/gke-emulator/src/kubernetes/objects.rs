//! The generic verbs on stored objects: create, get, list, replace, patch, apply, delete and
//! deletecollection, with the API server's checks (namespace, name, resourceVersion, field
//! validation) and the hooks some kinds need (a pod's run, a namespace's default account).

use axum::http::StatusCode;
use serde_json::Value;

use super::apply;
use super::defaults;
use super::patch;
use super::pods::{self, PodScript, Timing};
use super::resources::{by_plural, Resource};
use super::seed;
use super::selectors::Selector;
use super::status::{KubeError, KubeResult};
use super::store::{self, k8s_time, list_object, Store};
use super::validation::{self, FieldValidation};

/// Everything a verb needs besides the store.
pub struct Ctx<'a> {
    pub now_ms: u64,
    pub cluster: &'a str,
    pub scripts: &'a mut Vec<PodScript>,
    pub timing: Timing,
    pub query: &'a Query,
    /// The client's user agent, which names the field manager when the query does not.
    pub user_agent: &'a str,
}

/// The query parameters the verbs read.
#[derive(Debug, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true"))
    }

    fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a call points: a resource, maybe a namespace, maybe an object.
pub struct Target {
    pub resource: &'static Resource,
    /// None lists across all namespaces (or is cluster-scoped).
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Target {
    fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// A verb's answer: HTTP status, body, and warnings for the `Warning` header.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub warnings: Vec<String>,
}

impl Answer {
    fn ok(body: Value) -> KubeResult<Answer> {
        Ok(Answer {
            status: StatusCode::OK,
            body,
            warnings: Vec::new(),
        })
    }
}

fn parse_json(body: &[u8]) -> KubeResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| KubeError::bad_request(format!("error decoding the body as JSON: {e}")))
}

fn field_manager(ctx: &Ctx, default_suffix: &str) -> String {
    match ctx.query.get("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            let agent = ctx.user_agent.split('/').next().unwrap_or_default();
            if agent.is_empty() {
                format!("unknown{default_suffix}")
            } else {
                agent.to_string()
            }
        }
    }
}

fn require_namespace(store: &Store, target: &Target) -> KubeResult<()> {
    if target.resource.namespaced
        && store
            .get(by_plural("namespaces"), "", target.namespace())
            .is_none()
    {
        return Err(KubeError::not_found(
            by_plural("namespaces"),
            target.namespace(),
        ));
    }
    Ok(())
}

/// Decodes a sent object and checks it belongs where the path says.
fn incoming(target: &Target, object: &Value, ctx: &Ctx) -> KubeResult<(Value, Vec<String>)> {
    let mode = FieldValidation::parse(ctx.query.get("fieldValidation"))?;
    let (mut object, warnings) = validation::decode(target.resource, object, mode)?;
    if target.resource.namespaced {
        match object["metadata"]["namespace"].as_str() {
            None | Some("") => object["metadata"]["namespace"] = Value::from(target.namespace()),
            Some(ns) if ns == target.namespace() => {}
            Some(_) => {
                return Err(KubeError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
        }
    } else if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("namespace");
    }
    Ok((object, warnings))
}

pub fn create(
    store: &mut Store,
    ctx: &mut Ctx,
    target: &Target,
    body: &[u8],
) -> KubeResult<Answer> {
    let sent = parse_json(body)?;
    let (mut object, warnings) = incoming(target, &sent, ctx)?;
    let resource = target.resource;
    if object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        if let Some(prefix) = object["metadata"]["generateName"]
            .as_str()
            .filter(|p| !p.is_empty())
        {
            let name = format!("{prefix}{}", suffix(store.resource_version + ctx.now_ms));
            object["metadata"]["name"] = Value::from(name);
        }
    }
    defaults::apply(resource.kind, &mut object);
    validation::check(resource, &object)?;
    require_namespace(store, target)?;
    let name = store::name_of(&object).to_string();
    if store.get(resource, target.namespace(), &name).is_some() {
        return Err(KubeError::already_exists(resource, &name));
    }
    let manager = field_manager(ctx, "");
    apply::record_update(
        &mut object,
        &sent,
        &manager,
        &resource.api_version(),
        &k8s_time(ctx.now_ms),
    );
    Ok(store_new(store, ctx, resource, object, warnings))
}

/// Answers 201 with a new object, stored and started (pods admitted, a namespace's service account
/// made) unless this is a dry run.
fn store_new(
    store: &mut Store,
    ctx: &mut Ctx,
    resource: &'static Resource,
    object: Value,
    warnings: Vec<String>,
) -> Answer {
    let body = if ctx.query.dry_run() {
        object
    } else {
        let stored = store.create(resource, object, ctx.now_ms);
        match resource.kind {
            "Pod" => pods::admit(
                store,
                ctx.scripts,
                ctx.cluster,
                &stored,
                ctx.timing,
                ctx.now_ms,
            ),
            "Namespace" => seed::service_account_for(store, store::name_of(&stored), ctx.now_ms),
            _ => {}
        }
        stored
    };
    Answer {
        status: StatusCode::CREATED,
        body,
        warnings,
    }
}

/// Five characters of `[a-z0-9]` for `generateName`, as the API server appends.
fn suffix(seed: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (seed >> 29);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

pub fn get(store: &Store, target: &Target) -> KubeResult<Answer> {
    let name = target.name.as_deref().unwrap_or_default();
    match store.get(target.resource, target.namespace(), name) {
        Some(object) => Answer::ok(object.clone()),
        None => Err(KubeError::not_found(target.resource, name)),
    }
}

/// The selectors of a list or watch call.
pub fn selectors(query: &Query) -> KubeResult<(Selector, Selector)> {
    Ok((
        Selector::labels(query.get("labelSelector").unwrap_or_default())?,
        Selector::fields(query.get("fieldSelector").unwrap_or_default())?,
    ))
}

pub fn matching<'a>(
    store: &'a Store,
    target: &'a Target,
    query: &Query,
) -> KubeResult<Vec<&'a Value>> {
    let (labels, fields) = selectors(query)?;
    let namespace = target
        .namespace
        .as_deref()
        .filter(|_| target.resource.namespaced);
    Ok(store
        .list(target.resource, namespace)
        .filter(|o| labels.matches_labels(o) && fields.matches_fields(o))
        .collect())
}

pub fn list(store: &Store, target: &Target, query: &Query) -> KubeResult<Answer> {
    let items: Vec<Value> = matching(store, target, query)?
        .into_iter()
        .map(|o| {
            // Items of a list carry no kind or apiVersion, as the API server sends them.
            let mut item = o.clone();
            if let Some(map) = item.as_object_mut() {
                map.remove("kind");
                map.remove("apiVersion");
            }
            item
        })
        .collect();
    Answer::ok(list_object(target.resource, items, store.resource_version))
}

/// Kinds whose `status` only changes through the status subresource (or the emulator).
fn has_status_subresource(resource: &Resource) -> bool {
    matches!(resource.kind, "Pod" | "DaemonSet" | "Node" | "Namespace")
}

/// PUT: the whole object, guarded by its resourceVersion when one is sent.
pub fn replace(
    store: &mut Store,
    ctx: &mut Ctx,
    target: &Target,
    body: &[u8],
    status_only: bool,
) -> KubeResult<Answer> {
    let sent = parse_json(body)?;
    let (object, warnings) = incoming(target, &sent, ctx)?;
    let name = target.name.as_deref().unwrap_or_default();
    if store::name_of(&object) != name {
        return Err(KubeError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            store::name_of(&object)
        )));
    }
    let Some(current) = store
        .get(target.resource, target.namespace(), name)
        .cloned()
    else {
        return Err(KubeError::not_found(target.resource, name));
    };
    let sent_version = object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !sent_version.is_empty() && sent_version != current["metadata"]["resourceVersion"] {
        return Err(KubeError::conflict(target.resource, name));
    }
    let mut updated = object;
    merge_server_fields(&current, &mut updated, target.resource, status_only);
    let manager = field_manager(ctx, "");
    apply::record_update(
        &mut updated,
        &sent,
        &manager,
        &target.resource.api_version(),
        &k8s_time(ctx.now_ms),
    );
    finish_update(store, ctx, target, current, updated, warnings)
}

/// Keeps what a write through the main resource (or the status subresource) may not change.
fn merge_server_fields(
    current: &Value,
    updated: &mut Value,
    resource: &Resource,
    status_only: bool,
) {
    if status_only {
        let status = updated["status"].clone();
        *updated = current.clone();
        updated["status"] = status;
    } else if has_status_subresource(resource) {
        updated["status"] = current["status"].clone();
        if updated["status"].is_null() {
            updated.as_object_mut().map(|m| m.remove("status"));
        }
    }
    if updated["metadata"]["managedFields"].is_null() {
        updated["metadata"]["managedFields"] = current["metadata"]["managedFields"].clone();
    }
}

/// Answers 200 with an updated object, stored unless this is a dry run; a pod may only change
/// what Kubernetes lets change.
fn finish_update(
    store: &mut Store,
    ctx: &Ctx,
    target: &Target,
    current: Value,
    mut updated: Value,
    warnings: Vec<String>,
) -> KubeResult<Answer> {
    let resource = target.resource;
    if resource.kind == "Namespace" {
        updated["status"] = current["status"].clone();
    }
    if resource.kind == "Pod" && updated["spec"] != current["spec"] {
        let allowed = {
            let mut a = updated["spec"].clone();
            let b = &current["spec"];
            a["activeDeadlineSeconds"] = b["activeDeadlineSeconds"].clone();
            a["tolerations"] = b["tolerations"].clone();
            for (i, c) in a["containers"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .enumerate()
            {
                c["image"] = b["containers"][i]["image"].clone();
            }
            &a == b
        };
        if !allowed {
            let name = store::name_of(&current);
            return Err(KubeError::invalid(resource, name, &[(
                "spec".into(),
                "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)".into(),
            )]));
        }
    }
    validation::check(resource, &updated)?;
    let body = if ctx.query.dry_run() {
        updated
    } else {
        store.update(resource, updated)
    };
    Ok(Answer {
        status: StatusCode::OK,
        body,
        warnings,
    })
}

/// PATCH in its four content types; an apply patch to an absent object creates it.
pub fn patch(
    store: &mut Store,
    ctx: &mut Ctx,
    target: &Target,
    content_type: &str,
    body: &[u8],
    status_only: bool,
) -> KubeResult<Answer> {
    let name = target.name.as_deref().unwrap_or_default();
    let resource = target.resource;
    let kind = content_type.split(';').next().unwrap_or_default().trim();
    let current = store.get(resource, target.namespace(), name).cloned();
    if kind == "application/apply-patch+yaml" {
        let applied = parse_apply_body(body)?;
        let Some(manager) = ctx
            .query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .map(str::to_string)
        else {
            return Err(KubeError::bad_request(
                "PATCH, application/apply-patch+yaml requires fieldManager to be set",
            ));
        };
        let (mut applied, warnings) = incoming(target, &applied, ctx)?;
        if store::name_of(&applied) != name {
            return Err(KubeError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                store::name_of(&applied)
            )));
        }
        applied["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
        let time = k8s_time(ctx.now_ms);
        let result = apply::apply(
            current.as_ref(),
            &applied,
            &manager,
            &resource.api_version(),
            &time,
        );
        return match current {
            None => {
                let mut object = result;
                defaults::apply(resource.kind, &mut object);
                validation::check(resource, &object)?;
                require_namespace(store, target)?;
                Ok(store_new(store, ctx, resource, object, warnings))
            }
            Some(current) => {
                let mut updated = result;
                merge_server_fields(&current, &mut updated, resource, status_only);
                finish_update(store, ctx, target, current, updated, warnings)
            }
        };
    }
    let Some(current) = current else {
        return Err(KubeError::not_found(resource, name));
    };
    let patch_body = parse_json(body)?;
    let mut patched = current.clone();
    let applied = match kind {
        "application/merge-patch+json" => {
            patch::merge_patch(&mut patched, &patch_body);
            Ok(())
        }
        "application/strategic-merge-patch+json" => {
            patch::strategic_merge(&mut patched, &patch_body)
        }
        "application/json-patch+json" => patch::json_patch(&mut patched, &patch_body),
        other => return Err(KubeError::unsupported_media_type(other)),
    };
    applied.map_err(|e| KubeError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", e))?;
    let sent_version = patch_body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !sent_version.is_empty() && sent_version != current["metadata"]["resourceVersion"] {
        return Err(KubeError::conflict(resource, name));
    }
    let (mut updated, warnings) = incoming(target, &patched, ctx)?;
    if store::name_of(&updated) != name {
        return Err(KubeError::bad_request(
            "the name of an object cannot be changed by a patch",
        ));
    }
    merge_server_fields(&current, &mut updated, resource, status_only);
    if updated != current {
        let manager = field_manager(ctx, "");
        apply::record_update(
            &mut updated,
            &patch_body,
            &manager,
            &resource.api_version(),
            &k8s_time(ctx.now_ms),
        );
    }
    finish_update(store, ctx, target, current, updated, warnings)
}

/// Apply bodies are YAML by content type; clients (kubectl, kube) send its JSON subset.
fn parse_apply_body(body: &[u8]) -> KubeResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        KubeError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("gke-emulator reads apply patches written as JSON (the YAML that kubectl and kube send): {e}"),
        )
    })
}

/// DELETE: the object goes at once (no graceful termination), answered with its last state.
pub fn delete(store: &mut Store, ctx: &Ctx, target: &Target, body: &[u8]) -> KubeResult<Answer> {
    let name = target.name.as_deref().unwrap_or_default();
    let resource = target.resource;
    let Some(current) = store.get(resource, target.namespace(), name).cloned() else {
        return Err(KubeError::not_found(resource, name));
    };
    if !body.is_empty() {
        let options = parse_json(body)?;
        let want = &options["preconditions"]["resourceVersion"];
        if want.is_string() && *want != current["metadata"]["resourceVersion"] {
            return Err(KubeError::conflict(resource, name));
        }
        if let Some(policy) = options["propagationPolicy"].as_str() {
            if !matches!(policy, "Foreground" | "Background" | "Orphan") {
                return Err(KubeError::bad_request(format!("Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"")));
            }
        }
    }
    if ctx.query.dry_run() {
        return Answer::ok(current);
    }
    if resource.kind == "Namespace" {
        if matches!(name, "default" | "kube-system" | "kube-public") {
            return Err(KubeError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
            ));
        }
        for (inner, object) in store.keys_in_namespace(name) {
            store.remove(inner, name, &object);
        }
    }
    let mut removed = store
        .remove(resource, target.namespace(), name)
        .unwrap_or(current);
    removed["metadata"]["deletionTimestamp"] = Value::from(k8s_time(ctx.now_ms));
    removed["metadata"]["deletionGracePeriodSeconds"] = Value::from(0);
    Answer::ok(removed)
}

pub fn delete_collection(store: &mut Store, ctx: &Ctx, target: &Target) -> KubeResult<Answer> {
    let names: Vec<(String, String)> = matching(store, target, ctx.query)?
        .into_iter()
        .map(|o| {
            (
                store::namespace_of(o).to_string(),
                store::name_of(o).to_string(),
            )
        })
        .collect();
    let mut removed = Vec::new();
    if !ctx.query.dry_run() {
        for (namespace, name) in names {
            if let Some(object) = store.remove(target.resource, &namespace, &name) {
                removed.push(object);
            }
        }
    }
    Answer::ok(list_object(
        target.resource,
        removed,
        store.resource_version,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dx%2Ctier%21%3Dweb&watch=1&fieldSelector=status.phase%3DRunning",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=x,tier!=web"));
        assert!(q.flag("watch"));
        assert_eq!(q.get("fieldSelector"), Some("status.phase=Running"));
    }

    #[test]
    fn generated_suffixes_differ() {
        assert_ne!(suffix(1), suffix(2));
        assert_eq!(suffix(7).len(), 5);
    }
}
