//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which kubectl's typed
//! clients send for `kubectl create clusterrolebinding|namespace|secret|…`: the `k8s\0` envelope
//! and the messages of the kinds those commands create, decoded into the JSON the API stores.

use base64::Engine;
use serde_json::{Map, Value};

use super::store::k8s_time;

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bytes,
    Int,
    Bool,
    Time,
    Msg(&'static str),
    MapStr,
    MapBytes,
}

/// `(field number, JSON name, type, repeated)`, from each kind's `generated.proto`.
type Field = (u64, &'static str, Ty, bool);

fn schema(message: &str) -> Option<&'static [Field]> {
    use Ty::*;
    Some(match message {
        "ObjectMeta" => &[
            (1, "name", Str, false),
            (2, "generateName", Str, false),
            (3, "namespace", Str, false),
            (5, "uid", Str, false),
            (6, "resourceVersion", Str, false),
            (7, "generation", Int, false),
            (8, "creationTimestamp", Time, false),
            (11, "labels", MapStr, false),
            (12, "annotations", MapStr, false),
            (13, "ownerReferences", Msg("OwnerReference"), true),
            (14, "finalizers", Str, true),
        ],
        "OwnerReference" => &[
            (1, "kind", Str, false),
            (3, "name", Str, false),
            (4, "uid", Str, false),
            (5, "apiVersion", Str, false),
            (6, "controller", Bool, false),
            (7, "blockOwnerDeletion", Bool, false),
        ],
        "ClusterRoleBinding" | "RoleBinding" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "subjects", Msg("Subject"), true),
            (3, "roleRef", Msg("RoleRef"), false),
        ],
        "Subject" => &[
            (1, "kind", Str, false),
            (2, "apiGroup", Str, false),
            (3, "name", Str, false),
            (4, "namespace", Str, false),
        ],
        "RoleRef" => &[
            (1, "apiGroup", Str, false),
            (2, "kind", Str, false),
            (3, "name", Str, false),
        ],
        "ClusterRole" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "rules", Msg("PolicyRule"), true),
            (3, "aggregationRule", Msg("AggregationRule"), false),
        ],
        "Role" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "rules", Msg("PolicyRule"), true),
        ],
        "PolicyRule" => &[
            (1, "verbs", Str, true),
            (2, "apiGroups", Str, true),
            (3, "resources", Str, true),
            (4, "resourceNames", Str, true),
            (5, "nonResourceURLs", Str, true),
        ],
        "AggregationRule" => &[(1, "clusterRoleSelectors", Msg("LabelSelector"), true)],
        "LabelSelector" => &[(1, "matchLabels", MapStr, false)],
        "Namespace" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("NamespaceSpec"), false),
        ],
        "NamespaceSpec" => &[(1, "finalizers", Str, true)],
        "ServiceAccount" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "secrets", Msg("ObjectReference"), true),
            (3, "imagePullSecrets", Msg("LocalObjectReference"), true),
            (4, "automountServiceAccountToken", Bool, false),
        ],
        "ObjectReference" => &[
            (1, "kind", Str, false),
            (2, "namespace", Str, false),
            (3, "name", Str, false),
        ],
        "LocalObjectReference" => &[(1, "name", Str, false)],
        "ConfigMap" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "data", MapStr, false),
            (3, "binaryData", MapBytes, false),
            (4, "immutable", Bool, false),
        ],
        "Secret" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "data", MapBytes, false),
            (3, "type", Str, false),
            (4, "stringData", MapStr, false),
            (5, "immutable", Bool, false),
        ],
        "Time" => &[(1, "seconds", Int, false), (2, "nanos", Int, false)],
        "TypeMeta" => &[(1, "apiVersion", Str, false), (2, "kind", Str, false)],
        "Unknown" => &[
            (1, "typeMeta", Msg("TypeMeta"), false),
            (2, "raw", Bytes, false),
            (3, "contentEncoding", Str, false),
            (4, "contentType", Str, false),
        ],
        _ => return None,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or("truncated varint")?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("truncated field")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
}

