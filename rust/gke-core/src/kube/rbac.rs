//! DSS's rights in a cluster: the identity DSS runs as made cluster-admin, idempotently.

use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::json;

use crate::error::{GkeError, Result};
use crate::kube::client::{kube_error, FIELD_MANAGER};
use crate::net::retry::Backoff;

/// The binding's name for an identity: stable, so applying it again changes nothing.
pub fn admin_binding_name(identity: &str) -> String {
    let cleaned: String = identity
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("gke-native-admin-{}", cleaned.trim_matches('-'))
        .chars()
        .take(253)
        .collect()
}

/// Makes `identity` (a Google account email, as GKE maps it to a Kubernetes user) a cluster
/// admin, by server-side apply: idempotent.
pub async fn ensure_cluster_admin(client: &Client, identity: &str) -> Result<String> {
    let name = admin_binding_name(identity);
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "gke-native"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": identity}],
    }))
    .map_err(|e| GkeError::Setup(format!("cannot build the binding: {e}")))?;
    let api: Api<ClusterRoleBinding> = Api::all(client.clone());
    let what = format!("apply clusterrolebinding {name}");
    Backoff::default()
        .retry(&what, || async {
            api.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&binding),
            )
            .await
            .map_err(|e| kube_error(&what, e))
        })
        .await?;
    tracing::info!("{identity} is cluster-admin (ClusterRoleBinding {name})");
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names_are_valid_and_stable() {
        assert_eq!(
            admin_binding_name("DSS@proj.iam.gserviceaccount.com"),
            "gke-native-admin-dss-proj.iam.gserviceaccount.com"
        );
    }
}
