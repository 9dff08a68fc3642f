//! Google discovery documents: which API method a request calls (by its JSON API path, or by the
//! media upload or download path of a method that has one), and whether its query and body fit
//! that method's schema (unknown names, wrong JSON types, values outside an enum).

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::errors::{ApiError, ApiResult};

/// The discovery documents of the APIs the emulator serves.
pub const DOCUMENTS: [&str; 3] = [
    "container.v1.json",
    "artifactregistry.v1.json",
    "storage.v1.json",
];

/// Parameters Google's front end accepts on every method of every API.
const SYSTEM_PARAMETERS: [&str; 3] = ["$alt", "$fields", "$prettyPrint"];

pub struct Discovery {
    apis: Vec<Api>,
}

struct Api {
    schemas: Map<String, Value>,
    /// Proto package of the schemas, for type names in error messages.
    package: String,
    methods: Vec<Method>,
    /// Parameters valid on every method of this API (`alt`, `fields`, `key`, ...).
    common_parameters: HashSet<String>,
}

struct Method {
    /// The method's discovery id (`container.projects.locations.clusters.create`), which routes it.
    id: String,
    http_method: String,
    template: Vec<Segment>,
    endpoint: Endpoint,
    request: Option<String>,
    query_parameters: HashSet<String>,
}

/// Which of a method's paths a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The JSON API path (`path`, under the API's `servicePath`).
    Api,
    /// The media upload path (`mediaUpload.protocols.simple.path`), which also takes a resumable
    /// session's chunks (PUT) and its cancellation (DELETE).
    MediaUpload,
    /// The media download path (`/download/` + the JSON API path, `useMediaDownloadService`).
    MediaDownload,
}

enum Segment {
    Literal(String),
    Variable,
}

/// A method a request resolved to, with the values of its path's variables in template order.
pub struct MethodRef<'a> {
    api: &'a Api,
    method: &'a Method,
    pub params: Vec<String>,
}

impl Discovery {
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut apis = Vec::new();
        for name in DOCUMENTS {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read discovery document {}: {e}", path.display()))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("discovery document {} is not JSON: {e}", path.display()))?;
            apis.push(Api::from_document(&doc));
        }
        Ok(Discovery { apis })
    }

    /// The method `http_method path` calls, first matching API wins (GKE and Artifact Registry
    /// share `…/operations/{op}`, whose shapes agree for the emulator's purposes).
    pub fn find(&self, http_method: &str, path: &str) -> Option<MethodRef<'_>> {
        let path = path.strip_prefix('/').unwrap_or(path);
        self.apis.iter().find_map(|api| {
            api.methods.iter().find_map(|method| {
                if method.http_method != http_method {
                    return None;
                }
                let params = capture(&method.template, path)?;
                Some(MethodRef {
                    api,
                    method,
                    params,
                })
            })
        })
    }
}

