//! Cloud Storage's JSON API, in memory: buckets, objects (with the CRC32C and MD5 GCS computes),
//! the three upload types (`multipart`, `media`, `resumable`), listing, metadata, copy (rclone sets
//! modification times with it), media reads
//! (with `Range`) and deletion. Fast rather than complete: objects live in memory only (never in
//! the state file), and what gke-native's benchmarks and Google's clients send is what is served.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_RANGE, CONTENT_TYPE, HOST, LOCATION, RANGE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::StreamExt;
use gke_emulator_hash::find;
use serde_json::{json, Map, Value};

use crate::discovery::Endpoint;
use crate::timeline::{now_ms, rfc3339};

/// Whether `path` belongs to this surface (its requests are logged without their bodies).
pub fn owns(path: &str) -> bool {
    path.starts_with("/storage/v1/")
        || path.starts_with("/upload/storage/v1/")
        || path.starts_with("/download/storage/v1/")
}

/// Non-final chunks of a resumable upload are committed in units of this size, as GCS does
/// when a chunk is cut short.
const UNIT: usize = 256 * 1024;
const PROJECT_NUMBER: &str = "123456789012";

#[derive(Default)]
pub struct Storage {
    buckets: RwLock<HashMap<String, Arc<Bucket>>>,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    last_generation: AtomicI64,
    next_session: AtomicU64,
    /// `host:port` the emulator listens on, for session URIs when a client's `Host` header
    /// has no port (Google's Rust client sends the bare host).
    address: OnceLock<String>,
}

struct Bucket {
    name: String,
    location: String,
    storage_class: String,
    created: String,
    objects: RwLock<BTreeMap<String, Arc<Object>>>,
}

struct Object {
    name: String,
    bucket: String,
    data: Bytes,
    generation: i64,
    content_type: String,
    metadata: Option<Value>,
    crc32c: u32,
    md5: [u8; 16],
    time: String,
}

/// What an upload carries besides its bytes.
#[derive(Clone)]
struct Upload {
    bucket: String,
    name: String,
    content_type: String,
    metadata: Option<Value>,
    /// Checksums the client announced; the content must match them.
    crc32c: Option<String>,
    md5: Option<String>,
    if_generation_match: Option<i64>,
}

struct Session {
    upload: Upload,
    size: Option<u64>,
    data: Vec<u8>,
    done: Option<Arc<Object>>,
}

type Query = Vec<(String, String)>;

fn param<'a>(query: &'a Query, key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_query(raw: Option<&str>) -> Query {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

/// A refusal, answered with GCS's error body.
struct GcsError {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl IntoResponse for GcsError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "code": self.status.as_u16(),
            "message": self.message,
            "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
        }});
        (self.status, axum::Json(body)).into_response()
    }
}

fn error(status: StatusCode, reason: &'static str, message: impl Into<String>) -> GcsError {
    GcsError {
        status,
        reason,
        message: message.into(),
    }
}

fn not_found(message: impl Into<String>) -> GcsError {
    error(StatusCode::NOT_FOUND, "notFound", message)
}

fn bad_request(message: impl Into<String>) -> GcsError {
    error(StatusCode::BAD_REQUEST, "invalid", message)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        )],
        body,
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Object {
    /// The object's JSON resource; its links name the emulator (`own`: its address) when
    /// known, as fake-gcs-server's do, so that a client following them (rclone downloads
    /// through `mediaLink`) stays on it.
    fn resource(&self, own: Option<&str>) -> Value {
        let etag = STANDARD.encode(self.generation.to_be_bytes());
        let path = format!("b/{}/o/{}", self.bucket, encode(&self.name));
        let (api, media) = match own {
            Some(address) => (format!("http://{address}"), format!("http://{address}")),
            None => (
                "https://www.googleapis.com".to_string(),
                "https://storage.googleapis.com".to_string(),
            ),
        };
        let mut out = json!({
            "kind": "storage#object",
            "id": format!("{}/{}/{}", self.bucket, self.name, self.generation),
            "selfLink": format!("{api}/storage/v1/{path}"),
            "mediaLink": format!(
                "{media}/download/storage/v1/{path}?generation={}&alt=media",
                self.generation
            ),
            "name": self.name,
            "bucket": self.bucket,
            "generation": self.generation.to_string(),
            "metageneration": "1",
            "contentType": self.content_type,
            "storageClass": "STANDARD",
            "size": self.data.len().to_string(),
            "md5Hash": STANDARD.encode(self.md5),
            "crc32c": STANDARD.encode(self.crc32c.to_be_bytes()),
            "etag": etag,
            "timeCreated": self.time,
            "updated": self.time,
            "timeStorageClassUpdated": self.time,
            "timeFinalized": self.time,
        });
        if let Some(metadata) = &self.metadata {
            out["metadata"] = metadata.clone();
        }
        out
    }
}

