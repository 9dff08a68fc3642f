//! The GCS endpoint and identity: Google's `google-cloud-storage` client for object data
//! (resumable uploads, checksummed reads) and reqwest for the JSON-API calls that client lacks
//! over HTTP (bucket metadata, listing, deletion, `testIamPermissions`).

use std::time::Duration;

use google_cloud_gax::retry_policy::RetryPolicyExt;
use google_cloud_storage::client::Storage;
use google_cloud_storage::read_object::ReadObjectResponse;
use google_cloud_storage::retry_policy::RetryableErrors;
use google_cloud_storage::streaming_source::{Seek, StreamingSource};
use serde::Deserialize;

use crate::auth::credentials::GoogleCredentials;
use crate::error::{status_code_name, ApiFailure, Failure, GkeError, Result};
use crate::gcs::checksum::ObjectChecksums;
use crate::net::http::{client_builder, install_crypto_provider, success_body};
use crate::net::retry::Backoff;

/// Google's production endpoint.
pub const GCS_ENDPOINT: &str = "https://storage.googleapis.com";

/// Where and as whom to reach GCS.
#[derive(Debug, Clone, Default)]
pub struct GcsOptions {
    /// `http(s)://host[:port]`; `None` = `STORAGE_EMULATOR_HOST` if set, else Google's endpoint.
    pub endpoint: Option<String>,
    /// Service-account key (JSON text or a path); blank = the default credential chain, or no
    /// credentials at all against an emulator.
    pub key: String,
    /// The field the key came from, for messages.
    pub key_field: String,
}

impl GcsOptions {
    /// The endpoint to use and whether it is an emulator (explicit, or from the environment).
    fn resolve_endpoint(&self) -> (String, bool) {
        let given = self
            .endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .or_else(|| std::env::var("STORAGE_EMULATOR_HOST").ok())
            .filter(|e| !e.trim().is_empty());
        match given {
            None => (GCS_ENDPOINT.to_string(), false),
            Some(e) => {
                let e = e.trim().trim_end_matches('/');
                let url = if e.contains("://") {
                    e.to_string()
                } else {
                    format!("http://{e}")
                };
                let emulator = url != GCS_ENDPOINT;
                (url, emulator)
            }
        }
    }
}

/// An object as listed, with what a sync compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    pub name: String,
    pub size: u64,
    pub generation: i64,
    pub checksums: ObjectChecksums,
}

/// A bucket's metadata, as the access check shows it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketInfo {
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub location_type: String,
    #[serde(default)]
    pub storage_class: String,
}

/// An object resource of the JSON API, the fields a sync reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsonObject {
    name: String,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    generation: Option<String>,
    #[serde(default)]
    crc32c: Option<String>,
    #[serde(default)]
    md5_hash: Option<String>,
}

impl JsonObject {
    pub(crate) fn into_remote(self) -> RemoteObject {
        RemoteObject {
            size: self.size.and_then(|s| s.parse().ok()).unwrap_or(0),
            generation: self.generation.and_then(|s| s.parse().ok()).unwrap_or(0),
            checksums: ObjectChecksums::from_json(self.crc32c.as_deref(), self.md5_hash.as_deref()),
            name: self.name,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    items: Vec<JsonObject>,
    /// With a delimiter: the "folders" directly under the prefix.
    #[serde(default)]
    prefixes: Vec<String>,
    next_page_token: Option<String>,
}

/// A connected GCS client; cheap to clone (both inner clients share their connection pools).
#[derive(Clone)]
pub struct GcsClient {
    http: reqwest::Client,
    storage: Storage,
    endpoint: String,
    credentials: Option<GoogleCredentials>,
    identity: String,
    backoff: Backoff,
}

impl std::fmt::Debug for GcsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsClient")
            .field("endpoint", &self.endpoint)
            .field("identity", &self.identity)
            .finish()
    }
}

/// Patience for GCS calls: long enough for a front-end restart, short enough that a wrong
/// endpoint fails in seconds.
const GCS_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(250),
    max: Duration::from_secs(4),
    multiplier: 2.0,
    attempts: 6,
};

