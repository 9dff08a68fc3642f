//! Compute Engine v1 reads: the DSS host's network interfaces (to inherit its network) and
//! node pools' instance groups.

use serde_json::Value;

use crate::credentials::GoogleCredentials;
use crate::error::{ApiFailure, GkeError, Result};
use crate::retry::Backoff;

/// `https://www.googleapis.com/compute/v1/projects/p/global/networks/n` → `projects/p/global/networks/n`.
pub fn relative_path(url: &str) -> String {
    match url.find("/projects/") {
        Some(i) => url[i + 1..].to_string(),
        None => url.to_string(),
    }
}

#[derive(Clone)]
pub struct Compute {
    http: reqwest::Client,
    base: String,
    credentials: GoogleCredentials,
}

impl Compute {
    pub fn new(credentials: &GoogleCredentials, endpoint: Option<String>) -> Result<Self> {
        let http = crate::http::client_builder()
            .build()
            .map_err(|e| GkeError::Auth(format!("cannot build an HTTP client: {e}")))?;
        let base = endpoint.unwrap_or_else(|| "https://compute.googleapis.com".to_string());
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            credentials: credentials.clone(),
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let request = format!("GET /compute/v1/{path}");
        Backoff::default()
            .retry(&request, || async {
                let token = self.credentials.access_token().await?;
                let response = self
                    .http
                    .get(format!("{}/compute/v1/{path}", self.base))
                    .bearer_auth(token)
                    .send()
                    .await
                    .map_err(|e| {
                        GkeError::Api(ApiFailure {
                            status: 0,
                            code: "UNAVAILABLE".into(),
                            message: crate::metadata::error_chain(&e),
                            request: request.clone(),
                        })
                    })?;
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                if status == 200 {
                    serde_json::from_str(&body).map_err(|e| {
                        GkeError::Api(ApiFailure::from_response(
                            500,
                            request.clone(),
                            &format!("unreadable answer: {e}"),
                        ))
                    })
                } else {
                    Err(GkeError::Api(ApiFailure::from_response(
                        status,
                        request.clone(),
                        &body,
                    )))
                }
            })
            .await
    }

    /// `(network, subnetwork)` of an instance's first interface, as relative resource paths.
    pub async fn instance_network(
        &self,
        project: &str,
        zone: &str,
        instance: &str,
    ) -> Result<(String, String)> {
        let vm = self
            .get(&format!(
                "projects/{project}/zones/{zone}/instances/{instance}"
            ))
            .await?;
        let nic = &vm["networkInterfaces"][0];
        Ok((
            relative_path(nic["network"].as_str().unwrap_or_default()),
            relative_path(nic["subnetwork"].as_str().unwrap_or_default()),
        ))
    }

    /// A subnetwork (`projects/p/regions/r/subnetworks/s`): `(primary range, secondary ranges
    /// name → CIDR)`, or `None` when Compute has no such subnetwork.
    pub async fn subnetwork(&self, path: &str) -> Result<Option<(String, Vec<(String, String)>)>> {
        let subnet = match self.get(path).await {
            Ok(s) => s,
            Err(GkeError::Api(f)) if f.status == 404 => return Ok(None),
            Err(e) => return Err(e),
        };
        let secondary = subnet["secondaryIpRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["rangeName"].as_str().unwrap_or_default().to_string(),
                    r["ipCidrRange"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Ok(Some((
            subnet["ipCidrRange"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            secondary,
        )))
    }

    /// An instance group by its URL (as node pools list them: their managed instance group,
    /// whose instance group has the same name): its size.
    pub async fn instance_group_size(&self, url: &str) -> Result<i64> {
        let path = relative_path(url).replace("/instanceGroupManagers/", "/instanceGroups/");
        let group = self.get(&path).await?;
        Ok(group["size"].as_i64().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_relative_paths() {
        assert_eq!(
            relative_path(
                "https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/s"
            ),
            "projects/p/regions/r/subnetworks/s"
        );
        assert_eq!(
            relative_path("projects/p/global/networks/n"),
            "projects/p/global/networks/n"
        );
    }
}