/// Decodes the `k8s\0` envelope into a JSON object, for the kinds `kubectl create` sends.
pub fn decode_object(body: &[u8]) -> Result<Value, String> {
    let raw = body
        .strip_prefix(b"k8s\0")
        .ok_or("missing the k8s protobuf envelope")?;
    let unknown = message(raw, "Unknown", true)?;
    let kind = unknown["typeMeta"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let api_version = unknown["typeMeta"]["apiVersion"].clone();
    let inner = unknown["raw"].as_str().unwrap_or_default();
    let inner = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .map_err(|e| e.to_string())?;
    if schema(&kind).is_none() {
        return Err(format!(
            "gke-emulator does not decode {kind} from protobuf; send JSON"
        ));
    }
    let mut object = message(&inner, &kind, false)?;
    object["apiVersion"] = api_version;
    object["kind"] = Value::from(kind);
    Ok(object)
}

/// One message as JSON; zero values are left out, as the API's Go types omit them.
fn message(bytes: &[u8], name: &str, keep_zero: bool) -> Result<Value, String> {
    let fields = schema(name).ok_or(format!("no schema for {name}"))?;
    let mut out = Map::new();
    let mut reader = Reader { bytes, at: 0 };
    while reader.at < bytes.len() {
        let key = reader.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        let value_bytes: Option<&[u8]>;
        let scalar: Option<u64>;
        match wire {
            0 => {
                scalar = Some(reader.varint()?);
                value_bytes = None;
            }
            2 => {
                let n = reader.varint()? as usize;
                value_bytes = Some(reader.take(n)?);
                scalar = None;
            }
            1 => {
                reader.take(8)?;
                continue;
            }
            5 => {
                reader.take(4)?;
                continue;
            }
            other => return Err(format!("unsupported wire type {other}")),
        }
        let Some(&(_, json_name, ty, repeated)) = fields.iter().find(|f| f.0 == number) else {
            continue;
        };
        let value = match (ty, value_bytes, scalar) {
            (Ty::Str, Some(b), _) => Value::from(String::from_utf8_lossy(b).into_owned()),
            (Ty::Bytes, Some(b), _) => {
                Value::from(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (Ty::Int, _, Some(n)) => Value::from(n as i64),
            (Ty::Bool, _, Some(n)) => Value::from(n != 0),
            (Ty::Time, Some(b), _) => {
                let time = message(b, "Time", true)?;
                let seconds = time["seconds"].as_i64().unwrap_or(0);
                if seconds == 0 {
                    continue;
                }
                Value::from(k8s_time(seconds as u64 * 1000))
            }
            (Ty::Msg(inner), Some(b), _) => message(b, inner, false)?,
            (Ty::MapStr | Ty::MapBytes, Some(b), _) => {
                let entry = map_entry(b, matches!(ty, Ty::MapBytes))?;
                let map = out
                    .entry(json_name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(map), (k, v)) = (map.as_object_mut(), entry) {
                    map.insert(k, v);
                }
                continue;
            }
            _ => {
                return Err(format!(
                    "field {json_name} of {name} has an unexpected wire type"
                ))
            }
        };
        if repeated {
            out.entry(json_name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = out.get_mut(json_name).and_then(Value::as_array_mut) {
                list.push(value);
            }
        } else {
            let zero = matches!(&value, Value::String(s) if s.is_empty()) || value == 0;
            if keep_zero || !zero {
                out.insert(json_name.to_string(), value);
            }
        }
    }
    Ok(Value::Object(out))
}

fn map_entry(bytes: &[u8], binary: bool) -> Result<(String, Value), String> {
    let mut reader = Reader { bytes, at: 0 };
    let (mut key, mut value) = (String::new(), Value::from(""));
    while reader.at < bytes.len() {
        let tag = reader.varint()?;
        if tag & 7 != 2 {
            return Err("map entries hold strings".into());
        }
        let n = reader.varint()? as usize;
        let b = reader.take(n)?;
        match tag >> 3 {
            1 => key = String::from_utf8_lossy(b).into_owned(),
            2 if binary => value = Value::from(base64::engine::general_purpose::STANDARD.encode(b)),
            2 => value = Value::from(String::from_utf8_lossy(b).into_owned()),
            _ => {}
        }
    }
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8];
        let mut n = bytes.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_cluster_role_binding_as_kubectl_sends_it() {
        let meta = [field(1, b"dss-admin"), field(2, b""), vec![7 << 3, 0]].concat();
        let subject = [
            field(1, b"User"),
            field(2, b"rbac.authorization.k8s.io"),
            field(3, b"sa@p.iam.gserviceaccount.com"),
        ]
        .concat();
        let role_ref = [
            field(1, b"rbac.authorization.k8s.io"),
            field(2, b"ClusterRole"),
            field(3, b"cluster-admin"),
        ]
        .concat();
        let binding = [field(1, &meta), field(2, &subject), field(3, &role_ref)].concat();
        let type_meta = [
            field(1, b"rbac.authorization.k8s.io/v1"),
            field(2, b"ClusterRoleBinding"),
        ]
        .concat();
        let unknown = [field(1, &type_meta), field(2, &binding)].concat();
        let body = [b"k8s\0".as_slice(), &unknown].concat();
        let object = decode_object(&body).unwrap();
        assert_eq!(
            object,
            serde_json::json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "dss-admin"},
                "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "sa@p.iam.gserviceaccount.com"}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            })
        );
    }
}