impl Bucket {
    /// The current generation of object `name`, if any.
    fn object(&self, name: &str) -> Option<Arc<Object>> {
        self.objects
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn resource(&self) -> Value {
        json!({
            "kind": "storage#bucket",
            "id": self.name,
            "selfLink": format!("https://www.googleapis.com/storage/v1/b/{}", self.name),
            "projectNumber": PROJECT_NUMBER,
            "name": self.name,
            "timeCreated": self.created,
            "updated": self.created,
            "metageneration": "1",
            "location": self.location,
            "locationType": if self.location.contains('-') { "region" } else { "multi-region" },
            "storageClass": self.storage_class,
            "etag": "CAE=",
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": true},
                "publicAccessPrevention": "inherited",
            },
        })
    }
}

impl Storage {
    pub fn set_address(&self, address: String) {
        let _ = self.address.set(address);
    }

    /// The emulator's own address (host:port), once it listens.
    fn own(&self) -> Option<&str> {
        self.address.get().map(String::as_str)
    }

    fn bucket(&self, name: &str) -> Option<Arc<Bucket>> {
        self.buckets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Creates `name` (`Err` with the existing bucket when there is one).
    fn create_bucket(
        &self,
        name: &str,
        location: Option<&str>,
        storage_class: Option<&str>,
    ) -> Result<Arc<Bucket>, Arc<Bucket>> {
        let mut buckets = self.buckets.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = buckets.get(name) {
            return Err(existing.clone());
        }
        let bucket = Arc::new(Bucket {
            name: name.to_string(),
            location: location.unwrap_or("US").to_uppercase(),
            storage_class: storage_class.unwrap_or("STANDARD").to_string(),
            created: rfc3339(now_ms()),
            objects: RwLock::default(),
        });
        buckets.insert(name.to_string(), bucket.clone());
        Ok(bucket)
    }

    /// Uploads create their bucket when it does not exist yet.
    fn bucket_or_create(&self, name: &str) -> Arc<Bucket> {
        self.bucket(name)
            .unwrap_or_else(|| self.create_bucket(name, None, None).unwrap_or_else(|b| b))
    }

    /// Microseconds since the epoch, as GCS's generations are, strictly increasing.
    fn next_generation(&self) -> i64 {
        let now = (now_ms() as i64) * 1000;
        let previous = self
            .last_generation
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or_default();
        now.max(previous + 1)
    }

    /// Stores the object unless the upload's checksums or precondition refuse it.
    fn insert(&self, upload: &Upload, data: Bytes) -> Result<Arc<Object>, GcsError> {
        let (crc32c, md5) = gke_emulator_hash::crc32c_md5(&data);
        if let Some(given) = &upload.crc32c {
            let computed = STANDARD.encode(crc32c.to_be_bytes());
            if *given != computed {
                return Err(bad_request(format!(
                    "Provided CRC32C \"{given}\" doesn't match calculated CRC32C \"{computed}\"."
                )));
            }
        }
        if let Some(given) = &upload.md5 {
            let computed = STANDARD.encode(md5);
            if *given != computed {
                return Err(bad_request(format!(
                    "Provided MD5 hash \"{given}\" doesn't match calculated MD5 hash \"{computed}\"."
                )));
            }
        }
        if upload.name.is_empty() {
            return Err(bad_request("Required: the object name."));
        }
        let bucket = self.bucket_or_create(&upload.bucket);
        let mut objects = bucket
            .objects
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        check_generation(
            upload.if_generation_match,
            objects.get(&upload.name).map(|o| o.generation),
        )?;
        let object = Arc::new(Object {
            name: upload.name.clone(),
            bucket: upload.bucket.clone(),
            data,
            generation: self.next_generation(),
            content_type: upload.content_type.clone(),
            metadata: upload.metadata.clone(),
            crc32c,
            md5,
            time: rfc3339(now_ms()),
        });
        objects.insert(upload.name.clone(), object.clone());
        Ok(object)
    }
}

/// `ifGenerationMatch`: 0 = only if there is no live object; N = only if the live one is N.
fn check_generation(wanted: Option<i64>, current: Option<i64>) -> Result<(), GcsError> {
    match wanted {
        Some(w) if Some(w) != current && !(w == 0 && current.is_none()) => Err(error(
            StatusCode::PRECONDITION_FAILED,
            "conditionNotMet",
            "At least one of the pre-conditions you specified did not hold.",
        )),
        _ => Ok(()),
    }
}

fn generation_param(query: &Query, key: &str) -> Result<Option<i64>, GcsError> {
    param(query, key)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| bad_request(format!("Invalid value for {key}: {v}")))
        })
        .transpose()
}

