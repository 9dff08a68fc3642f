//! Reading DSS's JSON configs into typed structs: blanks and nulls are "not set", and a value
//! of the wrong type becomes a `Problem` naming the parameter as the admin sees it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::Problem;

/// DSS sends `null` (or omits the key) for parameters the admin left empty; both mean "use
/// the default", which is what `#[serde(default)]` structs do with absent keys. INT params may
/// arrive as floats (`3.0`: DSS's form is JavaScript, and its docs say so): integral floats
/// become integers, which integer and float fields both accept.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::from(f as i64)
            }
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

/// Deserializes one DSS config (a preset's or a component's); `scope` prefixes field names in
/// problems, e.g. `node pool preset 'gpu'`.
pub fn parse<T: DeserializeOwned>(value: &Value, scope: &str) -> Result<T, Problem> {
    let cleaned = match value {
        Value::Null => Value::Object(Default::default()),
        v => normalized(v),
    };
    serde_path_to_error::deserialize(cleaned).map_err(|e| {
        let field = e.path().to_string();
        let what = e.into_inner().to_string();
        Problem::new(
            format!("{scope} › {field}"),
            format!("has the wrong type ({what})"),
        )
    })
}

/// As [`parse`], for a DSS form: a wrong type is named by the field's label in `descriptor`
/// (the component's or parameter set's JSON, whose `params` name and label each field), as
/// the admin sees it, e.g. `node pool 'gpu' › Number of nodes`; no `scope` for the cluster
/// form itself, whose problems name bare labels.
pub fn parse_form<T: DeserializeOwned>(
    value: &Value,
    scope: Option<&str>,
    descriptor: &str,
) -> Result<T, Problem> {
    let named = |label: String| match scope {
        Some(scope) => format!("{scope} › {label}"),
        None => label,
    };
    if let Some((name, label)) = control_characters(value, descriptor) {
        return Err(Problem::new(
            named(label),
            format!("holds a control character (a line break, tab or NUL) in '{name}': a value of one line is expected; remove it"),
        ));
    }
    parse(value, scope.unwrap_or("")).map_err(|p| {
        let path = p
            .field
            .rsplit_once(" › ")
            .map_or(p.field.as_str(), |(_, f)| f);
        let split = path.find(['.', '[']).unwrap_or(path.len());
        let (key, rest) = path.split_at(split);
        let label = label_of(descriptor, key).unwrap_or_else(|| key.to_string());
        Problem::new(named(format!("{label}{rest}")), p.message)
    })
}

/// The first single-line param of `descriptor` whose value in `config` holds a control
/// character, as `(name, label)`. TEXTAREA and PASSWORD params (a settings valve, a pasted key)
/// may span lines.
fn control_characters(config: &Value, descriptor: &str) -> Option<(String, String)> {
    fn has_control(v: &Value) -> bool {
        match v {
            Value::String(s) => s.chars().any(char::is_control),
            Value::Array(items) => items.iter().any(has_control),
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| k.chars().any(char::is_control) || has_control(v)),
            _ => false,
        }
    }
    let d: Value = serde_json::from_str(descriptor).ok()?;
    d["params"].as_array()?.iter().find_map(|p| {
        let name = p["name"].as_str()?;
        let multiline = matches!(
            p["type"].as_str(),
            Some("TEXTAREA" | "PASSWORD" | "PRESET" | "PRESETS")
        );
        (!multiline && config.get(name).is_some_and(has_control)).then(|| {
            (
                name.to_string(),
                p["label"].as_str().unwrap_or(name).to_string(),
            )
        })
    })
}

/// For a SELECT param of `descriptor`: why `value` is not one of its choices (None when it is,
/// or when the param is not a SELECT).
pub fn choice_problem(descriptor: &str, name: &str, value: &str) -> Option<String> {
    let d: Value = serde_json::from_str(descriptor).ok()?;
    let param = d["params"].as_array()?.iter().find(|p| p["name"] == name)?;
    let choices: Vec<&str> = param["selectChoices"]
        .as_array()?
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    (!choices.contains(&value)).then(|| format!("'{value}' is not one of {}", choices.join(", ")))
}