impl GcsClient {
    pub async fn connect(options: &GcsOptions) -> Result<Self> {
        install_crypto_provider();
        let (endpoint, emulator) = options.resolve_endpoint();
        let credentials = if options.key.trim().is_empty() && emulator {
            None
        } else {
            Some(GoogleCredentials::from_key_or_default(
                &options.key,
                &options.key_field,
            )?)
        };
        let identity = match &credentials {
            None => "anonymous (emulator)".to_string(),
            Some(c) => c.source().to_string(),
        };
        let client_credentials = match &credentials {
            Some(c) => c.for_clients(),
            None => google_cloud_auth::credentials::anonymous::Builder::new().build(),
        };
        let storage = Storage::builder()
            .with_endpoint(endpoint.clone())
            .with_credentials(client_credentials)
            .with_retry_policy(
                RetryableErrors
                    .with_attempt_limit(GCS_BACKOFF.attempts)
                    .with_time_limit(Duration::from_secs(60)),
            )
            .build()
            .await
            .map_err(|e| GkeError::Setup(format!("the GCS client could not start: {e}")))?;
        let http = client_builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| GkeError::Setup(format!("the HTTP client could not start: {e}")))?;
        Ok(Self {
            http,
            storage,
            endpoint,
            credentials,
            identity,
            backoff: GCS_BACKOFF,
        })
    }

    /// Who the calls run as, for messages (never a secret).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The service account's email when a key names it.
    pub fn client_email(&self) -> Option<&str> {
        self.credentials.as_ref().and_then(|c| c.client_email())
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// `builder` with the caller's access token, if it has credentials.
    pub(crate) async fn authorized(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        match &self.credentials {
            None => Ok(builder),
            Some(c) => {
                let token = c
                    .access_token()
                    .await
                    .map_err(|e| GkeError::storage(format!("no access token for GCS: {e}")))?;
                Ok(builder.bearer_auth(token))
            }
        }
    }

    fn json_url(&self, path: &str) -> String {
        format!("{}/storage/v1/{path}", self.endpoint)
    }

    /// One JSON-API call with retries; `what` names it in messages (`reading bucket 'x'`).
    /// Refusals are left as [`GkeError::Api`]: callers that expect some decide, the others
    /// make them [`Self::storage_error`]s.
    async fn call(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<String>> {
        let url = self.json_url(path);
        let request = format!("{method} /storage/v1/{path}");
        self.backoff
            .retry(what, || async {
                let mut builder = self.http.request(method.clone(), &url).query(query);
                if let Some(c) = &self.credentials {
                    let token = c.access_token().await.map_err(|e| {
                        GkeError::storage(format!("{what}: no access token for GCS: {e}"))
                    })?;
                    builder = builder.bearer_auth(token);
                }
                let response = builder.send().await.map_err(|e| {
                    GkeError::Api(ApiFailure {
                        status: 0,
                        code: "UNAVAILABLE".into(),
                        message: format!("no answer from {}: {}", self.endpoint, error_chain(&e)),
                        request: request.clone(),
                    })
                })?;
                match success_body(response, &request).await {
                    Ok(body) => Ok(Some(body)),
                    // No IAM policy to read (404) is an answer, not a failure.
                    Err(e)
                        if e.status() == Some(404)
                            && method == reqwest::Method::GET
                            && path.contains("/iam/") =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// A refusal turned into the message a DSS admin reads.
    pub(crate) fn storage_error(&self, what: &str, error: GkeError) -> GkeError {
        match error {
            GkeError::Api(f) => GkeError::Storage(Failure::refused(
                format!(
                    "{what}: {} {} ({}): {} [{}]",
                    f.status,
                    f.code,
                    f.request,
                    f.message,
                    self.hint(f.status)
                ),
                f.status,
                Some(f.code),
            )),
            other => other,
        }
    }

    fn hint(&self, status: u16) -> String {
        match status {
            0 => format!("is the endpoint {} right and reachable?", self.endpoint),
            401 => "the credentials were not accepted: check the service-account key".into(),
            403 => format!(
                "{} lacks a permission on the bucket: grant it roles/storage.objectViewer to read, roles/storage.objectAdmin to write and delete",
                self.identity
            ),
            404 => "not found: check the bucket name (buckets are global; the bucket must exist)".into(),
            429 => "GCS throttled the requests even after retries: lower the parallelism or try again later".into(),
            s if s >= 500 => "GCS failed even after retries: try again later".into(),
            _ => "see the message".into(),
        }
    }

    pub async fn get_bucket(&self, bucket: &str) -> Result<BucketInfo> {
        let what = format!("reading bucket '{bucket}'");
        let path = format!("b/{}", encode(bucket));
        let body = self
            .call(&what, reqwest::Method::GET, &path, &[])
            .await
            .map_err(|e| self.storage_error(&what, e))?
            .unwrap_or_default();
        serde_json::from_str(&body)
            .map_err(|e| GkeError::storage(format!("bucket '{bucket}': unexpected answer: {e}")))
    }

    /// Every object under `prefix`, page by page (1,000 per page, GCS's maximum).
    /// Every object under `prefix`, listed as `rclone` lists a tree: level by level by `/`
    /// (the folders of a level side by side) until there are at least `LIST_AT_ONCE` folders
    /// (or `LEVELS_MAX` levels), then each of those folders whole, `LIST_AT_ONCE` at a time,
    /// rather than one page of 1,000 after the other. When a level has more than
    /// `FOLDERS_APART_MAX` folders, the level above is listed whole instead (fewer calls for
    /// many small folders).
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<RemoteObject>> {
        use futures::{StreamExt, TryStreamExt};
        const LIST_AT_ONCE: usize = 8;
        const LEVELS_MAX: usize = 4;
        const FOLDERS_APART_MAX: usize = 256;
        let whole = |folders: Vec<String>| async move {
            let listed: Vec<Vec<RemoteObject>> = futures::stream::iter(folders)
                .map(|folder| async move { self.list_pages(bucket, &folder, None).await })
                .buffered(LIST_AT_ONCE)
                .try_collect()
                .await?;
            Ok::<_, GkeError>(listed.into_iter().flatten())
        };
        let mut out = Vec::new();
        let mut frontier = vec![prefix.to_string()];
        for _ in 0..LEVELS_MAX {
            if frontier.len() >= LIST_AT_ONCE || frontier.is_empty() {
                break;
            }
            let levels: Vec<(Vec<RemoteObject>, Vec<String>)> =
                futures::stream::iter(frontier.clone())
                    .map(|folder| async move { self.list_level(bucket, &folder).await })
                    .buffered(LIST_AT_ONCE)
                    .try_collect()
                    .await?;
            let below: usize = levels.iter().map(|(_, f)| f.len()).sum();
            if below > FOLDERS_APART_MAX {
                out.extend(whole(frontier).await?);
                return Ok(out);
            }
            frontier = Vec::with_capacity(below);
            for (objects, folders) in levels {
                out.extend(objects);
                frontier.extend(folders);
            }
        }
        out.extend(whole(frontier).await?);
        Ok(out)
    }

    /// The objects directly under `prefix`, and the folders under it (delimiter `/`).
    async fn list_level(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(Vec<RemoteObject>, Vec<String>)> {
        let (objects, mut folders) = self.list_paged(bucket, prefix, true, None).await?;
        folders.sort();
        folders.dedup();
        Ok((objects, folders))
    }

    /// At most `limit` objects (one page), to check that listing works.
    pub async fn list_some(
        &self,
        bucket: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<RemoteObject>> {
        self.list_pages(bucket, prefix, Some(limit)).await
    }

    async fn list_pages(
        &self,
        bucket: &str,
        prefix: &str,
        limit: Option<u32>,
    ) -> Result<Vec<RemoteObject>> {
        Ok(self.list_paged(bucket, prefix, false, limit).await?.0)
    }

    /// The objects under `prefix` (only those directly under it with `by_folder`, then also
    /// the folders under it), page after page; one page only with a `limit`.
    async fn list_paged(
        &self,
        bucket: &str,
        prefix: &str,
        by_folder: bool,
        limit: Option<u32>,
    ) -> Result<(Vec<RemoteObject>, Vec<String>)> {
        let what = format!("listing gs://{bucket}/{prefix}");
        let (mut objects, mut folders) = (Vec::new(), Vec::new());
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("prefix", prefix.to_string()),
                ("maxResults", limit.unwrap_or(1000).to_string()),
                (
                    "fields",
                    "items(name,size,generation,crc32c,md5Hash),prefixes,nextPageToken".to_string(),
                ),
            ];
            if by_folder {
                query.push(("delimiter", "/".to_string()));
            }
            if let Some(t) = &token {
                query.push(("pageToken", t.clone()));
            }
            let path = format!("b/{}/o", encode(bucket));
            let body = self
                .call(&what, reqwest::Method::GET, &path, &query)
                .await
                .map_err(|e| self.storage_error(&what, e))?
                .unwrap_or_default();
            let page: ListPage = serde_json::from_str(&body)
                .map_err(|e| GkeError::storage(format!("{what}: unexpected answer: {e}")))?;
            objects.extend(page.items.into_iter().map(JsonObject::into_remote));
            // Only folders below the prefix: a server that ignores the delimiter lists every
            // object instead, and none is missed.
            folders.extend(
                page.prefixes
                    .into_iter()
                    .filter(|f| f.len() > prefix.len() && f.starts_with(prefix)),
            );
            token = page.next_page_token.filter(|t| !t.is_empty());
            if token.is_none() || limit.is_some() {
                return Ok((objects, folders));
            }
        }
    }

    /// The object's metadata, `None` when it does not exist.
    pub async fn get_object(&self, bucket: &str, name: &str) -> Result<Option<RemoteObject>> {
        let what = format!("reading gs://{bucket}/{name}");
        let path = format!("b/{}/o/{}", encode(bucket), encode(name));
        match self.call(&what, reqwest::Method::GET, &path, &[]).await {
            Ok(body) => {
                let o: JsonObject = serde_json::from_str(&body.unwrap_or_default())
                    .map_err(|e| GkeError::storage(format!("{what}: unexpected answer: {e}")))?;
                Ok(Some(o.into_remote()))
            }
            Err(GkeError::Api(f)) if f.status == 404 => Ok(None),
            Err(e) => Err(self.storage_error(&what, e)),
        }
    }

    /// Deletes `name`; with `generation`, only if the object is still that version.
    pub async fn delete(&self, bucket: &str, name: &str, generation: Option<i64>) -> Result<()> {
        let mut query = Vec::new();
        if let Some(g) = generation {
            query.push(("ifGenerationMatch", g.to_string()));
        }
        let what = format!("deleting gs://{bucket}/{name}");
        let path = format!("b/{}/o/{}", encode(bucket), encode(name));
        self.call(&what, reqwest::Method::DELETE, &path, &query)
            .await
            .map(|_| ())
            .map_err(|e| self.storage_error(&what, e))
    }

    /// Which of `permissions` the caller holds on the bucket; `None` when the server does not
    /// implement `testIamPermissions` (emulators).
    pub async fn test_permissions(
        &self,
        bucket: &str,
        permissions: &[&str],
    ) -> Result<Option<Vec<String>>> {
        let query: Vec<(&str, String)> = permissions
            .iter()
            .map(|p| ("permissions", p.to_string()))
            .collect();
        let what = format!("testing permissions on bucket '{bucket}'");
        let path = format!("b/{}/iam/testPermissions", encode(bucket));
        let Some(body) = self
            .call(&what, reqwest::Method::GET, &path, &query)
            .await
            .map_err(|e| self.storage_error(&what, e))?
        else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            permissions: Vec<String>,
        }
        let answer: Answer = serde_json::from_str(&body).map_err(|e| {
            GkeError::storage(format!(
                "testIamPermissions on '{bucket}': unexpected answer: {e}"
            ))
        })?;
        Ok(Some(answer.permissions))
    }

    /// Uploads `source` as `name`, whose CRC32C is `crc32c`, in one multipart request (the
    /// cheapest shape for small files; large ones go through [`crate::gcs::resumable`]). The
    /// CRC32C goes with the object's metadata: GCS refuses content that does not match it.
    pub async fn upload<S>(
        &self,
        bucket: &str,
        name: &str,
        source: S,
        crc32c: u32,
    ) -> Result<RemoteObject>
    where
        S: StreamingSource + Seek + Send + Sync + 'static,
        <S as StreamingSource>::Error: std::error::Error + Send + Sync + 'static,
        <S as Seek>::Error: std::error::Error + Send + Sync + 'static,
    {
        let write = self
            .storage
            .write_object(bucket_resource(bucket), name, source)
            .with_known_crc32c(crc32c)
            .with_checksum_precomputation(false)
            .with_resumable_upload_threshold(usize::MAX);
        let object = write
            // The whole file is sent again on a retry: the same bytes, so safe to repeat.
            .with_idempotency(true)
            .send_unbuffered()
            .await
            .map_err(|e| self.crate_error(&format!("uploading gs://{bucket}/{name}"), e))?;
        let checksums = object.checksums.unwrap_or_default();
        Ok(RemoteObject {
            name: object.name,
            size: object.size.max(0) as u64,
            generation: object.generation,
            checksums: ObjectChecksums {
                crc32c: checksums.crc32c,
                md5: checksums.md5_hash.as_ref().try_into().ok(),
            },
        })
    }

    /// Starts reading one generation of an object (the client checks its CRC32C at the end).
    pub async fn download(
        &self,
        bucket: &str,
        name: &str,
        generation: i64,
    ) -> Result<ReadObjectResponse> {
        self.storage
            .read_object(bucket_resource(bucket), name)
            .set_generation(generation)
            .send()
            .await
            .map_err(|e| self.crate_error(&format!("downloading gs://{bucket}/{name}"), e))
    }

    /// An error of Google's client as a storage error with the admin's hint.
    pub(crate) fn crate_error(&self, what: &str, e: google_cloud_storage::Error) -> GkeError {
        match e.http_status_code() {
            Some(status) => {
                let body = e
                    .http_payload()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                let mut f = ApiFailure::from_response(status, String::new(), &body);
                if f.message == "no message" {
                    f.message = e.to_string();
                }
                let code = if f.code.is_empty() {
                    status_code_name(status).to_string()
                } else {
                    f.code
                };
                GkeError::Storage(Failure::refused(
                    format!(
                        "{what}: {status} {code}: {} [{}]",
                        f.message,
                        self.hint(status)
                    ),
                    status,
                    Some(code),
                ))
            }
            None => GkeError::storage(format!("{what}: {} [{}]", error_chain(&e), self.hint(0))),
        }
    }
}

fn bucket_resource(bucket: &str) -> String {
    format!("projects/_/buckets/{bucket}")
}

/// A path segment percent-encoded as the JSON API wants object names (`/` included).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An error and its causes on one line (reqwest's top-level message hides the reason).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_emulator_convention() {
        let opts = |e: &str| GcsOptions {
            endpoint: Some(e.to_string()),
            ..GcsOptions::default()
        };
        assert_eq!(
            opts("127.0.0.1:4443").resolve_endpoint(),
            ("http://127.0.0.1:4443".to_string(), true)
        );
        assert_eq!(
            opts("https://storage.googleapis.com/").resolve_endpoint(),
            (GCS_ENDPOINT.to_string(), false)
        );
    }

    #[test]
    fn object_names_are_encoded_whole() {
        assert_eq!(encode("a/b c+d.txt"), "a%2Fb%20c%2Bd.txt");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