/// Serves one request of the surface, resolved to its discovery method `id` (at `endpoint`, with
/// the values of its path's variables `params`, still percent-encoded).
pub async fn serve(
    storage: &Storage,
    id: &str,
    endpoint: Endpoint,
    params: &[String],
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let query = parse_query(parts.uri.query());
    let params: Vec<String> = params.iter().map(|p| decode(p, false)).collect();
    let method = &parts.method;
    match (id, endpoint, params.as_slice()) {
        ("storage.objects.insert", Endpoint::MediaUpload, [bucket]) => {
            match (method, param(&query, "upload_id")) {
                (&Method::POST, None) => {
                    upload(storage, bucket, &query, &parts.headers, body).await
                }
                (&Method::DELETE, id) => cancel_session(storage, id.unwrap_or_default()),
                (_, Some(id)) => resumable_put(storage, id, &parts.headers, body).await,
                (_, None) => bad_request("Missing upload_id.").into_response(),
            }
        }
        ("storage.buckets.list", Endpoint::Api, []) => list_buckets(storage),
        ("storage.buckets.insert", Endpoint::Api, []) => {
            let body = match axum::body::to_bytes(body, 1 << 20).await {
                Ok(b) => b,
                Err(e) => return bad_request(format!("Unreadable body: {e}")).into_response(),
            };
            create_bucket(storage, &body)
        }
        ("storage.buckets.get", Endpoint::Api, [bucket]) => match storage.bucket(bucket) {
            Some(b) => json_response(StatusCode::OK, &b.resource()),
            None => not_found("The specified bucket does not exist.").into_response(),
        },
        ("storage.buckets.delete", Endpoint::Api, [bucket]) => delete_bucket(storage, bucket),
        ("storage.objects.list", Endpoint::Api, [bucket]) => list(storage, bucket, &query),
        ("storage.objects.get", _, [bucket, name]) => {
            let media =
                endpoint == Endpoint::MediaDownload || param(&query, "alt") == Some("media");
            get_object(storage, bucket, name, &query, &parts.headers, media)
        }
        ("storage.objects.delete", Endpoint::Api, [bucket, name]) => {
            delete_object(storage, bucket, name, &query)
        }
        ("storage.objects.copy", Endpoint::Api, [src_bucket, src, dst_bucket, dst]) => {
            let body = match axum::body::to_bytes(body, 1 << 20).await {
                Ok(b) => b,
                Err(e) => return bad_request(format!("Unreadable body: {e}")).into_response(),
            };
            copy_object(storage, (src_bucket, src), (dst_bucket, dst), &query, &body)
        }
        _ => not_emulated(method, parts.uri.path()),
    }
}

