//! Kubeconfig files without gcloud: the cluster's endpoint and CA, and an exec credential
//! helper (ours, `python -m dss_gke.credential`, or `gke-gcloud-auth-plugin`).

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{GkeError, Result};

/// How kubectl (and DSS) get a token for the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthHelper {
    /// Our helper, run with the code env's interpreter; `python_path` makes `dss_gke`
    /// importable; `key_file` holds the connection's key (0600) when one was given.
    DssGke {
        python: String,
        python_path: String,
        key_file: Option<String>,
        cache_file: String,
    },
    /// Google's `gke-gcloud-auth-plugin`, for hosts that have it.
    GcloudPlugin,
}

pub struct KubeconfigSpec<'a> {
    pub context: &'a str,
    /// `https://…`
    pub server: &'a str,
    /// Base64 PEM, as GKE's `masterAuth.clusterCaCertificate`.
    pub ca_base64: &'a str,
    pub helper: &'a AuthHelper,
}

/// The kubeconfig document (JSON, which kubectl reads as YAML).
pub fn render(spec: &KubeconfigSpec<'_>) -> Value {
    let exec = match spec.helper {
        AuthHelper::DssGke {
            python,
            python_path,
            key_file,
            cache_file,
        } => {
            let mut args = vec![
                "-m".to_string(),
                "dss_gke.credential".into(),
                "--cache-file".into(),
                cache_file.clone(),
            ];
            if let Some(key) = key_file {
                args.push("--key-file".into());
                args.push(key.clone());
            }
            json!({
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": python,
                "args": args,
                "env": [{"name": "PYTHONPATH", "value": python_path}],
                "interactiveMode": "Never",
                "provideClusterInfo": false,
            })
        }
        AuthHelper::GcloudPlugin => json!({
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "installHint": "Install gke-gcloud-auth-plugin, or choose the plugin's own credential helper",
            "interactiveMode": "Never",
            "provideClusterInfo": true,
        }),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": spec.context, "cluster": {"server": spec.server, "certificate-authority-data": spec.ca_base64}}],
        "users": [{"name": spec.context, "user": {"exec": exec}}],
        "contexts": [{"name": spec.context, "context": {"cluster": spec.context, "user": spec.context}}],
        "current-context": spec.context,
    })
}

/// Writes `content` to `path` with mode 0600 from the first byte (never readable by others,
/// even briefly), atomically through a temporary file in the same folder.
pub fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| GkeError::Auth(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    file.write_all(content).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn renders_an_exec_kubeconfig() {
        let helper = AuthHelper::DssGke {
            python: "/env/bin/python".into(),
            python_path: "/plugin/python-lib".into(),
            key_file: None,
            cache_file: "/work/.token".into(),
        };
        let doc = render(&KubeconfigSpec {
            context: "gke_p_z_c",
            server: "https://10.0.0.1",
            ca_base64: "Q0E=",
            helper: &helper,
        });
        assert_eq!(doc["clusters"][0]["cluster"]["server"], "https://10.0.0.1");
        assert_eq!(
            doc["users"][0]["user"]["exec"]["args"],
            json!(["-m", "dss_gke.credential", "--cache-file", "/work/.token"])
        );
        assert_eq!(doc["current-context"], "gke_p_z_c");
    }

    #[test]
    fn private_files_are_0600() {
        let dir = std::env::temp_dir().join(format!("gke-native-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kubeconfig");
        write_private(&path, b"x").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
