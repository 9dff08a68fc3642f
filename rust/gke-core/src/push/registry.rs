//! An OCI distribution client on reqwest, streaming: blob HEAD, cross-repository mount,
//! uploads (monolithic PUT when the digest is known, streamed PATCH then PUT `?digest=` when it
//! is only known at the end, chunked PATCHes when the registry asks), manifest PUT. Basic and
//! Bearer (token service) authentication, a token that expires mid-push renewed on its 401;
//! credentials and tokens never reach a message.
//!
//! Not `oci-client`: its push API takes each blob in memory (`Vec<u8>`/`Bytes`) and has no
//! upload whose digest is learned at the end, which compressing on the way needs; it also
//! brings its own reqwest. The protocol subset here is small and each refusal gets an
//! admin-readable message naming the image.

use std::time::Duration;

use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{Failure, GkeError, Result};
use crate::push::digest::Digest;

/// A registry user and password (for Artifact Registry: `oauth2accesstoken` and an access token).
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, password hidden)", self.username)
    }
}

/// One registry, authorized for one repository (push) and some others (pull, for mounts).
pub struct Registry {
    http: reqwest::Client,
    base: Url,
    /// The image being pushed, for messages.
    image: String,
    authorization: std::sync::RwLock<Authorization>,
    /// How to get a new token when the registry's expires mid-push (token services only).
    login: Option<Login>,
    /// One re-authorisation at a time: parallel uploads refused together share it.
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Authorization {
    header: Option<SecretString>,
    /// Bumped by every re-authorisation, so that a request knows whether its 401 was already
    /// answered by a new token.
    generation: u64,
}

struct Login {
    challenge: String,
    credentials: Credentials,
    repository: String,
    mount_from: Vec<String>,
}

/// An upload session the registry opened.
#[derive(Debug, Clone)]
pub struct Upload {
    pub location: Url,
    /// `OCI-Chunk-Min-Length`: the registry wants PATCHes of at least this many bytes.
    pub chunk_min: Option<u64>,
}

fn error_summary(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    match v["errors"].as_array() {
        Some(errors) if !errors.is_empty() => errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or("ERROR"),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.trim().chars().take(200).collect(),
    }
}

/// The registry's code for the first error it lists (`DENIED`, `NAME_UNKNOWN`), if any.
fn error_code(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["errors"][0]["code"].as_str().map(str::to_string)
}

impl Registry {
    /// Reaches `base` (e.g. `https://europe-west1-docker.pkg.dev`) and authorizes push to
    /// `repository` and pull from `mount_from` with `credentials` (none: anonymous).
    pub async fn connect(
        base: &str,
        image: &str,
        repository: &str,
        mount_from: &[String],
        credentials: Option<&Credentials>,
    ) -> Result<Self> {
        let base = Url::parse(base).map_err(|e| {
            GkeError::validation(
                "destination",
                format!("'{base}' is not a registry URL: {e}"),
            )
        })?;
        let http = crate::net::http::client_builder()
            .connect_timeout(Duration::from_secs(15))
            .pool_idle_timeout(Duration::from_secs(30))
            // Parallel uploads share one HTTP/2 connection with Artifact Registry: let its
            // flow-control window grow with the bandwidth-delay product.
            .http2_adaptive_window(true)
            .build()
            .map_err(|e| GkeError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let mut registry = Self {
            http,
            base,
            image: image.to_string(),
            authorization: Default::default(),
            login: None,
            renewing: Default::default(),
        };
        let ping = registry
            .send(Method::GET, registry.url("/v2/"), None)
            .await?;
        match ping.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED => {
                let challenge = ping
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let Some(credentials) = credentials else {
                    return Err(GkeError::registry(format!(
                        "{image}: the registry {} requires credentials: give a username and password",
                        registry.base
                    )));
                };
                let header = registry
                    .authorize(&challenge, credentials, repository, mount_from)
                    .await?;
                registry.set_authorization(header);
                if parse_challenge(&challenge).0.eq_ignore_ascii_case("bearer") {
                    registry.login = Some(Login {
                        challenge,
                        credentials: credentials.clone(),
                        repository: repository.to_string(),
                        mount_from: mount_from.to_vec(),
                    });
                }
                // Refused credentials said once, at the start, not by the first blob.
                let again = registry
                    .send(Method::GET, registry.url("/v2/"), None)
                    .await?;
                if !again.status().is_success() {
                    return Err(registry.refusal("logging in", again).await);
                }
            }
            _ => return Err(registry.refusal("reaching the registry", ping).await),
        }
        Ok(registry)
    }