/// The answer to a request of the surface that is not emulated.
pub fn not_emulated(method: &Method, path: &str) -> Response {
    not_found(format!(
        "{method} {path} is not emulated by gke-emulator's Cloud Storage."
    ))
    .into_response()
}

/// Cancels a resumable upload session (GCS answers 499).
fn cancel_session(storage: &Storage, id: &str) -> Response {
    let gone = storage
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id);
    match gone {
        Some(_) => StatusCode::from_u16(499)
            .unwrap_or(StatusCode::OK)
            .into_response(),
        None => not_found("No such upload session.").into_response(),
    }
}

fn list_buckets(storage: &Storage) -> Response {
    let buckets = storage
        .buckets
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let mut items: Vec<&Arc<Bucket>> = buckets.values().collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let items: Vec<Value> = items.iter().map(|b| b.resource()).collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "storage#buckets", "items": items}),
    )
}

fn create_bucket(storage: &Storage, body: &Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return bad_request("Invalid JSON payload.").into_response();
    };
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return bad_request("Required: the bucket name.").into_response();
    };
    match storage.create_bucket(
        name,
        body["location"].as_str(),
        body["storageClass"].as_str(),
    ) {
        Ok(bucket) => json_response(StatusCode::OK, &bucket.resource()),
        Err(_) => error(
            StatusCode::CONFLICT,
            "conflict",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
        .into_response(),
    }
}

