//! What the API server checks before storing an object: that it decodes as its kind with no
//! unknown fields (strict field validation, judged by a round trip through the `k8s-openapi`
//! type), and the field rules of each kind (names, required fields), answered as 400 and 422.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::resources::Resource;
use super::status::{KubeError, KubeResult};

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

impl FieldValidation {
    /// Strict unless the client asks otherwise: stricter than a real API server (which warns by
    /// default), so that a test catches a misspelled field however the client sent it.
    pub fn parse(value: Option<&str>) -> KubeResult<Self> {
        match value {
            None | Some("" | "Strict") => Ok(FieldValidation::Strict),
            Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(KubeError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}; expected one of Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Decodes `object` as `resource`'s kind: returns the object with unknown fields dropped and the
/// warnings to send, or 400 under Strict validation (or when it does not decode at all).
pub fn decode(
    resource: &Resource,
    object: &Value,
    mode: FieldValidation,
) -> KubeResult<(Value, Vec<String>)> {
    let handled = |detail: String| {
        KubeError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {detail}",
            resource.kind, resource.version, resource.kind
        ))
    };
    if !object.is_object() {
        return Err(handled("the body is not a JSON object".into()));
    }
    match object["kind"].as_str() {
        Some(kind) if kind == resource.kind => {}
        None | Some("") => {
            return Err(KubeError::bad_request(format!(
                "Object 'Kind' is missing in '{object}'"
            )))
        }
        Some(kind) => {
            return Err(handled(format!("the object's kind is {kind}")));
        }
    }
    if object["apiVersion"].as_str() != Some(&resource.api_version()) {
        return Err(KubeError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            object["apiVersion"].as_str().unwrap_or_default(),
            resource.api_version()
        )));
    }
    let round_trip = round_trip(resource.kind, object).map_err(handled)?;
    let mut unknown = Vec::new();
    unknown_fields(object, &round_trip, "", &mut unknown);
    let warnings: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if !warnings.is_empty() && mode == FieldValidation::Strict {
        return Err(handled(format!(
            "strict decoding error: {}",
            warnings.join(", ")
        )));
    }
    let mut kept = object.clone();
    for path in &unknown {
        remove_path(&mut kept, path);
    }
    let warnings = if mode == FieldValidation::Warn {
        warnings
    } else {
        Vec::new()
    };
    Ok((kept, warnings))
}

fn typed<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Value, String> {
    let value: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn round_trip(kind: &str, object: &Value) -> Result<Value, String> {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, rbac::v1 as rbac};
    match kind {
        "Namespace" => typed::<core::Namespace>(object),
        "Node" => typed::<core::Node>(object),
        "Pod" => typed::<core::Pod>(object),
        "ServiceAccount" => typed::<core::ServiceAccount>(object),
        "Secret" => typed::<core::Secret>(object),
        "ConfigMap" => typed::<core::ConfigMap>(object),
        "Event" => typed::<core::Event>(object),
        "DaemonSet" => typed::<apps::DaemonSet>(object),
        "ClusterRole" => typed::<rbac::ClusterRole>(object),
        "ClusterRoleBinding" => typed::<rbac::ClusterRoleBinding>(object),
        "Role" => typed::<rbac::Role>(object),
        "RoleBinding" => typed::<rbac::RoleBinding>(object),
        other => Err(format!("no decoder for kind {other}")),
    }
}

