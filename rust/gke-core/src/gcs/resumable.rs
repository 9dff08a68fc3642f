//! Resumable uploads that survive the process: the session URI GCS hands out is kept in a
//! state file (mode 0600, never logged) keyed by destination object, size and CRC32C, so the
//! next run asks GCS how much it committed (`Content-Range: bytes */SIZE`) and sends only the
//! rest. Google's client keeps its session in memory only, hence this module (on reqwest).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{ApiFailure, GkeError, Result};
use crate::gcs::checksum::encode_crc32c;
use crate::gcs::client::{encode, GcsClient, JsonObject, RemoteObject};
use crate::net::private_file::write_private;

/// GCS forgets an unfinished session after a week; older saved sessions are not tried.
const SESSION_LIFETIME: Duration = Duration::from_secs(6 * 24 * 3600);

/// Where the sessions of unfinished uploads are kept between runs: `GKE_NATIVE_STATE_DIR`,
/// else DSS's data directory (`$DIP_HOME/caches/gke-native`, which outlives a job's working
/// directory), else the user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`, then
/// `gke-native`); `None` when none is known (uploads then resume within a run only).
pub fn default_state_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if let Some(dir) = env("GKE_NATIVE_STATE_DIR") {
        PathBuf::from(dir)
    } else if let Some(dip) = env("DIP_HOME") {
        Path::new(&dip).join("caches").join("gke-native")
    } else if let Some(cache) = env("XDG_CACHE_HOME") {
        Path::new(&cache).join("gke-native")
    } else {
        Path::new(&env("HOME")?).join(".cache").join("gke-native")
    };
    Some(base.join("gcs-uploads"))
}

/// The saved sessions, one small JSON file each, readable by this user only.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

/// One saved session. The URI alone grants writing the object: it is a secret.
#[derive(Serialize, Deserialize)]
struct Saved {
    uri: String,
    bucket: String,
    object: String,
    size: u64,
    crc32c: String,
    created: u64,
}

impl SessionStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, bucket: &str, object: &str, size: u64, crc32c: u32) -> PathBuf {
        let hex = format!(
            "{:x}",
            md5::compute(format!("{bucket}\n{object}\n{size}\n{crc32c}"))
        );
        self.dir.join(format!("{hex}.json"))
    }

    fn load(&self, bucket: &str, object: &str, size: u64, crc32c: u32) -> Option<String> {
        let path = self.file(bucket, object, size, crc32c);
        let saved: Saved = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        let fresh = now.saturating_sub(saved.created) < SESSION_LIFETIME.as_secs();
        let same = saved.bucket == bucket
            && saved.object == object
            && saved.size == size
            && saved.crc32c == encode_crc32c(crc32c);
        if fresh && same {
            Some(saved.uri)
        } else {
            let _ = std::fs::remove_file(path);
            None
        }
    }

    fn save(&self, bucket: &str, object: &str, size: u64, crc32c: u32, uri: &str) {
        let saved = Saved {
            uri: uri.to_string(),
            bucket: bucket.to_string(),
            object: object.to_string(),
            size,
            crc32c: encode_crc32c(crc32c),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let path = self.file(bucket, object, size, crc32c);
        if let Err(e) = write_private(&path, &serde_json::to_vec(&saved).unwrap()) {
            // Not fatal: the upload goes on, it just cannot resume in a later run.
            tracing::warn!(
                "could not keep the upload session of gs://{bucket}/{object} in {}: {e}",
                self.dir.display()
            );
        }
    }

    fn forget(&self, bucket: &str, object: &str, size: u64, crc32c: u32) {
        let _ = std::fs::remove_file(self.file(bucket, object, size, crc32c));
    }
}

/// Where a session stands.
enum Status {
    /// GCS committed this many bytes and waits for the rest.
    Partial(u64),
    /// The object exists: the upload was finished.
    Finished(RemoteObject),
    /// GCS no longer knows the session (404, 410): start another.
    Gone,
}