fn delete_bucket(storage: &Storage, name: &str) -> Response {
    let mut buckets = storage
        .buckets
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    match buckets.get(name) {
        None => not_found("The specified bucket does not exist.").into_response(),
        Some(b)
            if !b
                .objects
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty() =>
        {
            error(
                StatusCode::CONFLICT,
                "conflict",
                "The bucket you tried to delete is not empty.",
            )
            .into_response()
        }
        Some(_) => {
            buckets.remove(name);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

fn list(storage: &Storage, bucket: &str, query: &Query) -> Response {
    let Some(bucket) = storage.bucket(bucket) else {
        return not_found("The specified bucket does not exist.").into_response();
    };
    let prefix = param(query, "prefix").unwrap_or_default();
    let delimiter = param(query, "delimiter").filter(|d| !d.is_empty());
    let max = param(query, "maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(1000)
        .min(1000);
    let after = param(query, "pageToken")
        .and_then(|t| STANDARD.decode(t).ok())
        .and_then(|t| String::from_utf8(t).ok());
    let start = match (&after, param(query, "startOffset")) {
        (Some(token), _) => Bound::Excluded(token.clone()),
        (None, Some(offset)) if offset > prefix => Bound::Included(offset.to_string()),
        _ => Bound::Included(prefix.to_string()),
    };
    let end = param(query, "endOffset").filter(|e| !e.is_empty());
    let objects = bucket
        .objects
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let mut items = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut last = None;
    let mut more = false;
    for (name, object) in objects.range((start, Bound::Unbounded)) {
        if !name.starts_with(prefix) || end.is_some_and(|e| name.as_str() >= e) {
            break;
        }
        if items.len() + prefixes.len() >= max {
            more = true;
            break;
        }
        last = Some(name.clone());
        if let Some(d) = delimiter {
            if let Some(at) = name[prefix.len()..].find(d) {
                let p = &name[..prefix.len() + at + d.len()];
                if prefixes.last().map(String::as_str) != Some(p) {
                    prefixes.push(p.to_string());
                }
                continue;
            }
        }
        items.push(object.resource(storage.own()));
    }
    let mut out = Map::new();
    out.insert("kind".into(), json!("storage#objects"));
    if !items.is_empty() {
        out.insert("items".into(), Value::Array(items));
    }
    if !prefixes.is_empty() {
        out.insert("prefixes".into(), json!(prefixes));
    }
    if let (true, Some(last)) = (more, last) {
        out.insert("nextPageToken".into(), json!(STANDARD.encode(last)));
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

fn get_object(
    storage: &Storage,
    bucket: &str,
    name: &str,
    query: &Query,
    headers: &HeaderMap,
    media: bool,
) -> Response {
    let Some(bucket) = storage.bucket(bucket) else {
        return not_found("The specified bucket does not exist.").into_response();
    };
    let object = bucket.object(name);
    let generation = match generation_param(query, "generation") {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let Some(object) = object.filter(|o| generation.is_none_or(|g| g == o.generation)) else {
        return not_found(format!("No such object: {}/{name}", bucket.name)).into_response();
    };
    if let Err(e) = generation_param(query, "ifGenerationMatch")
        .and_then(|w| check_generation(w, Some(object.generation)))
    {
        return e.into_response();
    }
    if !media {
        return json_response(StatusCode::OK, &object.resource(storage.own()));
    }
    let size = object.data.len() as u64;
    let range = header(headers, RANGE.as_str()).and_then(|r| r.trim().strip_prefix("bytes="));
    let (status, slice) = match range.map(|r| parse_range(r, size)) {
        None => (StatusCode::OK, None),
        Some(Some((a, b))) => (StatusCode::PARTIAL_CONTENT, Some((a, b))),
        Some(None) => {
            return error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "requestedRangeNotSatisfiable",
                "The requested range cannot be satisfied.",
            )
            .into_response()
        }
    };
    let hash = format!(
        "crc32c={},md5={}",
        STANDARD.encode(object.crc32c.to_be_bytes()),
        STANDARD.encode(object.md5)
    );
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, object.content_type.as_str())
        .header("x-goog-generation", object.generation.to_string())
        .header("x-goog-metageneration", "1")
        .header("x-goog-stored-content-length", size.to_string())
        .header("x-goog-stored-content-encoding", "identity")
        .header("x-goog-storage-class", "STANDARD")
        .header("x-goog-hash", hash)
        .header("etag", STANDARD.encode(object.generation.to_be_bytes()));
    let data = match slice {
        Some((a, b)) => {
            response = response.header(CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            object.data.slice(a as usize..=b as usize)
        }
        None => object.data.clone(),
    };
    response
        .body(Body::from(data))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `a-b`, `a-` or `-n` → the inclusive span, `None` when it cannot be satisfied.
fn parse_range(spec: &str, size: u64) -> Option<(u64, u64)> {
    let (a, b) = spec.split_once('-')?;
    let (a, b) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, size.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
        ),
    };
    (a <= b && a < size).then_some((a, b))
}

fn delete_object(storage: &Storage, bucket: &str, name: &str, query: &Query) -> Response {
    let Some(bucket) = storage.bucket(bucket) else {
        return not_found("The specified bucket does not exist.").into_response();
    };
    let wanted = match generation_param(query, "ifGenerationMatch") {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let mut objects = bucket
        .objects
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(current) = objects.get(name).map(|o| o.generation) else {
        return not_found(format!("No such object: {}/{name}", bucket.name)).into_response();
    };
    if let Err(e) = check_generation(wanted, Some(current)) {
        return e.into_response();
    }
    objects.remove(name);
    StatusCode::NO_CONTENT.into_response()
}

/// `objects.copy`: the source's bytes as a new object, with the metadata the body gives (else
/// the source's); what rclone uses to set an object's modification time.
fn copy_object(
    storage: &Storage,
    (src_bucket, src): (&str, &str),
    (dst_bucket, dst): (&str, &str),
    query: &Query,
    body: &[u8],
) -> Response {
    let Some(bucket) = storage.bucket(src_bucket) else {
        return not_found("The specified bucket does not exist.").into_response();
    };
    let Some(source) = bucket.object(src) else {
        return not_found(format!("No such object: {src_bucket}/{src}")).into_response();
    };
    let given: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return bad_request(format!("Invalid metadata JSON: {e}")).into_response(),
        }
    };
    let if_generation_match = match generation_param(query, "ifGenerationMatch") {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let upload = Upload {
        bucket: dst_bucket.to_string(),
        name: dst.to_string(),
        content_type: given["contentType"]
            .as_str()
            .map_or_else(|| source.content_type.clone(), str::to_string),
        metadata: given
            .get("metadata")
            .cloned()
            .or_else(|| source.metadata.clone()),
        crc32c: None,
        md5: None,
        if_generation_match,
    };
    match storage.insert(&upload, source.data.clone()) {
        Ok(object) => json_response(StatusCode::OK, &object.resource(storage.own())),
        Err(e) => e.into_response(),
    }
}

/// What a write's metadata and query say about the object to be.
fn upload_of(bucket: &str, query: &Query, metadata: &Value) -> Result<Upload, GcsError> {
    let text = |key: &str| metadata[key].as_str().map(str::to_string);
    Ok(Upload {
        bucket: bucket.to_string(),
        name: param(query, "name")
            .map(str::to_string)
            .or_else(|| text("name"))
            .unwrap_or_default(),
        content_type: text("contentType").unwrap_or_else(|| "application/octet-stream".into()),
        metadata: metadata.get("metadata").cloned(),
        crc32c: text("crc32c"),
        md5: text("md5Hash"),
        if_generation_match: generation_param(query, "ifGenerationMatch")?,
    })
}

async fn upload(
    storage: &Storage,
    bucket: &str,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let kind = param(query, "uploadType").unwrap_or("media");
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return bad_request(format!("Unreadable body: {e}")).into_response(),
    };
    let result = match kind {
        "media" => upload_of(bucket, query, &Value::Null).map(|mut u| {
            if let Some(t) = header(headers, CONTENT_TYPE.as_str()) {
                u.content_type = t.to_string();
            }
            (u, body)
        }),
        "multipart" => multipart_upload(bucket, query, headers, &body),
        "resumable" => return start_session(storage, bucket, query, headers, &body),
        other => Err(bad_request(format!("Unknown uploadType: {other}"))),
    };
    let (upload, data) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    match storage.insert(&upload, data) {
        Ok(object) => json_response(StatusCode::OK, &object.resource(storage.own())),
        Err(e) => e.into_response(),
    }
}

fn multipart_upload(
    bucket: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Upload, Bytes), GcsError> {
    let content_type = header(headers, CONTENT_TYPE.as_str()).unwrap_or_default();
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .ok_or_else(|| bad_request("Missing multipart boundary."))?;
    let parts =
        parse_multipart(body, boundary).ok_or_else(|| bad_request("Malformed multipart body."))?;
    let mut parts = parts.into_iter();
    let (_, metadata) = parts
        .next()
        .ok_or_else(|| bad_request("Missing metadata part."))?;
    let (media_headers, data) = parts
        .next()
        .ok_or_else(|| bad_request("Missing media part."))?;
    let metadata: Value = if metadata.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&metadata)
            .map_err(|e| bad_request(format!("Invalid metadata JSON: {e}")))?
    };
    let mut upload = upload_of(bucket, query, &metadata)?;
    if metadata["contentType"].is_null() {
        if let Some(t) = media_headers.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        }) {
            upload.content_type = t.1.trim().to_string();
        }
    }
    // A trailing part (Rust client) may carry the checksums computed while streaming.
    if let Some((_, trailer)) = parts.next() {
        if let Ok(trailer) = serde_json::from_slice::<Value>(&trailer) {
            upload.crc32c = upload
                .crc32c
                .or(trailer["crc32c"].as_str().map(str::to_string));
            upload.md5 = upload
                .md5
                .or(trailer["md5Hash"].as_str().map(str::to_string));
        }
    }
    Ok((upload, data))
}

