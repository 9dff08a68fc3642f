//! A "GKE connection" preset made concrete: blanks filled from the DSS host's metadata server
//! (asked only when something is blank), the credentials built.

use std::time::Duration;

use crate::auth::credentials::GoogleCredentials;
use crate::config::connection::{Connection, ConnectionRequest, SCOPE};
use crate::config::location::region_of_zone;
use crate::error::{GkeError, Result};
use crate::google::metadata::{HostFacts, MetadataServer};

impl ConnectionRequest {
    /// Fills blanks from the metadata server (asked only when something is blank) and builds
    /// the credentials.
    pub async fn resolve(
        &self,
        metadata: &MetadataServer,
    ) -> Result<(Connection, GoogleCredentials)> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        let credentials = GoogleCredentials::from_key_or_default(
            &self.service_account_key,
            &format!("{SCOPE} › Service-account key"),
        )?;
        let needs_host = self.project_id.trim().is_empty()
            || (self.zone.trim().is_empty() && self.region.trim().is_empty())
            || credentials.client_email().is_none();
        let host: Option<HostFacts> = if needs_host {
            metadata.probe().await?
        } else {
            None
        };
        let missing = |what: &str, example: &str| {
            GkeError::validation(
                format!("{SCOPE} › {what}"),
                format!("is blank and the DSS host has no GCE metadata server to take it from: set it, e.g. {example}"),
            )
        };
        let project_id = match (self.project_id.trim(), &host) {
            ("", Some(h)) => h.project_id.clone(),
            ("", None) => return Err(missing("GCP project", "dss-prod-1234")),
            (p, _) => p.to_string(),
        };
        let zone = match (self.zone.trim(), self.region.trim(), &host) {
            ("", "", Some(h)) => h.zone.clone(),
            ("", "", None) => return Err(missing("Zone", "europe-west1-b")),
            (z, _, _) => z.to_string(),
        };
        let region = match self.region.trim() {
            "" => region_of_zone(&zone).unwrap_or_default().to_string(),
            r => r.to_string(),
        };
        let identity = credentials
            .client_email()
            .map(str::to_string)
            .or_else(|| host.as_ref().and_then(|h| h.service_account.clone()));
        Ok((
            Connection {
                project_id,
                zone,
                region,
                credentials: credentials.source().to_string(),
                identity,
                repository: Some(self.repository.trim().to_string()).filter(|r| !r.is_empty()),
            },
            credentials,
        ))
    }
}

/// Metadata server with the usual per-request timeout.
pub fn default_metadata() -> Result<MetadataServer> {
    MetadataServer::from_env(Duration::from_secs(3))
}