/// The label of the param named `name` in a descriptor's `params`.
fn label_of(descriptor: &str, name: &str) -> Option<String> {
    let d: Value = serde_json::from_str(descriptor).ok()?;
    d["params"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["label"].as_str())
        .map(str::to_string)
}

/// Keys a settings valve may not set, with what the admin should do instead: they are the
/// resource's identity or what the form itself decides, and changing them behind the form's
/// back would make start() look for one thing and create another.
pub type Reserved = &'static [(&'static str, &'static str)];

/// What a cluster's settings valve may not set.
pub const CLUSTER_RESERVED: Reserved = &[
    ("name", "set the GKE cluster name field"),
    ("location", "set the connection's zone or region"),
    ("zone", "set the connection's zone or region"),
    (
        "nodePools",
        "node pools come from the Node pools presets (each has its own valve)",
    ),
    (
        "nodeConfig",
        "node settings belong to the Node pools presets (each has its own valve)",
    ),
    (
        "initialNodeCount",
        "set the node count in the Node pools presets",
    ),
    ("autopilot", "choose the Cluster mode"),
];

/// What a node pool preset's settings valve may not set.
pub const POOL_RESERVED: Reserved = &[("name", "set the preset's Name field")];

/// `text` as JSON for a settings valve: blank is no valve; anything else must be one JSON
/// object, with no key twice (which one would win is a guess) and none of `reserved`.
pub fn parse_valve(text: &str, field: &str, reserved: Reserved) -> Result<Option<Value>, Problem> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Strict>(text) {
        Ok(Strict(v @ Value::Object(_))) => {
            let map = v.as_object().expect("an object");
            for (key, instead) in reserved {
                if map.contains_key(*key) {
                    return Err(Problem::new(
                        field,
                        format!("may not set \"{key}\": {instead}"),
                    ));
                }
            }
            Ok(Some(v))
        }
        Ok(_) => Err(Problem::new(
            field,
            "must be a JSON object, e.g. {\"addonsConfig\": {\"gcsFuseCsiDriverConfig\": {\"enabled\": true}}}",
        )),
        Err(e) => Err(Problem::new(
            field,
            format!("is not valid JSON ({e}); write an object like {{\"key\": \"value\"}}"),
        )),
    }
}

/// JSON read strictly: a key twice in one object is an error (serde_json keeps the last).
/// Nesting is bounded by serde_json's recursion limit (128).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Merges `patch` into `base`: objects key by key, anything else (arrays too) replaced.
/// A valve of `field`, checked against GKE's type `T` it patches: a value of the wrong type, or
/// an object where GKE wants a number, is a problem now rather than a refusal at creation.
/// Keys `T` does not know are kept (and sent: GKE says whether it knows them).
pub fn parse_typed_valve<T: DeserializeOwned>(
    text: &str,
    field: &str,
    reserved: Reserved,
) -> Result<Option<Value>, Problem> {
    let Some(valve) = parse_valve(text, field, reserved)? else {
        return Ok(None);
    };
    fits::<T>(valve.clone(), field)?;
    Ok(Some(valve))
}

/// `value` as GKE's type `T`; where it does not fit, a problem naming the JSON path.
fn fits<T: DeserializeOwned>(value: Value, field: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        let why = inner.to_string();
        let why = why.split(" at line").next().unwrap_or_default();
        Problem::new(
            field,
            if at == "." {
                format!("does not fit GKE's request: {why}")
            } else {
                format!("'{at}' does not fit GKE's request: {why}")
            },
        )
    })
}

/// `base` (a GKE request value) with a checked valve merged in (objects key by key; lists and
/// values replaced): the one JSON round trip a request makes.
pub fn apply_valve<T: Serialize + DeserializeOwned>(
    base: T,
    valve: Option<&Value>,
    field: &str,
) -> Result<T, Problem> {
    let Some(valve) = valve else {
        return Ok(base);
    };
    let mut merged = serde_json::to_value(&base)
        .map_err(|e| Problem::new(field, format!("cannot be merged: {e}")))?;
    deep_merge(&mut merged, valve);
    fits::<T>(merged, field)
}