/// The parts of a `multipart/related` body: (headers as text, content).
fn parse_multipart(body: &Bytes, boundary: &str) -> Option<Vec<(String, Bytes)>> {
    let dash = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let mut pos = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        find(body, delimiter.as_bytes())? + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Some(parts);
        }
        let line_end = find(&body[pos..], b"\r\n")?;
        pos += line_end + 2;
        let end = pos + find(&body[pos..], delimiter.as_bytes())?;
        let part = &body[pos..end];
        let (head, content) = if part.starts_with(b"\r\n") {
            (String::new(), body.slice(pos + 2..end))
        } else {
            let split = find(part, b"\r\n\r\n")?;
            (
                String::from_utf8_lossy(&part[..split]).into_owned(),
                body.slice(pos + split + 4..end),
            )
        };
        parts.push((head, content));
        pos = end + delimiter.len();
    }
}

fn start_session(
    storage: &Storage,
    bucket: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let metadata: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(m) => m,
            Err(e) => return bad_request(format!("Invalid metadata JSON: {e}")).into_response(),
        }
    };
    let mut upload = match upload_of(bucket, query, &metadata) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if upload.name.is_empty() {
        return bad_request("Required: the object name.").into_response();
    }
    if let Some(t) = header(headers, "x-upload-content-type") {
        if metadata["contentType"].is_null() {
            upload.content_type = t.to_string();
        }
    }
    // A precondition that already fails refuses the session, as GCS does.
    if upload.if_generation_match.is_some() {
        let current = storage
            .bucket(bucket)
            .and_then(|b| b.object(&upload.name))
            .map(|o| o.generation);
        if let Err(e) = check_generation(upload.if_generation_match, current) {
            return e.into_response();
        }
    }
    let size = header(headers, "x-upload-content-length").and_then(|s| s.parse().ok());
    let id = format!(
        "ADPyc{:016x}{:08x}",
        now_ms(),
        storage.next_session.fetch_add(1, Ordering::Relaxed)
    );
    // The session URI names the host the client called, with the port it left out.
    let host = match (header(headers, HOST.as_str()), storage.address.get()) {
        (Some(h), Some(own)) if !h.contains(':') => match own.rsplit_once(':') {
            Some((_, port)) => format!("{h}:{port}"),
            None => own.clone(),
        },
        (Some(h), _) => h.to_string(),
        (None, own) => own.cloned().unwrap_or_else(|| "127.0.0.1".into()),
    };
    let location = format!(
        "http://{host}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}&upload_id={id}",
        encode(bucket),
        encode(&upload.name)
    );
    storage
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            id,
            Arc::new(Mutex::new(Session {
                upload,
                size,
                data: Vec::new(),
                done: None,
            })),
        );
    (StatusCode::OK, [(LOCATION, location)]).into_response()
}