/// Uploads `size` bytes as `bucket/name` through a resumable session, resuming a session a
/// previous run saved in `store`. `body_from(offset)` gives the file's bytes from `offset` to
/// the end. The CRC32C goes with the session's metadata: GCS refuses other content.
pub(crate) async fn upload<F, Fut>(
    client: &GcsClient,
    bucket: &str,
    name: &str,
    size: u64,
    crc32c: u32,
    store: Option<&SessionStore>,
    body_from: F,
) -> Result<RemoteObject>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<reqwest::Body>>,
{
    let what = format!("uploading gs://{bucket}/{name}");
    let backoff = client.backoff();
    let mut session = store.and_then(|s| s.load(bucket, name, size, crc32c));
    // Whether GCS may hold part of the session's bytes, so is asked before sending: a session
    // saved by an earlier run, or one whose last send was cut short. A session just opened
    // holds nothing (and asking some emulators about it finishes it empty).
    let mut ask = session.is_some();
    let mut failures = 0u32;
    loop {
        let uri = match session.clone() {
            Some(uri) => uri,
            None => {
                let uri = start(client, bucket, name, size, crc32c)
                    .await
                    .map_err(|e| client.storage_error(&what, e))?;
                if let Some(s) = store {
                    s.save(bucket, name, size, crc32c, &uri);
                }
                session = Some(uri.clone());
                ask = false;
                uri
            }
        };
        // Where to start: 0 for a new session, else what GCS says it holds.
        let status = if ask {
            query(client, &uri, size).await
        } else {
            Ok(Status::Partial(0))
        };
        let outcome = match status {
            Ok(Status::Gone) => {
                tracing::info!("{what}: the upload session expired; starting a new one");
                forget(store, bucket, name, size, crc32c);
                session = None;
                continue;
            }
            Ok(Status::Finished(object)) => Ok(object),
            Ok(Status::Partial(offset)) => {
                if offset > 0 {
                    tracing::info!("{what}: resuming at byte {offset} of {size}");
                }
                send(client, &uri, offset, size, &body_from).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(object)
                if object.size == size && object.checksums.crc32c.is_none_or(|c| c == crc32c) =>
            {
                forget(store, bucket, name, size, crc32c);
                return Ok(object);
            }
            Ok(object) if object.size != size && failures + 1 < backoff.attempts => {
                // Part of the file: some emulators finish a session on a status query with
                // what they had. Remove that object (this generation only) and start over.
                let _ = client.delete(bucket, name, Some(object.generation)).await;
                forget(store, bucket, name, size, crc32c);
                session = None;
                tokio::time::sleep(backoff.delay(failures)).await;
                failures += 1;
            }
            Ok(object) => {
                // Not the bytes announced (the file changed?): never leave that object.
                let _ = client.delete(bucket, name, Some(object.generation)).await;
                forget(store, bucket, name, size, crc32c);
                return Err(GkeError::storage(format!(
                    "{what}: GCS holds {} bytes of {size} with another CRC32C than the file's; the object was removed: run the sync again",
                    object.size
                )));
            }
            // Bounded like the rest: a server that forgets every session is not retried forever.
            Err(GkeError::Api(f))
                if (f.status == 404 || f.status == 410) && failures + 1 < backoff.attempts =>
            {
                tracing::info!("{what}: the upload session expired; starting a new one");
                forget(store, bucket, name, size, crc32c);
                session = None;
                failures += 1;
            }
            Err(e) if e.is_retryable() && failures + 1 < backoff.attempts => {
                let pause = backoff.delay(failures);
                tracing::info!(
                    "{what} was interrupted ({}); resuming in {:.1}s",
                    scrub(&e.to_string(), &uri),
                    pause.as_secs_f64()
                );
                tokio::time::sleep(pause).await;
                ask = true;
                failures += 1;
            }
            Err(e) => {
                // The session stays saved: a later run resumes it.
                return Err(client.storage_error(&what, scrubbed(e, &uri)));
            }
        }
    }
}

fn forget(store: Option<&SessionStore>, bucket: &str, name: &str, size: u64, crc32c: u32) {
    if let Some(s) = store {
        s.forget(bucket, name, size, crc32c);
    }
}

/// Never let the session URI (it carries the upload id) reach a message.
fn scrub(text: &str, uri: &str) -> String {
    let id_start = uri.find("upload_id=").map(|i| &uri[i..]);
    let mut out = text.replace(uri, "<upload session>");
    if let Some(id) = id_start {
        out = out.replace(id, "upload_id=<secret>");
    }
    out
}

fn scrubbed(e: GkeError, uri: &str) -> GkeError {
    match e {
        GkeError::Api(mut f) => {
            f.message = scrub(&f.message, uri);
            f.request = scrub(&f.request, uri);
            GkeError::Api(f)
        }
        GkeError::Storage(mut f) => {
            f.message = scrub(&f.message, uri);
            GkeError::Storage(f)
        }
        other => other,
    }
}

fn unavailable(client: &GcsClient, request: &str, e: &reqwest::Error) -> GkeError {
    GkeError::Api(ApiFailure {
        status: 0,
        code: "UNAVAILABLE".into(),
        message: format!(
            "no answer from {}: {}",
            client.endpoint(),
            crate::gcs::client::error_chain(e)
        ),
        request: request.to_string(),
    })
}

async fn refusal(request: &str, response: reqwest::Response) -> GkeError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    GkeError::Api(ApiFailure::from_response(
        status,
        request.to_string(),
        &body,
    ))
}

