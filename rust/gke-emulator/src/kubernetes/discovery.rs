//! Discovery (`/version`, `/api`, `/apis`, each group version's resource list) and the OpenAPI
//! documents kubectl reads: v3 tells it the server validates fields itself (so it sends
//! `fieldValidation=Strict` instead of validating client-side), v2 is the minimal document older
//! kubectl (1.20) insists on downloading before it validates.

use serde_json::{json, Map, Value};

use super::resources::{self, group_version, Resource, RESOURCES, VERBS};

pub fn version(cluster_version: &str) -> Value {
    let minor = cluster_version.split('.').nth(1).unwrap_or("33");
    json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "gitVersion": format!("v{cluster_version}"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-09-01T00:00:00Z",
        "goVersion": "go1.24.6 X:boringcrypto",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}],
    })
}

fn group(name: &str) -> Value {
    let version = json!({"groupVersion": group_version(name, "v1"), "version": "v1"});
    json!({"name": name, "versions": [version], "preferredVersion": version})
}

pub fn api_groups() -> Value {
    let groups: Vec<Value> = resources::groups().into_iter().map(group).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, None for a group not served.
pub fn api_group(name: &str) -> Option<Value> {
    resources::groups().contains(&name).then(|| {
        let mut g = group(name);
        g["kind"] = Value::from("APIGroup");
        g["apiVersion"] = Value::from("v1");
        g
    })
}

/// `/api/v1` or `/apis/{group}/{version}`, None for a group version not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in served {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
            "storageVersionHash": format!("{:x}", r.kind.len() * 7919),
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if r.kind == "Pod" || r.kind == "DaemonSet" {
            entry["categories"] = json!(["all"]);
        }
        list.push(entry);
        for sub in r.subresources {
            let verbs: &[&str] = if *sub == "log" {
                &["get"]
            } else {
                &["get", "patch", "update"]
            };
            list.push(json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": if *sub == "log" { "Pod" } else { r.kind },
                "verbs": verbs,
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": list,
    }))
}

/// Where each group version's OpenAPI v3 document is, as `/openapi/v3` lists them.
pub fn openapi_v3_index() -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions() {
        let path = gv_path(group, version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", hash(&path))}),
        );
    }
    json!({"paths": paths})
}

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs = vec![("", "v1")];
    for g in resources::groups() {
        gvs.push((g, "v1"));
    }
    gvs
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn hash(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016X}")
}

/// One group version's OpenAPI v3 document (`/openapi/v3/api/v1`): paths with the operations,
/// the group-version-kind extension and the `fieldValidation` parameter kubectl looks for. It
/// carries no schemas: kubectl then builds strategic merge patches from its built-in types.
pub fn openapi_v3_group_version(path: &str) -> Option<Value> {
    let (group, version) = group_versions()
        .into_iter()
        .find(|(g, v)| gv_path(g, v) == path.trim_matches('/'))?;
    let mut paths = Map::new();
    let params = json!([
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
    ]);
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let operation = |action: &str| {
            json!({
                "operationId": format!("{action}{}", r.kind),
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            })
        };
        let base = if r.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}",
                gv_path(group, version),
                r.plural
            )
        } else {
            format!("/{}/{}", gv_path(group, version), r.plural)
        };
        paths.insert(
            base.clone(),
            json!({"get": operation("list"), "post": operation("post")}),
        );
        paths.insert(
            format!("{base}/{{name}}"),
            json!({"get": operation("get"), "put": operation("put"), "patch": operation("patch"), "delete": operation("delete")}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.5"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// The OpenAPI v2 document as protobuf (`openapi_v2.Document` with only `swagger: "2.0"`): no
/// definitions, so kubectl skips client-side schema validation and leaves it to the server.
pub fn openapi_v2_protobuf() -> Vec<u8> {
    let mut document = vec![0x0a, 3];
    document.extend_from_slice(b"2.0");
    document
}

pub fn openapi_v2_json() -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.5"}, "paths": {}, "definitions": {}})
}
