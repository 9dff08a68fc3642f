//! The "Attach GKE cluster" form: which existing cluster, and how DSS reaches it.

use serde::Deserialize;
use serde_json::Value;

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