    async fn authorize(
        &self,
        challenge: &str,
        credentials: &Credentials,
        repository: &str,
        mount_from: &[String],
    ) -> Result<SecretString> {
        use base64::Engine as _;
        let basic = SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                credentials.username,
                credentials.password.expose_secret()
            ))
        ));
        let (scheme, params) = parse_challenge(challenge);
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(basic);
        }
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone());
        let Some(realm) = realm else {
            return Err(GkeError::registry(format!(
                "{}: the registry's token challenge names no realm",
                self.image
            )));
        };
        let mut url = Url::parse(&realm).map_err(|e| {
            GkeError::registry(format!(
                "{}: the registry's token realm is not a URL: {e}",
                self.image
            ))
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                q.append_pair("service", service);
            }
            q.append_pair("scope", &format!("repository:{repository}:pull,push"));
            for other in mount_from {
                q.append_pair("scope", &format!("repository:{other}:pull"));
            }
        }
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, basic.expose_secret())
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        if !response.status().is_success() {
            return Err(self.refusal("getting a registry token", response).await);
        }
        let body: Value = response.json().await.map_err(|e| self.unreachable(&e))?;
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .ok_or_else(|| {
                GkeError::registry(format!(
                    "{}: the registry's token service sent no token",
                    self.image
                ))
            })?;
        Ok(SecretString::from(format!("Bearer {token}")))
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn unreachable(&self, e: &reqwest::Error) -> GkeError {
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause = format!("{cause}: {s}");
            source = s.source();
        }
        // Never the URL's query: upload locations may carry state tokens.
        GkeError::registry(format!(
            "{}: the registry at {} is unreachable or broke off ({}): check that it is up and reachable from this host, then run the push again: it resumes where it stopped",
            self.image,
            self.base.origin().ascii_serialization(),
            strip_urls(&cause)
        ))
    }

    /// A refused request as an error saying what to do, by status.
    pub async fn refusal(&self, what: &str, response: reqwest::Response) -> GkeError {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let said = error_summary(&body);
        let hint = match status.as_u16() {
            401 => "the registry refused the credentials: check the username and password (for Artifact Registry, the identity behind the access token)",
            403 => "the identity may not push there: grant it push rights on the repository (Artifact Registry: roles/artifactregistry.writer)",
            404 => "the repository does not exist: create it (Artifact Registry: allow creating missing repositories)",
            400 if said.contains("DIGEST_INVALID") || said.contains("BLOB_UPLOAD_INVALID") || said.contains("SIZE_INVALID") => {
                "digest mismatch: the registry received other bytes than the source names; the source may be corrupt: save or copy the image again"
            }
            s if s >= 500 => "the registry failed: run the push again later; it resumes where it stopped",
            _ => "nothing was tagged; see the registry's message",
        };
        GkeError::Registry(Failure::refused(
            format!(
                "{}: {what} was refused ({} {said}): {hint}",
                self.image,
                status.as_u16()
            ),
            status.as_u16(),
            error_code(&body),
        ))
    }

    fn set_authorization(&self, header: SecretString) {
        let mut auth = self
            .authorization
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        auth.header = Some(header);
        auth.generation += 1;
    }

    /// The Authorization header now, and its generation.
    fn authorization(&self) -> (Option<SecretString>, u64) {
        let auth = self
            .authorization
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (auth.header.clone(), auth.generation)
    }

    /// How many times the token was renewed: a blob whose streamed upload was refused while
    /// this changed is sent again (its body cannot be replayed by [`Registry::send`]).
    pub fn token_generation(&self) -> u64 {
        self.authorization().1
    }

    /// A new token after the registry refused the one of generation `seen` (it expired): once
    /// for all the requests refused with it.
    async fn reauthorize(&self, seen: u64, challenge: Option<String>) -> Result<bool> {
        let Some(login) = &self.login else {
            return Ok(false);
        };
        let _one_at_a_time = self.renewing.lock().await;
        if self.token_generation() != seen {
            return Ok(true);
        }
        let challenge = challenge
            .filter(|c| parse_challenge(c).0.eq_ignore_ascii_case("bearer"))
            .unwrap_or_else(|| login.challenge.clone());
        let header = self
            .authorize(
                &challenge,
                &login.credentials,
                &login.repository,
                &login.mount_from,
            )
            .await?;
        self.set_authorization(header);
        tracing::info!(
            "{}: the registry's token was refused (expired): authorised again",
            self.image
        );
        Ok(true)
    }

    /// Sends a request; when the registry refuses the token (401: it expired mid-push), gets a
    /// new one and sends the request once more if its body can be sent again (not a stream).
    /// A request with an empty body (opening, mounting and closing uploads).
    async fn send_empty(&self, method: Method, url: Url) -> Result<reqwest::Response> {
        let empty = (reqwest::Body::from(Vec::new()), length(0));
        self.send(method, url, Some(empty)).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<(reqwest::Body, HeaderMap)>,
    ) -> Result<reqwest::Response> {
        let mut request = self.http.request(method, url);
        if let Some((body, headers)) = body {
            request = request.headers(headers).body(body);
        }
        let again = request.try_clone();
        let (auth, generation) = self.authorization();
        let response = self.send_with(request, auth).await?;
        if response.status() != StatusCode::UNAUTHORIZED || self.login.is_none() {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if !self.reauthorize(generation, challenge).await? {
            return Ok(response);
        }
        match again {
            Some(again) => self.send_with(again, self.authorization().0).await,
            None => Ok(response),
        }
    }

    async fn send_with(
        &self,
        mut request: reqwest::RequestBuilder,
        auth: Option<SecretString>,
    ) -> Result<reqwest::Response> {
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth.expose_secret());
        }
        request.send().await.map_err(|e| self.unreachable(&e))
    }

    /// The blob's size when the repository has it.
    pub async fn has_blob(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"));
        let response = self.send(Method::HEAD, url, None).await?;
        match response.status() {
            s if s.is_success() => {
                let served = response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                if served.is_some_and(|d| d != digest.as_str()) {
                    return Err(GkeError::registry(format!(
                        "{}: digest mismatch: the registry serves other content for {digest}",
                        self.image
                    )));
                }
                Ok(Some(
                    response
                        .headers()
                        .get(CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                ))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self
                .refusal(&format!("checking blob {}", digest.short()), response)
                .await),
        }
    }

    /// Asks the registry to mount `digest` from `from` into `repository`; `false` when it would not.
    pub async fn mount(&self, repository: &str, digest: &Digest, from: &str) -> Result<bool> {
        let mut url = self.url(&format!("/v2/{repository}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
        let response = self.send_empty(Method::POST, url).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // The registry opened an ordinary upload instead: close it.
                if let Ok(location) = self.location(&response) {
                    let _ = self.send(Method::DELETE, location, None).await;
                }
                Ok(false)
            }
            _ => Err(self
                .refusal(&format!("mounting blob {}", digest.short()), response)
                .await),
        }
    }

    fn location(&self, response: &reqwest::Response) -> Result<Url> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                GkeError::registry(format!(
                    "{}: the registry opened an upload without a Location",
                    self.image
                ))
            })?;
        self.base.join(location).map_err(|e| {
            GkeError::registry(format!(
                "{}: the registry's upload Location is not a URL: {e}",
                self.image
            ))
        })
    }

    pub async fn start_upload(&self, repository: &str) -> Result<Upload> {
        let url = self.url(&format!("/v2/{repository}/blobs/uploads/"));
        let response = self.send_empty(Method::POST, url).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.refusal("starting an upload", response).await);
        }
        let chunk_min = response
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Upload {
            location: self.location(&response)?,
            chunk_min,
        })
    }

    /// The whole blob in one PUT (digest known before sending).
    pub async fn put_whole(
        &self,
        upload: &Upload,
        digest: &Digest,
        body: reqwest::Body,
        len: u64,
    ) -> Result<()> {
        let mut url = upload.location.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let mut headers = length(len);
        headers.insert(
            CONTENT_TYPE,
            "application/octet-stream".parse().expect("static header"),
        );
        let response = self.send(Method::PUT, url, Some((body, headers))).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self
                .refusal(&format!("uploading blob {}", digest.short()), response)
                .await);
        }
        Ok(())
    }

    /// Sends bytes of an upload; `range` (first, last byte) for a chunk, `None` for a stream
    /// of unknown length. Returns where the upload goes on.
    pub async fn patch(
        &self,
        location: &Url,
        body: reqwest::Body,
        range: Option<(u64, u64)>,
    ) -> Result<Url> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "application/octet-stream".parse().expect("static header"),
        );
        if let Some((first, last)) = range {
            headers.insert(
                "content-range",
                format!("{first}-{last}").parse().expect("digits"),
            );
            headers.extend(length(last + 1 - first));
        }
        let response = self
            .send(Method::PATCH, location.clone(), Some((body, headers)))
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.refusal("uploading a layer", response).await);
        }
        self.location(&response)
    }

    /// Closes an upload whose bytes were all sent, naming their digest.
    pub async fn finish(&self, location: &Url, digest: &Digest) -> Result<()> {
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let response = self.send_empty(Method::PUT, url).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self
                .refusal(
                    &format!("closing the upload of blob {}", digest.short()),
                    response,
                )
                .await);
        }
        Ok(())
    }

    /// Abandons an upload (best effort: registries expire them anyway).
    pub async fn cancel(&self, location: &Url) {
        let _ = self.send(Method::DELETE, location.clone(), None).await;
    }

    /// Tags the manifest; returns the digest the registry computed (checked against ours).
    /// Whether the repository holds the manifest `digest`, of type `media_type`.
    pub async fn has_manifest(
        &self,
        repository: &str,
        digest: &Digest,
        media_type: &str,
    ) -> Result<bool> {
        let url = self.url(&format!("/v2/{repository}/manifests/{digest}"));
        let mut headers = HeaderMap::new();
        if let Ok(accept) = media_type.parse() {
            headers.insert(ACCEPT, accept);
        }
        let response = self
            .send(
                Method::HEAD,
                url,
                Some((reqwest::Body::from(Vec::new()), headers)),
            )
            .await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self
                .refusal(&format!("checking manifest {}", digest.short()), response)
                .await),
        }
    }

    pub async fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        manifest: Vec<u8>,
    ) -> Result<Digest> {
        let ours = Digest::of(&manifest);
        let url = self.url(&format!("/v2/{repository}/manifests/{tag}"));
        let mut headers = length(manifest.len() as u64);
        headers.insert(
            CONTENT_TYPE,
            media_type.parse().map_err(|_| {
                GkeError::registry(format!("{}: bad manifest media type", self.image))
            })?,
        );
        let response = self
            .send(
                Method::PUT,
                url,
                Some((reqwest::Body::from(manifest), headers)),
            )
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.refusal("tagging the manifest", response).await);
        }
        let theirs = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(Digest::parse);
        match theirs {
            Some(theirs) if theirs != ours => Err(GkeError::registry(format!(
                "{}: digest mismatch: the registry stored the manifest as {theirs}, not {ours}",
                self.image
            ))),
            _ => Ok(ours),
        }
    }
}