impl Api {
    fn from_document(doc: &Value) -> Self {
        let package = match doc["name"].as_str().unwrap_or_default() {
            "artifactregistry" => "google.devtools.artifactregistry.v1".to_string(),
            name => format!("google.{name}.v1"),
        };
        let mut methods = Vec::new();
        let service_path = doc["servicePath"].as_str().unwrap_or_default();
        collect_methods(doc, service_path, &mut methods);
        let common_parameters = doc["parameters"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        Api {
            schemas: doc["schemas"].as_object().cloned().unwrap_or_default(),
            package,
            methods,
            common_parameters,
        }
    }
}

fn collect_methods(resource: &Value, service_path: &str, out: &mut Vec<Method>) {
    if let Some(methods) = resource["methods"].as_object() {
        for method in methods.values() {
            let path = method["flatPath"]
                .as_str()
                .or_else(|| method["path"].as_str())
                .unwrap_or_default();
            let path = format!("{service_path}{path}");
            let query_parameters: HashSet<String> = method["parameters"]
                .as_object()
                .map(|params| {
                    params
                        .iter()
                        .filter(|(_, p)| p["location"] == "query")
                        .map(|(name, _)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            let http_method = method["httpMethod"].as_str().unwrap_or("GET");
            let mut paths = vec![(http_method, path.clone(), Endpoint::Api)];
            if let Some(upload) = method["mediaUpload"]["protocols"]["simple"]["path"].as_str() {
                let upload = upload.trim_start_matches('/');
                for verb in [http_method, "PUT", "DELETE"] {
                    paths.push((verb, upload.to_string(), Endpoint::MediaUpload));
                }
            }
            if method["useMediaDownloadService"] == true {
                paths.push((
                    http_method,
                    format!("download/{path}"),
                    Endpoint::MediaDownload,
                ));
            }
            for (verb, path, endpoint) in paths {
                out.push(Method {
                    id: method["id"].as_str().unwrap_or_default().to_string(),
                    http_method: verb.to_string(),
                    template: parse_template(&path),
                    endpoint,
                    request: method["request"]["$ref"].as_str().map(str::to_string),
                    query_parameters: query_parameters.clone(),
                });
            }
        }
    }
    if let Some(resources) = resource["resources"].as_object() {
        for child in resources.values() {
            collect_methods(child, service_path, out);
        }
    }
}

fn parse_template(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            segments.push(Segment::Literal(rest[..open].to_string()));
        }
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        segments.push(Segment::Variable);
        rest = &rest[close..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest.to_string()));
    }
    segments
}

/// The values of the template's variables in `path`, if it matches. A variable is one non-empty
/// path segment up to a `/` or a `:verb`, as in Google's flat paths.
fn capture(template: &[Segment], path: &str) -> Option<Vec<String>> {
    let mut rest = path;
    let mut values = Vec::new();
    for segment in template {
        match segment {
            Segment::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
            Segment::Variable => {
                let end = rest.find(['/', ':']).unwrap_or(rest.len());
                if end == 0 {
                    return None;
                }
                values.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(values)
}

impl MethodRef<'_> {
    /// The method's discovery id, e.g. `container.projects.locations.clusters.create`.
    pub fn id(&self) -> &str {
        &self.method.id
    }

    pub fn endpoint(&self) -> Endpoint {
        self.method.endpoint
    }

    /// Refuses query parameters the method does not bind, as Google's front end does.
    pub fn check_query(&self, query: &[(String, String)]) -> ApiResult<()> {
        for (name, _) in query {
            let known = self.method.query_parameters.contains(name)
                || self.api.common_parameters.contains(name)
                || SYSTEM_PARAMETERS.contains(&name.as_str());
            if !known {
                return Err(ApiError::invalid_field(
                    name,
                    format!(
                        "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. Field '{name}' could not be found in request message."
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks a request body against the method's request schema; the error names the field path
    /// the way Google does (proto field names, `[index]` for list items, `[key]` for map entries).
    /// Returns the body with proto (snake_case) names turned into JSON names, as Google reads it.
    pub fn check_body(&self, body: Value) -> ApiResult<Value> {
        match (&self.method.request, body) {
            (_, Value::Null) => Ok(Value::Null),
            (Some(schema), body) => Checker { api: self.api }.message(schema, body, ""),
            (None, body) if is_empty_object(&body) => Ok(body),
            (None, _) => Err(ApiError::invalid_argument(
                "Invalid JSON payload received. This method takes no request body.",
            )),
        }
    }
}

fn is_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(Map::is_empty)
}

struct Checker<'a> {
    api: &'a Api,
}

impl Checker<'_> {
    fn message(&self, schema_name: &str, value: Value, path: &str) -> ApiResult<Value> {
        let properties = self.api.schemas[schema_name]["properties"].as_object();
        let Value::Object(object) = value else {
            let type_name = format!("type.googleapis.com/{}.{schema_name}", self.api.package);
            return Err(invalid_value(path, &type_name, &value));
        };
        let mut checked = Map::new();
        for (key, child) in object {
            let json_name = match properties {
                Some(p) if p.contains_key(&key) => key,
                Some(p) if p.contains_key(&camel_case(&key)) => camel_case(&key),
                _ => return Err(unknown_name(path, &key)),
            };
            let property = &properties.expect("matched above")[&json_name];
            let child = self.field(property, child, &join(path, &snake_case(&json_name)))?;
            checked.insert(json_name, child);
        }
        Ok(Value::Object(checked))
    }

    fn field(&self, schema: &Value, value: Value, path: &str) -> ApiResult<Value> {
        if value.is_null() {
            return Ok(value);
        }
        if let Some(reference) = schema["$ref"].as_str() {
            return self.message(reference, value, path);
        }
        let format = schema["format"].as_str().unwrap_or_default();
        let ok = match schema["type"].as_str().unwrap_or("any") {
            "object" => return self.object(schema, value, path),
            "array" => {
                let Value::Array(items) = value else {
                    return Err(invalid_value(path, "repeated", &value));
                };
                return items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| {
                        self.field(&schema["items"], item, &format!("{path}[{index}]"))
                    })
                    .collect::<ApiResult<Vec<Value>>>()
                    .map(Value::Array);
            }
            "string" if schema.get("enum").is_some() => is_enum_value(schema, &value),
            "string" => match format {
                "int64" => is_integer(&value, i64::MIN as f64, i64::MAX as f64),
                "uint64" => is_integer(&value, 0.0, u64::MAX as f64),
                _ => value.is_string(),
            },
            "integer" => match format {
                "uint32" => is_integer(&value, 0.0, f64::from(u32::MAX)),
                _ => is_integer(&value, f64::from(i32::MIN), f64::from(i32::MAX)),
            },
            "number" => is_number(&value),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if ok {
            Ok(value)
        } else {
            Err(invalid_value(path, &proto_type(schema), &value))
        }
    }

    /// An `object` property is a map (`additionalProperties`), an inline message (`properties`),
    /// or free-form.
    fn object(&self, schema: &Value, value: Value, path: &str) -> ApiResult<Value> {
        let Value::Object(object) = value else {
            return Err(invalid_value(path, "map", &value));
        };
        let mut checked = Map::new();
        for (key, child) in object {
            let child = if let Some(entry) = schema.get("additionalProperties") {
                self.field(entry, child, &format!("{path}[{key}]"))?
            } else if let Some(properties) = schema.get("properties") {
                let Some(property) = properties.get(&key) else {
                    return Err(unknown_name(path, &key));
                };
                self.field(property, child, &join(path, &snake_case(&key)))?
            } else {
                child
            };
            checked.insert(key, child);
        }
        Ok(Value::Object(checked))
    }
}

fn unknown_name(path: &str, key: &str) -> ApiError {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at '{path}'")
    };
    ApiError::invalid_field(
        &join(path, key),
        format!("Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field."),
    )
}

/// Google accepts an enum as its name or, with `enum-encoding=int` (what the official clients
/// send), as its number; proto3 enums are open, so any int32 is accepted.
fn is_enum_value(schema: &Value, value: &Value) -> bool {
    match value {
        Value::String(name) => schema["enum"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == name)),
        _ => is_integer(value, f64::from(i32::MIN), f64::from(i32::MAX)),
    }
}

/// Integers arrive as JSON numbers or, for 64-bit fields always and for 32-bit ones optionally,
/// as decimal strings.
fn is_integer(value: &Value, min: f64, max: f64) -> bool {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|_| !s.contains(['.', 'e', 'E'])),
        _ => None,
    };
    number.is_some_and(|n| n.fract() == 0.0 && n >= min && n <= max)
}

fn is_number(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(s) => {
            matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") || s.parse::<f64>().is_ok()
        }
        _ => false,
    }
}

fn proto_type(schema: &Value) -> String {
    let format = schema["format"].as_str().unwrap_or_default();
    match (schema["type"].as_str().unwrap_or_default(), format) {
        (_, "int64") => "TYPE_INT64",
        (_, "uint64") => "TYPE_UINT64",
        (_, "uint32") => "TYPE_UINT32",
        ("integer", _) => "TYPE_INT32",
        (_, "double") => "TYPE_DOUBLE",
        (_, "float") => "TYPE_FLOAT",
        (_, "byte") => "TYPE_BYTES",
        ("boolean", _) => "TYPE_BOOL",
        ("string", _) if schema.get("enum").is_some() => "TYPE_ENUM",
        _ => "TYPE_STRING",
    }
    .to_string()
}

fn invalid_value(path: &str, type_name: &str, value: &Value) -> ApiError {
    let mut shown = value.to_string();
    if shown.len() > 80 {
        shown = format!("{}…", &shown[..shown.floor_char_boundary(80)]);
    }
    ApiError::invalid_field(
        path,
        format!("Invalid JSON payload received. Invalid value at '{path}' ({type_name}), {shown}"),
    )
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Google names fields in error paths by their proto (snake_case) names.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Proto JSON parsers accept the proto name as well as the JSON name.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let template = parse_template("v1/projects/{p}/locations/{l}/clusters/{c}:setSize");
        assert_eq!(
            capture(&template, "v1/projects/a/locations/b/clusters/c:setSize"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            capture(&template, "v1/projects/a/locations/b/clusters/c"),
            None
        );
        assert_eq!(
            capture(&template, "v1/projects/a/locations/b/clusters/c/x:setSize"),
            None
        );
        let plain = parse_template("v1/projects/{p}/locations/{l}/clusters/{c}");
        assert_eq!(
            capture(&plain, "v1/projects/a/locations/b/clusters/c:setSize"),
            None
        );
    }

    #[test]
    fn media_paths_resolve_to_their_method() {
        let doc = serde_json::json!({
            "name": "storage",
            "servicePath": "storage/v1/",
            "resources": {"objects": {"methods": {
                "get": {
                    "id": "storage.objects.get", "httpMethod": "GET",
                    "path": "b/{bucket}/o/{object}", "useMediaDownloadService": true,
                },
                "insert": {
                    "id": "storage.objects.insert", "httpMethod": "POST", "path": "b/{bucket}/o",
                    "mediaUpload": {"protocols": {"simple": {"path": "/upload/storage/v1/b/{bucket}/o"}}},
                },
            }}},
        });
        let discovery = Discovery {
            apis: vec![Api::from_document(&doc)],
        };
        let found = |verb: &str, path: &str| {
            discovery
                .find(verb, path)
                .map(|m| (m.id().to_string(), m.endpoint(), m.params.join(" ")))
        };
        let get = |endpoint, params: &str| {
            Some((
                "storage.objects.get".to_string(),
                endpoint,
                params.to_string(),
            ))
        };
        assert_eq!(
            found("GET", "/storage/v1/b/d/o/a%2Fb"),
            get(Endpoint::Api, "d a%2Fb")
        );
        assert_eq!(
            found("GET", "/download/storage/v1/b/d/o/x"),
            get(Endpoint::MediaDownload, "d x")
        );
        let insert = Some((
            "storage.objects.insert".to_string(),
            Endpoint::MediaUpload,
            "d".to_string(),
        ));
        assert_eq!(found("POST", "/upload/storage/v1/b/d/o"), insert);
        assert_eq!(found("PUT", "/upload/storage/v1/b/d/o"), insert);
        assert_eq!(found("PUT", "/storage/v1/b/d/o"), None);
    }

    #[test]
    fn names_convert_between_json_and_proto() {
        assert_eq!(snake_case("nodePools"), "node_pools");
        assert_eq!(camel_case("node_pools"), "nodePools");
    }

    #[test]
    fn integers_accept_numbers_and_decimal_strings() {
        assert!(is_integer(&Value::from(3), 0.0, 10.0));
        assert!(is_integer(&Value::from("3"), 0.0, 10.0));
        assert!(!is_integer(&Value::from("3.5"), 0.0, 10.0));
        assert!(!is_integer(&Value::from(true), 0.0, 10.0));
        assert!(!is_integer(&Value::from(11), 0.0, 10.0));
    }
}
