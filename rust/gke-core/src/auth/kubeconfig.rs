//! Kubeconfig files without gcloud: the cluster's endpoint and CA, and an exec credential
//! helper (ours, `python -m dss_gke.credential`, or `gke-gcloud-auth-plugin`).

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::auth::credentials::KeyInput;
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

/// Writes `content` to `path`, private to this user from the first byte and never through a
/// planted file or link: a new file of a random name in the same folder (created exclusively,
/// mode 0600, so no existing file or symlink is ever opened), synced, then renamed over `path`
/// (which replaces a link there rather than following it). `tempfile` does the exclusive
/// creation as a well-kept crate.
pub fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| GkeError::file("write", path, e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(content).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
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

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        write_private(&path, b"x").unwrap();
        assert_eq!(mode(&path), 0o600);
        // Only the file itself is left: no temporary file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_0644_file_ends_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        // Planted at the target, and at the temporary name earlier versions used.
        let old_tmp = path.with_extension(format!("tmp{}", std::process::id()));
        for planted in [&path, &old_tmp] {
            std::fs::write(planted, b"old").unwrap();
            std::fs::set_permissions(planted, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private(&path, b"secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        assert_eq!(std::fs::read(&old_tmp).unwrap(), b"old");
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let path = dir.path().join("gke-native-sa-key.json");
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let old_tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_private(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
        assert_eq!(mode(&victim), 0o644);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the link was replaced by a file"
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
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
