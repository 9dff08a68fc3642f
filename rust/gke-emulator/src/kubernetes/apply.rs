//! Server-side apply (PATCH `application/apply-patch+yaml` with a `fieldManager`): the applied
//! configuration is merged into the live object, fields the same manager applied before and no
//! longer sends are removed, and each manager's fields are recorded in `managedFields`
//! (`FieldsV1`, the real server's format).

use serde_json::{json, Map, Value};

use super::patch::merge_key;

/// The live object after `manager` applies `applied` (a create when `live` is None).
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    time: &str,
) -> Value {
    let new_fields = fieldset(applied, "");
    let mut result = match live {
        None => Value::Object(Map::new()),
        Some(live) => {
            let mut pruned = live.clone();
            if let Some(old) = owned_fields(live, manager) {
                prune(&mut pruned, &old, &new_fields);
            }
            pruned
        }
    };
    merge(&mut result, applied);
    let mut entries: Vec<Value> = live
        .and_then(|l| l["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !(e["manager"] == manager && e["operation"] == "Apply"))
        .collect();
    let unchanged = live.is_some_and(|l| {
        let mut before = l.clone();
        let mut after = result.clone();
        before["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
        after["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
        before == after && owned_fields(l, manager).as_ref() == Some(&new_fields)
    });
    if unchanged {
        return live.cloned().expect("checked above");
    }
    entries.push(json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": new_fields,
    }));
    result["metadata"]["managedFields"] = Value::from(entries);
    result
}

/// Records that `manager` wrote `sent` with a non-apply operation (`Update`).
pub fn record_update(
    object: &mut Value,
    sent: &Value,
    manager: &str,
    api_version: &str,
    time: &str,
) {
    let mut entries: Vec<Value> = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !(e["manager"] == manager && e["operation"] == "Update"))
        .collect();
    let mut fields = fieldset(sent, "");
    if let Some(metadata) = fields.get_mut("f:metadata").and_then(Value::as_object_mut) {
        for server_set in [
            "f:uid",
            "f:resourceVersion",
            "f:creationTimestamp",
            "f:generation",
            "f:managedFields",
            "f:name",
            "f:namespace",
        ] {
            metadata.remove(server_set);
        }
    }
    if let Some(map) = fields.as_object_mut() {
        map.remove("f:apiVersion");
        map.remove("f:kind");
        if map
            .get("f:metadata")
            .is_some_and(|m| m.as_object().is_some_and(Map::is_empty))
        {
            map.remove("f:metadata");
        }
    }
    entries.push(json!({
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }));
    object["metadata"]["managedFields"] = Value::from(entries);
}

fn owned_fields(live: &Value, manager: &str) -> Option<Value> {
    live["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
        .map(|e| e["fieldsV1"].clone())
}

/// The FieldsV1 set of an applied object: `f:name` for fields, `k:{"name":"x"}` for items of
/// keyed lists, lists without a key owned whole.
fn fieldset(value: &Value, field: &str) -> Value {
    match value {
        Value::Object(map) => {
            let mut set = Map::new();
            for (key, child) in map {
                if matches!(key.as_str(), "apiVersion" | "kind") && field.is_empty() {
                    continue;
                }
                set.insert(format!("f:{key}"), fieldset(child, key));
            }
            Value::Object(set)
        }
        Value::Array(items) => match merge_key(field) {
            Some(key) if items.iter().all(|i| !i[key].is_null()) => {
                let mut set = Map::new();
                for item in items {
                    let mut entry = fieldset(item, "");
                    entry
                        .as_object_mut()
                        .map(|m| m.insert(".".into(), json!({})));
                    set.insert(format!("k:{}", json!({key: item[key]})), entry);
                }
                Value::Object(set)
            }
            _ => json!({}),
        },
        _ => json!({}),
    }
}

/// Removes from `live` what `old` owned and `new` no longer does.
fn prune(live: &mut Value, old: &Value, new: &Value) {
    let Some(old) = old.as_object() else { return };
    for (name, old_child) in old {
        if name == "." {
            continue;
        }
        let new_child = &new[name];
        if let Some(field) = name.strip_prefix("f:") {
            if new_child.is_null() {
                live.as_object_mut().map(|m| m.remove(field));
            } else if let Some(child) = live.get_mut(field) {
                prune(child, old_child, new_child);
            }
        } else if let Some(key) = name.strip_prefix("k:") {
            let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
                continue;
            };
            let Some(items) = live.as_array_mut() else {
                continue;
            };
            let matches = |item: &Value| key.iter().all(|(k, v)| item[k] == *v);
            if new_child.is_null() {
                items.retain(|i| !matches(i));
            } else if let Some(item) = items.iter_mut().find(|i| matches(i)) {
                prune(item, old_child, new_child);
            }
        }
    }
}

/// Merges the applied configuration: maps recursively, keyed lists by key, other lists whole.
fn merge(target: &mut Value, applied: &Value) {
    merge_field(target, applied, "");
}

fn merge_field(target: &mut Value, applied: &Value, field: &str) {
    match applied {
        Value::Object(map) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let live = target.as_object_mut().expect("made an object above");
            for (key, value) in map {
                if value.is_null() {
                    live.remove(key);
                } else {
                    merge_field(live.entry(key.clone()).or_insert(Value::Null), value, key);
                }
            }
        }
        Value::Array(items) => match merge_key(field) {
            Some(key) if items.iter().all(|i| !i[key].is_null()) => {
                let mut merged = target.as_array().cloned().unwrap_or_default();
                for item in items {
                    match merged.iter_mut().find(|m| m[key] == item[key]) {
                        Some(existing) => merge_field(existing, item, ""),
                        None => merged.push(item.clone()),
                    }
                }
                *target = Value::Array(merged);
            }
            _ => *target = applied.clone(),
        },
        _ => *target = applied.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reapplying_without_a_field_removes_it_and_keeps_others_fields() {
        let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}});
        let live = apply(None, &first, "me", "v1", "t");
        assert_eq!(
            live["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["f:a"],
            json!({})
        );
        let mut live = live;
        live["metadata"]["labels"]["other"] = json!("kept");
        let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "2"}});
        let after = apply(Some(&live), &second, "me", "v1", "t");
        assert_eq!(
            after["metadata"]["labels"],
            json!({"a": "1", "other": "kept"})
        );
        assert_eq!(after["data"], json!({"x": "2"}));
        let again = apply(Some(&after), &second, "me", "v1", "t2");
        assert_eq!(again, after, "a repeated apply changes nothing");
    }

    #[test]
    fn containers_are_owned_by_name() {
        let ds = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}]}}}});
        let set = fieldset(&ds, "");
        assert_eq!(
            set["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"a\"}"]["f:args"],
            json!({})
        );
    }
}
