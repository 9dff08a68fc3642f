//! Writing into JSON resources by pointer (`/config/labels`), creating objects along the way.

use serde_json::{Map, Value};

/// Sets `pointer` to `value`, replacing whatever was there.
pub fn set(target: &mut Value, pointer: &str, value: Value) {
    *slot(target, pointer) = value;
}

/// Sets `pointer` to `value` only if the client left it absent or null.
pub fn set_default(target: &mut Value, pointer: &str, value: Value) {
    let slot = slot(target, pointer);
    if slot.is_null() {
        *slot = value;
    }
}

fn slot<'a>(target: &'a mut Value, pointer: &str) -> &'a mut Value {
    let mut current = target;
    for key in pointer.split('/').filter(|k| !k.is_empty()) {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        current = current
            .as_object_mut()
            .expect("made an object above")
            .entry(key)
            .or_insert(Value::Null);
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn creates_intermediate_objects_and_keeps_client_values() {
        let mut v = json!({"config": {"machineType": "n2-standard-4"}});
        set_default(&mut v, "/config/machineType", json!("e2-medium"));
        set_default(&mut v, "/config/diskSizeGb", json!(100));
        set(&mut v, "/management/autoRepair", json!(true));
        assert_eq!(
            v,
            json!({"config": {"machineType": "n2-standard-4", "diskSizeGb": 100}, "management": {"autoRepair": true}})
        );
    }
}