/// Paths (`spec.template.spec.containers[0].foo`) present in `sent` but not in the round trip.
/// Nulls decode as absent and are not unknown.
fn unknown_fields(sent: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent {
                if value.is_null() {
                    continue;
                }
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    Some(k) => unknown_fields(value, k, &child, out),
                    None => out.push(child),
                }
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            for (index, (s, k)) in sent.iter().zip(kept).enumerate() {
                unknown_fields(s, k, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

fn remove_path(object: &mut Value, path: &str) {
    let mut current = object;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (key, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (*part, ""),
        };
        if i == parts.len() - 1 && indexes.is_empty() {
            if let Some(map) = current.as_object_mut() {
                map.remove(key);
            }
            return;
        }
        current = &mut current[key];
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Ok(index) = index.parse::<usize>() else {
                return;
            };
            current = &mut current[index];
        }
    }
}

/// The field rules the API server enforces on create and update (422 Invalid).
pub fn check(resource: &Resource, object: &Value) -> KubeResult<()> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let mut causes: Vec<(String, String)> = Vec::new();
    let mut fail = |field: &str, message: String| causes.push((field.to_string(), message));
    if name.is_empty() {
        fail(
            "metadata.name",
            "Required value: name or generateName is required".into(),
        );
    } else {
        let label_only = matches!(resource.plural, "namespaces");
        let rbac = resource.group == super::resources::RBAC;
        if let Err(problem) = name_rule(name, label_only, rbac) {
            fail(
                "metadata.name",
                format!("Invalid value: \"{name}\": {problem}"),
            );
        }
    }
    if resource.namespaced
        && object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    {
        fail("metadata.namespace", "Required value".into());
    }
    for (field, labels) in [("metadata.labels", &object["metadata"]["labels"])] {
        for (key, value) in labels.as_object().into_iter().flatten() {
            if !label_value_ok(value.as_str().unwrap_or("?invalid")) {
                fail(field, format!("Invalid value: \"{}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", value.as_str().unwrap_or_default()));
            }
            if key.is_empty() || key.len() > 316 {
                fail(
                    field,
                    format!("Invalid value: \"{key}\": name part must be non-empty"),
                );
            }
        }
    }
    match resource.kind {
        "Pod" => check_pod_spec(&object["spec"], "spec", &mut fail),
        "DaemonSet" => {
            let spec = &object["spec"];
            if spec["selector"].is_null() {
                fail("spec.selector", "Required value".into());
            } else {
                let template_labels = &spec["template"]["metadata"]["labels"];
                let matches = spec["selector"]["matchLabels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .all(|(k, v)| template_labels[k] == *v);
                if !matches {
                    fail("spec.template.metadata.labels", format!("Invalid value: {template_labels}: `selector` does not match template `labels`"));
                }
            }
            check_pod_spec(&spec["template"]["spec"], "spec.template.spec", &mut fail);
        }
        "ClusterRoleBinding" | "RoleBinding" => {
            if object["roleRef"]["name"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                fail("roleRef.name", "Required value".into());
            }
            match object["roleRef"]["kind"].as_str() {
                Some("ClusterRole") => {}
                Some("Role") if resource.kind == "RoleBinding" => {}
                other => fail(
                    "roleRef.kind",
                    format!(
                        "Unsupported value: \"{}\": supported values: \"ClusterRole\"{}",
                        other.unwrap_or_default(),
                        if resource.kind == "RoleBinding" {
                            ", \"Role\""
                        } else {
                            ""
                        }
                    ),
                ),
            }
            for (i, subject) in object["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if subject["name"].as_str().unwrap_or_default().is_empty() {
                    fail(&format!("subjects[{i}].name"), "Required value".into());
                }
                match subject["kind"].as_str() {
                    Some("User" | "Group") => {}
                    Some("ServiceAccount") => {
                        if resource.kind == "ClusterRoleBinding" && subject["namespace"].as_str().unwrap_or_default().is_empty() {
                            fail(&format!("subjects[{i}].namespace"), "Required value".into());
                        }
                    }
                    other => fail(&format!("subjects[{i}].kind"), format!("Unsupported value: \"{}\": supported values: \"ServiceAccount\", \"User\", \"Group\"", other.unwrap_or_default())),
                }
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(KubeError::invalid(resource, name, &causes))
    }
}

fn check_pod_spec(spec: &Value, at: &str, fail: &mut impl FnMut(&str, String)) {
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        fail(&format!("{at}.containers"), "Required value".into());
    }
    let mut seen = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let name = c["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            fail(
                &format!("{at}.containers[{i}].name"),
                "Required value".into(),
            );
        } else if let Err(problem) = name_rule(name, true, false) {
            fail(
                &format!("{at}.containers[{i}].name"),
                format!("Invalid value: \"{name}\": {problem}"),
            );
        } else if seen.contains(&name) {
            fail(
                &format!("{at}.containers[{i}].name"),
                format!("Duplicate value: \"{name}\""),
            );
        }
        seen.push(name);
        if c["image"].as_str().unwrap_or_default().is_empty() {
            fail(
                &format!("{at}.containers[{i}].image"),
                "Required value".into(),
            );
        }
    }
    if let Some(policy) = spec["restartPolicy"].as_str() {
        if !matches!(policy, "Always" | "OnFailure" | "Never") {
            fail(&format!("{at}.restartPolicy"), format!("Unsupported value: \"{policy}\": supported values: \"Always\", \"OnFailure\", \"Never\""));
        }
    }
}

/// DNS-1123 subdomain (most kinds), DNS-1123 label (namespaces, containers); RBAC objects only
/// forbid `/` and `%`.
fn name_rule(name: &str, label: bool, rbac: bool) -> Result<(), String> {
    if rbac {
        return if name.contains('/') || name.contains('%') || name == "." || name == ".." {
            Err("may not contain '/' or '%'".into())
        } else {
            Ok(())
        };
    }
    let max = if label { 63 } else { 253 };
    let ok_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!label && c == '.');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > max
        || !name.chars().all(ok_char)
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
    {
        let what = if label {
            "RFC 1123 label"
        } else {
            "lowercase RFC 1123 subdomain"
        };
        return Err(format!("a {what} must consist of lower case alphanumeric characters, '-'{}, and must start and end with an alphanumeric character", if label { "" } else { " or '.'" }));
    }
    Ok(())
}

fn label_value_ok(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::resources::by_plural;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named_by_path() {
        let ds = json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "x", "labels": {}, "annotations": null},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "bogus": 1,
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i", "imagePolicy": "x"}]}}},
        });
        let error = decode(by_plural("daemonsets"), &ds, FieldValidation::Strict).unwrap_err();
        assert_eq!(error.code.as_u16(), 400);
        assert!(error.message.ends_with("strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.template.spec.containers[0].imagePolicy\""), "{}", error.message);
        let (kept, warnings) = decode(by_plural("daemonsets"), &ds, FieldValidation::Warn).unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(kept["spec"].get("bogus").is_none());
        assert!(kept["spec"]["template"]["spec"]["containers"][0]
            .get("imagePolicy")
            .is_none());
    }

    #[test]
    fn empty_maps_and_secret_data_are_not_unknown() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {}},
                            "data": {"k": "aGk="}, "stringData": {"x": "y"}, "type": "Opaque"});
        assert!(decode(by_plural("secrets"), &secret, FieldValidation::Strict).is_ok());
    }

    #[test]
    fn invalid_names_and_missing_containers_are_422() {
        let pod = json!({"metadata": {"name": "Bad_Name", "namespace": "default"}, "spec": {"containers": []}});
        let error = check(by_plural("pods"), &pod).unwrap_err();
        assert_eq!(error.code.as_u16(), 422);
        assert_eq!(
            error.details.unwrap()["causes"].as_array().unwrap().len(),
            2
        );
    }
}
