//! The "Attach GKE cluster" form: which existing cluster, and how DSS reaches it.

use serde::Deserialize;
use serde_json::Value;

use crate::config::connection::ConnectionRequest;
use crate::config::credential_helper::CredentialHelper;
use crate::config::location::LocationType;
use crate::config::names::check_resource_name;
use crate::error::Problem;

/// The `attach-gke-cluster` cluster type's parameters.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct AttachRequest {
    pub connection: Value,
    pub cluster_name: String,
    pub location_type: String,
    pub use_dns_endpoint: bool,
    pub kubernetes_user: String,
    pub grant_admin: bool,
    pub credential_helper: String,
    pub log_level: String,
}

/// A validated "Attach GKE cluster" form.
#[derive(Debug, Clone)]
pub struct AttachSpec {
    pub connection: ConnectionRequest,
    pub cluster_name: String,
    pub location_type: LocationType,
    pub use_dns_endpoint: bool,
    /// The Kubernetes user made cluster-admin, when admin rights are granted: the form's,
    /// else (None) the connection's identity.
    pub kubernetes_user: Option<String>,
    pub grant_admin: bool,
    pub credential_helper: CredentialHelper,
}

impl AttachRequest {
    /// Every problem at once; nothing is looked up.
    pub fn validate(&self) -> Result<AttachSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let cluster_name = self.cluster_name.trim().to_string();
        if let Err(e) = check_resource_name(&cluster_name) {
            problems.push(Problem::new("GKE cluster name", e));
        }
        let location_type = LocationType::parse(&self.location_type)
            .map_err(|p| problems.push(p))
            .ok();
        let credential_helper = CredentialHelper::parse(&self.credential_helper)
            .map_err(|p| problems.push(p))
            .ok();
        let connection = match ConnectionRequest::from_dss(&self.connection) {
            Ok(c) => {
                problems.extend(c.problems());
                c
            }
            Err(p) => {
                problems.push(p);
                ConnectionRequest::default()
            }
        };
        match (location_type, credential_helper) {
            (Some(location_type), Some(credential_helper)) if problems.is_empty() => {
                Ok(AttachSpec {
                    connection,
                    cluster_name,
                    location_type,
                    use_dns_endpoint: self.use_dns_endpoint,
                    kubernetes_user: Some(self.kubernetes_user.trim().to_string())
                        .filter(|u| !u.is_empty()),
                    grant_admin: self.grant_admin,
                    credential_helper,
                })
            }
            _ => Err(problems),
        }
    }
}