pub fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct Pool {
        machine_type: String,
        node_count: i64,
    }

    #[test]
    fn nulls_mean_defaults() {
        let p: Pool = parse(&json!({"machine_type": null, "node_count": 2}), "pool").unwrap();
        assert_eq!((p.machine_type.as_str(), p.node_count), ("", 2));
        let p: Pool = parse(&Value::Null, "pool").unwrap();
        assert_eq!(p.node_count, 0);
    }

    #[test]
    fn integral_floats_are_integers() {
        let p: Pool = parse(&json!({"node_count": 3.0}), "pool").unwrap();
        assert_eq!(p.node_count, 3);
        let e = parse::<Pool>(&json!({"node_count": 2.5}), "pool").unwrap_err();
        assert_eq!(e.field, "pool › node_count");
        let e = parse::<Pool>(&json!({"node_count": 1e300}), "pool").unwrap_err();
        assert_eq!(e.field, "pool › node_count");
    }

    #[test]
    fn wrong_types_name_the_scope() {
        let e = parse::<Pool>(&json!({"node_count": "three"}), "node pool preset 'a'").unwrap_err();
        assert_eq!(e.field, "node pool preset 'a' › node_count");
        assert!(e.message.contains("expected i64"), "{}", e.message);
    }

    #[test]
    fn valves() {
        let valve = |text: &str| parse_valve(text, "valve", CLUSTER_RESERVED);
        assert_eq!(valve("  ").unwrap(), None);
        assert!(valve("[1]").unwrap_err().message.contains("JSON object"));
        assert!(valve("{nope")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
        // What the cluster is and where: never from the valve.
        let e = valve(r#"{"name": "b"}"#).unwrap_err();
        assert_eq!(e.field, "valve");
        assert!(
            e.message.starts_with("may not set \"name\""),
            "{}",
            e.message
        );
        // A key twice, at any depth, is a guess about which wins: refused.
        let e = valve(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(
            e.message.contains("the key \"b\" appears twice"),
            "{}",
            e.message
        );
        // Deeper than serde_json's limit: an error, not a stack overflow.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(valve(&format!("{{\"a\": {deep}}}")).is_err());
        assert!(
            valve(r#"{"description": "x", "resourceLabels": {"a": "1"}}"#)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn forms_name_fields_by_label_and_refuse_control_characters() {
        let form = r#"{"params": [
            {"name": "node_count", "label": "Number of nodes", "type": "INT"},
            {"name": "network", "label": "VPC network", "type": "STRING"},
            {"name": "settings_valve", "label": "Settings valve", "type": "TEXTAREA"},
            {"name": "disk", "label": "Disk", "type": "SELECT",
             "selectChoices": [{"value": "pd-ssd"}, {"value": "pd-balanced"}]}
        ]}"#;
        let e = parse_form::<Pool>(&json!({"node_count": "three"}), Some("pool 'a'"), form)
            .unwrap_err();
        assert_eq!(e.field, "pool 'a' › Number of nodes");
        let e = parse_form::<Pool>(&json!({"network": "a\r\nb"}), None, form).unwrap_err();
        assert_eq!(e.field, "VPC network");
        assert!(e.message.contains("control character"));
        // A multi-line param may hold line breaks.
        parse_form::<Pool>(&json!({"settings_valve": "{\n}"}), None, form).unwrap();
        assert_eq!(
            choice_problem(form, "disk", "floppy").as_deref(),
            Some("'floppy' is not one of pd-ssd, pd-balanced")
        );
        assert_eq!(choice_problem(form, "disk", "pd-ssd"), None);
    }

    #[test]
    fn merge_is_deep_for_objects_only() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        deep_merge(&mut base, &json!({"a": {"c": [3], "e": true}, "f": null}));
        assert_eq!(
            base,
            json!({"a": {"b": 1, "c": [3], "e": true}, "d": 1, "f": null})
        );
    }
}