fn length(len: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, len.into());
    headers
}

/// `Bearer realm="…",service="…"` → ("Bearer", [(realm, …), (service, …)]).
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        params.push((key, value));
        rest = remaining.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    (scheme.to_string(), params)
}

/// Drops URLs from an error text (reqwest names the URL, whose query may carry upload state).
fn strip_urls(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let w2 = w.trim_start_matches('(');
            if w2.starts_with("http://") || w2.starts_with("https://") {
                match Url::parse(w2.trim_end_matches([')', ':', ','])) {
                    Ok(u) => u.origin().ascii_serialization(),
                    Err(_) => "<url>".to_string(),
                }
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://europe-west1-docker.pkg.dev/v2/token",service="europe-west1-docker.pkg.dev",scope="repository:p/r:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params[0],
            (
                "realm".into(),
                "https://europe-west1-docker.pkg.dev/v2/token".into()
            )
        );
        assert_eq!(params[1].1, "europe-west1-docker.pkg.dev");
        assert_eq!(params[2].1, "repository:p/r:pull");
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(
            (scheme.as_str(), params[0].1.as_str()),
            ("Basic", "Registry Realm")
        );
    }

    #[test]
    fn urls_lose_their_queries_in_messages() {
        let text = strip_urls("error sending request for url (http://127.0.0.1:5000/v2/x/blobs/uploads/abc?_state=SECRET)");
        assert!(
            !text.contains("SECRET") && text.contains("http://127.0.0.1:5000"),
            "{text}"
        );
    }
}