/// `bytes a-b/total`, `bytes a-b/*`, `bytes */total` or `bytes */*`.
struct ContentRange {
    span: Option<(u64, u64)>,
    total: Option<u64>,
}

fn parse_content_range(text: &str) -> Option<ContentRange> {
    let rest = text.trim().strip_prefix("bytes")?.trim();
    let (span, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let span = match span.trim() {
        "*" => None,
        s => {
            let (a, b) = s.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        }
    };
    Some(ContentRange { span, total })
}

/// "Resume incomplete": 308, with the committed range. A client that sends
/// `X-Guploader-No-308: yes` (Google's Go client, so rclone) gets GCS's other form: 200 with
/// `X-Http-Status-Code-Override: 308`.
fn incomplete(committed: usize, no_308: bool) -> Response {
    let mut response = if no_308 {
        Response::builder()
            .status(StatusCode::OK)
            .header("x-http-status-code-override", "308")
    } else {
        Response::builder().status(StatusCode::PERMANENT_REDIRECT)
    };
    if committed > 0 {
        response = response.header(RANGE, format!("bytes=0-{}", committed - 1));
    }
    response
        .header("x-guploader-uploadid", "gke-emulator")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn resumable_put(storage: &Storage, id: &str, headers: &HeaderMap, body: Body) -> Response {
    let session = storage
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
        .cloned();
    let Some(session) = session else {
        return not_found("No such upload session.").into_response();
    };
    let length = header(headers, "content-length").and_then(|l| l.parse::<usize>().ok());
    // The bytes are read before the session is locked; a body cut short commits the whole
    // units it brought, as GCS does.
    let mut received = Vec::with_capacity(length.unwrap_or(0).min(256 << 20));
    let mut stream = body.into_data_stream();
    let mut cut = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => received.extend_from_slice(&chunk),
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    let range = match header(headers, CONTENT_RANGE.as_str()) {
        Some(text) => match parse_content_range(text) {
            Some(r) => r,
            None => return bad_request(format!("Invalid Content-Range: {text}")).into_response(),
        },
        // Without Content-Range the body is the whole object.
        None => ContentRange {
            span: (!received.is_empty()).then(|| (0, received.len() as u64 - 1)),
            total: Some(received.len() as u64),
        },
    };
    let mut s = session.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(done) = &s.done {
        return json_response(StatusCode::OK, &done.resource(storage.own()));
    }
    if let Some(total) = range.total {
        s.size = Some(total);
    }
    if let Some((a, b)) = range.span {
        let committed = s.data.len() as u64;
        if a > committed {
            return bad_request(format!(
                "Invalid request: the upload holds {committed} bytes, this chunk starts at {a}."
            ))
            .into_response();
        }
        if !cut && b + 1 - a != received.len() as u64 {
            return bad_request("Content-Range does not match the length of the body.")
                .into_response();
        }
        let mut keep = received.len();
        if cut {
            // Only whole units of what was sent are kept (the final unit would be incomplete).
            let end = (a as usize + keep) / UNIT * UNIT;
            keep = end.saturating_sub(a as usize);
        }
        let skip = (committed - a) as usize;
        if skip == 0 && s.data.is_empty() {
            // The usual first (or only) chunk: kept as received, not copied.
            received.truncate(keep);
            s.data = received;
        } else if skip < keep {
            s.data.extend_from_slice(&received[skip..keep]);
        }
        if cut {
            return bad_request("The request body was cut short.").into_response();
        }
    }
    let committed = s.data.len();
    match s.size {
        Some(size) if committed as u64 == size => {
            let data = Bytes::from(std::mem::take(&mut s.data));
            match storage.insert(&s.upload, data) {
                Ok(object) => {
                    s.done = Some(object.clone());
                    json_response(StatusCode::OK, &object.resource(storage.own()))
                }
                Err(e) => e.into_response(),
            }
        }
        Some(size) if committed as u64 > size => {
            bad_request("The upload holds more bytes than its announced size.").into_response()
        }
        _ => incomplete(
            committed,
            header(headers, "x-guploader-no-308").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_split_into_their_parts() {
        let body = Bytes::from_static(
            b"--XY\r\ncontent-type: application/json\r\n\r\n{\"name\":\"a\"}\r\n--XY\r\n\r\nhello\r\n--XY--",
        );
        let parts = parse_multipart(&body, "XY").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "content-type: application/json");
        assert_eq!(&parts[0].1[..], b"{\"name\":\"a\"}");
        assert_eq!(&parts[1].1[..], b"hello");
    }

    #[test]
    fn ranges_and_content_ranges_parse_like_gcs() {
        assert_eq!(parse_range("0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("90-", 100), Some((90, 99)));
        assert_eq!(parse_range("-10", 100), Some((90, 99)));
        assert_eq!(parse_range("100-", 100), None);
        let r = parse_content_range("bytes 0-262143/1000000").unwrap();
        assert_eq!((r.span, r.total), (Some((0, 262143)), Some(1000000)));
        let r = parse_content_range("bytes */*").unwrap();
        assert_eq!((r.span, r.total), (None, None));
        assert_eq!(decode("a%2Fb+c", false), "a/b+c");
        assert_eq!(decode("a%2Fb+c", true), "a/b c");
    }
}
