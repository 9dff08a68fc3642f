//! The local Docker Engine through its API on the unix socket: the image list, and an image's
//! `docker save` stream spooled to a temporary file (as skopeo does: the stream is one tar whose
//! manifest comes last, so layers cannot be pushed before it is read whole).

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::{GkeError, Result};

/// One image of `GET /images/json`.
#[derive(Debug, Clone, Deserialize)]
pub struct DaemonImage {
    #[serde(rename = "Id", default)]
    pub id: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
}

impl DaemonImage {
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.repo_tags
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|t| *t != "<none>:<none>")
    }
}

fn unreachable(socket: &Path, e: impl std::fmt::Display) -> GkeError {
    GkeError::registry(format!(
        "the Docker Engine at {} does not answer ({e}): is Docker running, and may this user read its socket?",
        socket.display()
    ))
}

async fn get(socket: &Path, path: &str) -> Result<hyper::Response<hyper::body::Incoming>> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| unreachable(socket, e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(socket, e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("docker engine connection: {e}");
        }
    });
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable(socket, e))?;
    sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(socket, e))
}

async fn error_text(response: hyper::Response<hyper::body::Incoming>) -> String {
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
    format!("{status}: {message}")
}

/// Every image the engine has.
pub async fn list_images(socket: &Path) -> Result<Vec<DaemonImage>> {
    let response = get(socket, "/images/json").await?;
    if !response.status().is_success() {
        return Err(GkeError::registry(format!(
            "the Docker Engine at {} refused to list images ({})",
            socket.display(),
            error_text(response).await
        )));
    }
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| unreachable(socket, e))?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        GkeError::registry(format!(
            "the Docker Engine at {} sent an image list that is not JSON ({e})",
            socket.display()
        ))
    })
}

/// `docker save NAME:TAG` into a temporary file (removed when the path is dropped).
pub async fn save(socket: &Path, reference: &str) -> Result<tempfile::TempPath> {
    let images = list_images(socket).await?;
    if !images.iter().any(|i| i.tags().any(|t| t == reference)) {
        return Err(GkeError::registry(format!(
            "docker-daemon:{reference}: unknown image: the Docker Engine at {} has no image tagged {reference} (see `docker images`)",
            socket.display()
        )));
    }
    let response = get(socket, &format!("/images/{reference}/get")).await?;
    if !response.status().is_success() {
        return Err(GkeError::registry(format!(
            "docker-daemon:{reference}: the Docker Engine refused to save it ({})",
            error_text(response).await
        )));
    }
    let spool = tempfile::Builder::new()
        .prefix("gke-native-docker-save-")
        .suffix(".tar")
        .tempfile()
        .map_err(|e| {
            GkeError::registry(format!(
                "cannot create a temporary file for docker-daemon:{reference}: {e}"
            ))
        })?
        .into_temp_path();
    let mut file = tokio::fs::File::create(&spool)
        .await
        .map_err(|e| GkeError::registry(format!("cannot write {}: {e}", spool.display())))?;
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            GkeError::registry(format!(
                "docker-daemon:{reference}: the save stream broke off ({e}): try again"
            ))
        })?;
        if let Some(data) = frame.data_ref() {
            file.write_all(data).await.map_err(|e| {
                GkeError::registry(format!(
                    "cannot write {} (disk full?): {e}",
                    spool.display()
                ))
            })?;
        }
    }
    file.flush()
        .await
        .map_err(|e| GkeError::registry(format!("cannot write {}: {e}", spool.display())))?;
    Ok(spool)
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("dku-exec-base-*", "dku-exec-base-abc123"));
        assert!(glob_match("*base*", "dku-spark-base-x"));
        assert!(!glob_match("dku-exec-base-*", "dku-spark-base-x"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b", "ab-c"));
    }
}
