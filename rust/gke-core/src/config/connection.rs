//! The "GKE connection" preset: project, location and credentials, with blanks filled from
//! the DSS host's metadata server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::location::region_of_zone;
use crate::error::Problem;

/// The `connection-info` parameter set, field for field.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ConnectionRequest {
    pub project_id: String,
    pub zone: String,
    pub region: String,
    pub service_account_key: String,
    /// The Artifact Registry repository (in the connection's region and project) DSS pushes
    /// its images to; blank: DSS's own container settings decide.
    pub repository: String,
}

impl std::fmt::Debug for ConnectionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRequest")
            .field("project_id", &self.project_id)
            .field("zone", &self.zone)
            .field("region", &self.region)
            .field("repository", &self.repository)
            .field(
                "service_account_key",
                &if self.service_account_key.is_empty() {
                    ""
                } else {
                    "[secret]"
                },
            )
            .finish()
    }
}

/// A connection with every blank resolved; what plugin data keeps (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub project_id: String,
    pub zone: String,
    pub region: String,
    /// Where credentials come from, e.g. "service-account key of x@p.iam.gserviceaccount.com".
    pub credentials: String,
    /// The Google identity DSS acts as, when known (key's client_email or host's account).
    pub identity: Option<String>,
    /// The Artifact Registry repository id DSS pushes images to, when the preset names one.
    #[serde(default)]
    pub repository: Option<String>,
}

impl Connection {
    /// `{region}-docker.pkg.dev/{project}/{repository}`: DSS's image registry URL, when the
    /// connection names a repository.
    pub fn registry_url(&self) -> Option<String> {
        self.repository.as_ref().map(|repository| {
            format!(
                "{}-docker.pkg.dev/{}/{repository}",
                self.region, self.project_id
            )
        })
    }
}

/// The field names admins see, for problems.
pub const SCOPE: &str = "GKE connection";

impl ConnectionRequest {
    pub fn from_dss(value: &Value) -> std::result::Result<Self, Problem> {
        crate::config::form::parse_form(
            value,
            Some(SCOPE),
            include_str!("../../../../parameter-sets/connection-info/parameter-set.json"),
        )
    }

    /// Checks what can be checked without calling anything.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let project = self.project_id.trim();
        let valid_project = (6..=30).contains(&project.len())
            && project.starts_with(|c: char| c.is_ascii_lowercase())
            && project
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !project.is_empty() && !valid_project {
            problems.push(Problem::new(
                format!("{SCOPE} › GCP project"),
                format!("'{project}' is not a project ID (6 to 30 lowercase letters, digits and hyphens, e.g. dss-prod-1234)"),
            ));
        }
        let zone = self.zone.trim();
        if !zone.is_empty() && region_of_zone(zone).is_none() {
            problems.push(Problem::new(
                format!("{SCOPE} › Zone"),
                format!("'{zone}' is not a zone like europe-west1-b"),
            ));
        }
        let region = self.region.trim();
        if !region.is_empty() {
            if region_of_zone(region).is_some() || !region.contains('-') {
                problems.push(Problem::new(
                    format!("{SCOPE} › Region"),
                    format!("'{region}' is not a region like europe-west1"),
                ));
            } else if let Some(zone_region) = region_of_zone(zone) {
                if zone_region != region {
                    problems.push(Problem::new(
                        format!("{SCOPE} › Region"),
                        format!("'{region}' does not contain the zone '{zone}' (its region is {zone_region})"),
                    ));
                }
            }
        }
        let repository = self.repository.trim();
        if !repository.is_empty() {
            if let Err(e) = crate::config::names::check_repository_id(repository) {
                problems.push(Problem::new(format!("{SCOPE} › Image repository"), e));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_ids_and_locations() {
        let r = ConnectionRequest::from_dss(&json!({
            "project_id": "Prod", "zone": "europe-west1", "region": "us-east1"
        }))
        .unwrap();
        let fields: Vec<String> = r.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["GKE connection › GCP project", "GKE connection › Zone"]
        );
        let r =
            ConnectionRequest::from_dss(&json!({"zone": "europe-west1-b", "region": "us-east1"}))
                .unwrap();
        assert!(r.problems()[0]
            .message
            .contains("does not contain the zone"));
    }

    #[test]
    fn debug_hides_the_key() {
        let r = ConnectionRequest {
            service_account_key: "{\"private_key\": \"s3cret\"}".into(),
            ..Default::default()
        };
        assert!(!format!("{r:?}").contains("s3cret"));
    }
}
