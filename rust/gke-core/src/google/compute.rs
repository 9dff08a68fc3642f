//! Compute Engine v1 reads: the DSS host's network interfaces (to inherit its network) and
//! node pools' instance groups.

use serde_json::Value;

use crate::auth::credentials::GoogleCredentials;
use crate::error::{ApiFailure, GkeError, Result};
use crate::net::http::success_body;
use crate::net::retry::Backoff;

/// `https://www.googleapis.com/compute/v1/projects/p/global/networks/n` → `projects/p/global/networks/n`.
pub fn relative_path(url: &str) -> String {
    match url.find("/projects/") {
        Some(i) => url[i + 1..].to_string(),
        None => url.to_string(),
    }
}

/// Pages of one aggregated list read at most.
const MAX_PAGES: usize = 5;

/// `text` for a URL's query: unreserved characters kept, the rest percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone)]
pub struct Compute {
    http: reqwest::Client,
    base: String,
    credentials: GoogleCredentials,
}

impl Compute {
    pub fn new(credentials: &GoogleCredentials, endpoint: Option<String>) -> Result<Self> {
        let http = crate::net::http::client_builder()
            .build()
            .map_err(|e| GkeError::Setup(format!("cannot build an HTTP client: {e}")))?;
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
                            message: crate::net::http::error_chain(&e),
                            request: request.clone(),
                        })
                    })?;
                let body = success_body(response, &request).await?;
                serde_json::from_str(&body).map_err(|e| {
                    GkeError::Api(ApiFailure::from_response(
                        500,
                        request.clone(),
                        &format!("unreadable answer: {e}"),
                    ))
                })
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

    /// The zones of `project` where a `collection` (machineTypes, acceleratorTypes, diskTypes)
    /// entry named `name` exists, from one aggregated list filtered on the name (a few pages at
    /// most).
    pub async fn zones_offering(
        &self,
        project: &str,
        collection: &str,
        name: &str,
    ) -> Result<std::collections::BTreeSet<String>> {
        let filter = percent_encode(&format!("name = \"{name}\""));
        let mut zones = std::collections::BTreeSet::new();
        let mut page = String::new();
        for _ in 0..MAX_PAGES {
            let mut path = format!("projects/{project}/aggregated/{collection}?filter={filter}");
            if !page.is_empty() {
                path.push_str(&format!("&pageToken={}", percent_encode(&page)));
            }
            let list = self.get(&path).await?;
            for (scope, entries) in list["items"].as_object().into_iter().flatten() {
                let listed = entries[collection]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|i| i["name"] == name));
                if let (true, Some(zone)) = (listed, scope.strip_prefix("zones/")) {
                    zones.insert(zone.to_string());
                }
            }
            match list["nextPageToken"].as_str() {
                Some(next) if !next.is_empty() => page = next.to_string(),
                _ => break,
            }
        }
        Ok(zones)
    }

    /// The zones of a region, as Compute lists them (sorted).
    pub async fn region_zones(&self, project: &str, region: &str) -> Result<Vec<String>> {
        let found = self
            .get(&format!("projects/{project}/regions/{region}"))
            .await?;
        let mut zones: Vec<String> = found["zones"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|z| z.as_str()?.rsplit('/').next().map(str::to_string))
            .collect();
        zones.sort();
        Ok(zones)
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
