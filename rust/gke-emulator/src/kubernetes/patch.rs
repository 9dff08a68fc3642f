//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes' strategic
//! merge patch, whose lists of named things (containers, env, volumes…) merge by key.

use serde_json::{Map, Value};

/// The key that identifies items of a list field in a strategic merge (Kubernetes' `patchMergeKey`),
/// None for lists that are replaced whole.
pub fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" => "containerPort",
        "hostAliases" => "ip",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists of scalars that a strategic merge unions rather than replaces.
fn merges_scalars(field: &str) -> bool {
    field == "finalizers"
}

pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Applies a strategic merge patch, honouring `$patch`, `$retainKeys`, `$setElementOrder/…` and
/// `$deleteFromPrimitiveList/…` as kubectl sends them.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            *target = Value::Object(replaced);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other}")),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        map.retain(|k, _| keep.contains(&k.as_str()) || patch.contains_key(k));
    }
    for (key, value) in patch {
        if key.starts_with('$') && !key.starts_with("$deleteFromPrimitiveList/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (map.get_mut(field), value.as_array())
            {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if value.is_null() {
            map.remove(key);
            continue;
        }
        let slot = map.entry(key.clone()).or_insert(Value::Null);
        match value {
            Value::Array(items) => merge_list(slot, items, key)?,
            Value::Object(_) => strategic_merge(slot, value)?,
            _ => *slot = value.clone(),
        }
    }
    Ok(())
}

fn merge_list(slot: &mut Value, items: &[Value], field: &str) -> Result<(), String> {
    if merges_scalars(field) {
        let mut merged = slot.as_array().cloned().unwrap_or_default();
        for item in items {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        *slot = Value::Array(merged);
        return Ok(());
    }
    let Some(key) = merge_key(field).filter(|_| items.iter().all(Value::is_object)) else {
        *slot = Value::Array(items.to_vec());
        return Ok(());
    };
    if items.iter().any(|i| i["$patch"] == "replace") {
        *slot = Value::Array(
            items
                .iter()
                .filter(|i| i["$patch"] != "replace")
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    let mut merged = slot.as_array().cloned().unwrap_or_default();
    for item in items {
        let position = merged.iter().position(|m| m[key] == item[key]);
        if item["$patch"] == "delete" {
            if let Some(at) = position {
                merged.remove(at);
            }
            continue;
        }
        match position {
            Some(at) => strategic_merge(&mut merged[at], item)?,
            None => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item)?;
                merged.push(fresh);
            }
        }
    }
    *slot = Value::Array(merged);
    Ok(())
}

/// RFC 6902: add, remove, replace, move, copy, test.
pub fn json_patch(target: &mut Value, operations: &Value) -> Result<(), String> {
    let operations = operations
        .as_array()
        .ok_or("a JSON patch must be a list of operations")?;
    for op in operations {
        let path = op["path"].as_str().ok_or("each operation needs a path")?;
        match op["op"].as_str() {
            Some("add") => add(target, path, op["value"].clone())?,
            Some("remove") => {
                remove(target, path)?;
            }
            Some("replace") => {
                remove(target, path)?;
                add(target, path, op["value"].clone())?;
            }
            Some("move") => {
                let from = op["from"].as_str().ok_or("move needs from")?;
                let value = remove(target, from)?;
                add(target, path, value)?;
            }
            Some("copy") => {
                let from = op["from"].as_str().ok_or("copy needs from")?;
                let value = target
                    .pointer(from)
                    .cloned()
                    .ok_or(format!("no value at {from}"))?;
                add(target, path, value)?;
            }
            Some("test") => {
                if target.pointer(path) != Some(&op["value"]) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected kind of operation: {other:?}")),
        }
    }
    Ok(())
}

fn split(path: &str) -> Result<(String, String), String> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or(format!("invalid path {path}"))?;
    Ok((
        parent.to_string(),
        last.replace("~1", "/").replace("~0", "~"),
    ))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match target.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(list)) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse()
                    .map_err(|_| format!("invalid index in {path}"))?
            };
            if index > list.len() {
                return Err(format!("index out of range in {path}"));
            }
            list.insert(index, value);
            Ok(())
        }
        _ => Err(format!("doc is missing path: \"{path}\"")),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split(path)?;
    let missing = || format!("doc is missing path: \"{path}\"");
    match target.pointer_mut(&parent) {
        Some(Value::Object(map)) => map.remove(&last).ok_or_else(missing),
        Some(Value::Array(list)) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            (index < list.len())
                .then(|| list.remove(index))
                .ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name_and_honours_directives() {
        let mut live = json!({"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}]},
                                                      {"name": "b", "image": "y"}],
                                       "tolerations": [{"key": "k"}]},
                              "metadata": {"labels": {"keep": "1", "drop": "2"}, "finalizers": ["f1"]}});
        let patch = json!({"spec": {"containers": [{"name": "a", "image": "z", "env": [{"name": "F", "value": "2"}]},
                                                   {"name": "b", "$patch": "delete"}],
                                    "$setElementOrder/containers": [{"name": "a"}],
                                    "tolerations": [{"key": "t"}]},
                           "metadata": {"labels": {"drop": null}, "finalizers": ["f2"]}});
        strategic_merge(&mut live, &patch).unwrap();
        assert_eq!(
            live,
            json!({"spec": {"containers": [{"name": "a", "image": "z", "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]}],
                                         "tolerations": [{"key": "t"}]},
                                "metadata": {"labels": {"keep": "1"}, "finalizers": ["f1", "f2"]}})
        );
    }

    #[test]
    fn json_patch_and_merge_patch() {
        let mut v = json!({"a": {"b": [1, 2]}, "c": 1});
        json_patch(
            &mut v,
            &json!([{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "remove", "path": "/c"},
                                   {"op": "replace", "path": "/a/b/0", "value": 0}]),
        )
        .unwrap();
        assert_eq!(v, json!({"a": {"b": [0, 2, 3]}}));
        assert!(json_patch(
            &mut v,
            &json!([{"op": "test", "path": "/a/b/0", "value": 9}])
        )
        .is_err());
        merge_patch(&mut v, &json!({"a": {"b": null, "d": "e"}}));
        assert_eq!(v, json!({"a": {"d": "e"}}));
    }
}