async fn object_of(request: &str, response: reqwest::Response) -> Result<RemoteObject> {
    let body = response.text().await.map_err(|e| {
        GkeError::Api(ApiFailure {
            status: 0,
            code: "UNAVAILABLE".into(),
            message: format!("the answer was cut short: {e}"),
            request: request.to_string(),
        })
    })?;
    let object: JsonObject = serde_json::from_str(&body)
        .map_err(|e| GkeError::storage(format!("unexpected answer to {request}: {e}")))?;
    Ok(object.into_remote())
}

/// Opens a session; its URI is in the `Location` of the answer.
async fn start(
    client: &GcsClient,
    bucket: &str,
    name: &str,
    size: u64,
    crc32c: u32,
) -> Result<String> {
    let request = format!("POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable");
    let url = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
        client.endpoint(),
        encode(bucket),
        encode(name)
    );
    let metadata = serde_json::json!({"name": name, "crc32c": encode_crc32c(crc32c)});
    client
        .backoff()
        .retry("starting an upload", || async {
            let builder = client
                .authorized(client.http().post(&url))
                .await?
                .header("X-Upload-Content-Type", "application/octet-stream")
                .header("X-Upload-Content-Length", size.to_string())
                .json(&metadata);
            let response = builder
                .send()
                .await
                .map_err(|e| unavailable(client, &request, &e))?;
            if !response.status().is_success() {
                return Err(refusal(&request, response).await);
            }
            response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| GkeError::storage(format!("{request}: GCS gave no upload session")))
        })
        .await
}

/// Asks GCS how much of the session it holds.
async fn query(client: &GcsClient, uri: &str, size: u64) -> Result<Status> {
    let request = "PUT <upload session> (status)";
    let response = client
        .authorized(client.http().put(uri))
        .await?
        .header(reqwest::header::CONTENT_RANGE, format!("bytes */{size}"))
        .header(reqwest::header::CONTENT_LENGTH, "0")
        .send()
        .await
        .map_err(|e| unavailable(client, request, &e))?;
    match response.status().as_u16() {
        200 | 201 => Ok(Status::Finished(object_of(request, response).await?)),
        308 => Ok(Status::Partial(committed(response.headers()))),
        404 | 410 => Ok(Status::Gone),
        _ => Err(refusal(request, response).await),
    }
}

/// The bytes GCS committed, from a 308's `Range: bytes=0-N` (none yet without one).
fn committed(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.trim().strip_prefix("bytes=0-"))
        .and_then(|end| end.parse::<u64>().ok())
        .map_or(0, |end| end + 1)
}

/// Sends the bytes from `offset` to the end in one request (a dropped connection is resumed
/// by the caller from what GCS committed).
async fn send<F, Fut>(
    client: &GcsClient,
    uri: &str,
    offset: u64,
    size: u64,
    body_from: &F,
) -> Result<RemoteObject>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<reqwest::Body>>,
{
    let request = "PUT <upload session>";
    let body = body_from(offset).await?;
    let response = client
        .authorized(client.http().put(uri))
        .await?
        .header(
            reqwest::header::CONTENT_RANGE,
            format!("bytes {offset}-{}/{size}", size - 1),
        )
        .header(reqwest::header::CONTENT_LENGTH, (size - offset).to_string())
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| unavailable(client, request, &e))?;
    match response.status().as_u16() {
        200 | 201 => object_of(request, response).await,
        // GCS kept only part: the caller asks how much and sends the rest.
        308 => Err(GkeError::Api(ApiFailure {
            status: 503,
            code: "UNAVAILABLE".into(),
            message: format!(
                "GCS committed {} of {size} bytes",
                committed(response.headers())
            ),
            request: request.to_string(),
        })),
        _ => Err(refusal(request, response).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_kept_privately_and_matched_exactly() {
        let dir = std::env::temp_dir().join(format!("gke-native-sessions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SessionStore::new(dir.join("state"));
        store.save("b", "o", 10, 7, "http://h/u?upload_id=s3cret");
        let file = store.file("b", "o", 10, 7);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert_eq!(store.load("b", "o", 11, 7), None, "another size");
        assert_eq!(store.load("b", "o", 10, 8), None, "another CRC32C");
        assert_eq!(
            store.load("b", "o", 10, 7).as_deref(),
            Some("http://h/u?upload_id=s3cret")
        );
        store.forget("b", "o", 10, 7);
        assert_eq!(store.load("b", "o", 10, 7), None);
        assert!(!file.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn session_uris_never_reach_messages() {
        let uri = "http://h/upload?uploadType=resumable&upload_id=s3cret";
        let text = format!("error sending request for url ({uri}): refused");
        assert!(!scrub(&text, uri).contains("s3cret"));
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(committed(&headers), 0);
        headers.insert(reqwest::header::RANGE, "bytes=0-262143".parse().unwrap());
        assert_eq!(committed(&headers), 262_144);
    }
}
