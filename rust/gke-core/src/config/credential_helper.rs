//! How kubectl (DSS's, and the kubeconfig's users') gets a token for the cluster.

use crate::error::Problem;

/// The "Kubernetes credentials" choice of both cluster types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialHelper {
    /// `python -m dss_gke`, the plugin's own helper: no gcloud needed on the DSS host.
    DssGke,
    /// Google's `gke-gcloud-auth-plugin`, for hosts that have it.
    GcloudPlugin,
}

impl CredentialHelper {
    /// The form's value; a problem of "Kubernetes credentials" otherwise.
    pub fn parse(text: &str) -> Result<Self, Problem> {
        match text {
            "dss-gke" => Ok(Self::DssGke),
            "gke-gcloud-auth-plugin" => Ok(Self::GcloudPlugin),
            other => Err(Problem::new(
                "Kubernetes credentials",
                format!("'{other}' is not dss-gke or gke-gcloud-auth-plugin"),
            )),
        }
    }
}
