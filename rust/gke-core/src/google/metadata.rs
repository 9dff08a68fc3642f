//! The GCE metadata server: how a DSS host on Google Cloud learns its project, zone, network and identity.

use crate::config::location::region_of_zone;
use crate::net::http::error_chain;
use std::time::Duration;

use serde::Serialize;

use crate::error::{ApiFailure, GkeError, Result};
use crate::net::retry::Backoff;

/// Where Google's libraries find the metadata server when `GCE_METADATA_HOST` is not set.
pub const DEFAULT_HOST: &str = "metadata.google.internal";

/// What the metadata server says about the machine DSS runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    pub project_id: String,
    pub zone: String,
    pub region: String,
    pub instance_name: String,
    /// `projects/NUM/networks/NAME`, as the metadata server gives it.
    pub network: Option<String>,
    pub ip: Option<String>,
    pub service_account: Option<String>,
}

/// A client of one metadata server.
#[derive(Debug, Clone)]
pub struct MetadataServer {
    host: String,
    http: reqwest::Client,
    backoff: Backoff,
    /// The host's facts do not change while a call runs: probed once, shared by clones.
    facts: std::sync::Arc<tokio::sync::OnceCell<Option<HostFacts>>>,
}

impl MetadataServer {
    /// The metadata server Google's libraries would use: `GCE_METADATA_HOST` when set.
    pub fn from_env(timeout: Duration) -> Result<Self> {
        let host = std::env::var("GCE_METADATA_HOST").unwrap_or_else(|_| DEFAULT_HOST.to_string());
        Self::new(&host, timeout).map_err(|_| {
            GkeError::validation(
                "GCE_METADATA_HOST",
                format!("'{host}' is not a host[:port]; unset it to use {DEFAULT_HOST}"),
            )
        })
    }

    /// `host` is `name[:port]`, as in `GCE_METADATA_HOST`; `timeout` bounds each request.
    pub fn new(host: &str, timeout: Duration) -> Result<Self> {
        validate_host(host)?;
        if timeout.is_zero() || timeout > Duration::from_secs(120) {
            return Err(GkeError::validation(
                "timeout",
                "must be more than 0 and at most 120 seconds",
            ));
        }
        let http = crate::net::http::client_builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| GkeError::Setup(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            host: host.to_string(),
            http,
            backoff: Backoff {
                attempts: 4,
                initial: Duration::from_millis(200),
                ..Backoff::default()
            },
            facts: Default::default(),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// One value under `/computeMetadata/v1/`; `None` when the server has no such entry (404).
    pub async fn get(&self, path: &str) -> Result<Option<String>> {
        self.backoff
            .retry(&format!("metadata server {path}"), || self.get_once(path))
            .await
    }

    async fn get_once(&self, path: &str) -> Result<Option<String>> {
        self.try_get(path).await.map_err(|(e, _)| e)
    }

    /// One request; on failure, the error and whether nothing listens there (the name does not
    /// resolve, the connection is refused or cannot be made in time: not on Google Cloud).
    async fn try_get(&self, path: &str) -> std::result::Result<Option<String>, (GkeError, bool)> {
        let url = format!("http://{}/computeMetadata/v1/{path}", self.host);
        let request = format!("GET /computeMetadata/v1/{path}");
        tracing::debug!("{request} on {}", self.host);
        let failed = |e: reqwest::Error| {
            let absent = e.is_connect();
            (unreachable(&self.host, &request, &e), absent)
        };
        let response = self
            .http
            .get(&url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(failed)?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err((
                GkeError::Api(ApiFailure::from_response(status, request.clone(), &body)),
                false,
            )),
        }
    }

    /// The project id, or `None` when no metadata server is there. Off Google Cloud the name
    /// does not resolve or nothing listens: said at once, without retries. A server that was
    /// reached but dropped the connection, timed out or failed (5xx) is there: retried with
    /// pauses, so that one reset does not read as "not on Google Cloud".
    async fn first_contact(&self) -> Result<Option<Option<String>>> {
        let mut retry = 0;
        loop {
            match self.try_get("project/project-id").await {
                Ok(found) => return Ok(Some(found)),
                Err((GkeError::Api(f), true)) => {
                    tracing::info!("no GCE metadata server at {}: {}", self.host, f.message);
                    return Ok(None);
                }
                Err((e, _)) if e.is_retryable() && retry + 1 < self.backoff.attempts => {
                    let pause = self.backoff.delay(retry);
                    tracing::info!(
                        "the metadata server at {} failed ({e}); retrying in {:.1}s",
                        self.host,
                        pause.as_secs_f64()
                    );
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// The facts of this host, or `None` when no metadata server answers (not on Google Cloud).
    pub async fn probe(&self) -> Result<Option<HostFacts>> {
        self.facts
            .get_or_try_init(|| self.probe_once())
            .await
            .cloned()
    }

    async fn probe_once(&self) -> Result<Option<HostFacts>> {
        let Some(project_id) = self.first_contact().await? else {
            return Ok(None);
        };
        let Some(project_id) = project_id else {
            return Err(GkeError::Api(ApiFailure {
                status: 404,
                code: "NOT_FOUND".into(),
                message: format!("the metadata server at {} has no project id", self.host),
                request: "GET /computeMetadata/v1/project/project-id".into(),
            }));
        };
        let zone_path = self.get("instance/zone").await?.unwrap_or_default();
        let zone = last_segment(&zone_path).to_string();
        let facts = HostFacts {
            project_id,
            region: region_of_zone(&zone).unwrap_or_default().to_string(),
            zone,
            instance_name: self.get("instance/name").await?.unwrap_or_default(),
            network: self.get("instance/network-interfaces/0/network").await?,
            ip: self.get("instance/network-interfaces/0/ip").await?,
            service_account: self.get("instance/service-accounts/default/email").await?,
        };
        tracing::info!(
            "DSS host is GCE instance {} in project {}, zone {}",
            facts.instance_name,
            facts.project_id,
            facts.zone
        );
        Ok(Some(facts))
    }
}

fn unreachable(host: &str, request: &str, e: &reqwest::Error) -> GkeError {
    GkeError::Api(ApiFailure {
        status: 0,
        code: "UNAVAILABLE".into(),
        message: format!(
            "could not reach the metadata server at {host}: {}",
            error_chain(e)
        ),
        request: request.to_string(),
    })
}

fn validate_host(host: &str) -> Result<()> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if name_ok && port_ok {
        Ok(())
    } else {
        Err(GkeError::validation(
            "metadata host",
            format!("'{host}' is not a host name with an optional port, e.g. 169.254.169.254 or localhost:8080"),
        ))
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        for ok in [
            "metadata.google.internal",
            "127.0.0.1:8080",
            "169.254.169.254",
        ] {
            assert!(validate_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "http://x", "x:0", "x:99999", "a/b", "x:"] {
            let err = validate_host(bad).unwrap_err().to_string();
            assert!(err.contains("metadata host"), "{bad}: {err}");
        }
    }

    #[test]
    fn timeouts_are_checked() {
        let err = MetadataServer::new("localhost", Duration::ZERO).unwrap_err();
        assert!(
            err.to_string().contains("timeout: must be more than 0"),
            "{err}"
        );
    }
}
