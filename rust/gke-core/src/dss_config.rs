//! Reading DSS's JSON configs into typed structs: blanks and nulls are "not set", and a value
//! of the wrong type becomes a `Problem` naming the parameter as the admin sees it.

use serde::de::DeserializeOwned;
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

/// `text` as JSON for a settings valve: blank is no valve; anything else must be an object.
pub fn parse_valve(text: &str, field: &str) -> Result<Option<Value>, Problem> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(Some(v)),
        Ok(_) => Err(Problem::new(
            field,
            "must be a JSON object, e.g. {\"nodeConfig\": {\"diskSizeGb\": 200}}",
        )),
        Err(e) => Err(Problem::new(
            field,
            format!("is not valid JSON ({e}); write an object like {{\"key\": \"value\"}}"),
        )),
    }
}

/// Merges `patch` into `base`: objects key by key, anything else (arrays too) replaced.
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
        assert_eq!(parse_valve("  ", "valve").unwrap(), None);
        assert!(parse_valve("[1]", "valve")
            .unwrap_err()
            .message
            .contains("JSON object"));
        assert!(parse_valve("{nope", "valve")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
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
