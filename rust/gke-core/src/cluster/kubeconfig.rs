//! A kubeconfig for a running cluster, for notebooks: its credential helper is `python -m dss_gke`.

use google_cloud_container_v1::model;

use crate::auth::kubeconfig::{helper_key_file, render, AuthHelper, KubeconfigSpec};
use crate::cluster::handle::{cluster_ca, kube_context, ClusterRef};
use crate::error::{GkeError, Result};
use crate::net::private_file::write_private;

/// A kubeconfig for `cluster` whose credential helper is `python -m dss_gke` (`helper` is the
/// interpreter and the folder that makes `dss_gke` importable); `key` as the session was given
/// it (blank, a key file's path, or JSON — then written 0600 next to the kubeconfig). With
/// `path`, written there (0600) and the path returned; else the text.
pub fn kubeconfig(
    cluster: &ClusterRef,
    found: &model::Cluster,
    key: &str,
    helper: (String, String),
    path: Option<&std::path::Path>,
) -> Result<String> {
    let dir = match path {
        Some(p) => p.parent().map(std::path::PathBuf::from).unwrap_or_default(),
        None => std::env::temp_dir(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| GkeError::file("create", &dir, e))?;
    let key_file = helper_key_file(
        key,
        "credentials",
        &dir.join(format!("gke-native-key-{}.json", cluster.name)),
    )?;
    let (python, python_path) = helper;
    let helper = AuthHelper::DssGke {
        python,
        python_path,
        key_file,
        cache_file: dir
            .join(format!(".gke-native-token-{}.json", cluster.name))
            .display()
            .to_string(),
    };
    let endpoint = cluster.endpoint.clone().unwrap_or(found.endpoint.clone());
    let doc = render(&KubeconfigSpec {
        context: &kube_context(&cluster.project, &cluster.location, &cluster.name),
        server: &format!("https://{endpoint}"),
        ca_base64: &cluster_ca(found),
        helper: &helper,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    match path {
        Some(p) => {
            write_private(p, text.as_bytes())?;
            Ok(p.display().to_string())
        }
        None => Ok(text),
    }
}
