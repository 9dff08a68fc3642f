//! Kubeconfig files without gcloud: the cluster's endpoint and CA, and an exec credential
//! helper (ours, `python -m dss_gke.credential`, or `gke-gcloud-auth-plugin`).

use std::path::Path;

use serde_json::{json, Value};

use crate::auth::credentials::KeyInput;
use crate::error::Result;
use crate::net::private_file::write_private;

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

/// The key file our credential helper is given: the key's JSON written (0600) at `copy`, or
/// the key file the connection names; `None` for the default chain. `field` names the key's
/// field in errors (which never show its text).
pub fn helper_key_file(key: &str, field: &str, copy: &Path) -> Result<Option<String>> {
    Ok(match KeyInput::parse(key, field)? {
        KeyInput::Blank => None,
        KeyInput::Json(json) => {
            write_private(copy, json.as_bytes())?;
            Some(copy.display().to_string())
        }
        KeyInput::File(path) => Some(path.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn helper_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("key.json");
        let field = "GKE connection › Service-account key";
        assert_eq!(helper_key_file("  ", field, &copy).unwrap(), None);
        assert_eq!(
            helper_key_file("/keys/sa.json", field, &copy).unwrap(),
            Some("/keys/sa.json".to_string())
        );
        let written = helper_key_file("\u{feff}{\"type\": \"service_account\"}\n", field, &copy)
            .unwrap()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(written).unwrap(),
            "{\"type\": \"service_account\"}"
        );
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n";
        let e = helper_key_file(pem, field, &copy).unwrap_err().to_string();
        assert!(
            e.contains("its text is not shown") && !e.contains("MIIEvQ"),
            "{e}"
        );
    }
}
