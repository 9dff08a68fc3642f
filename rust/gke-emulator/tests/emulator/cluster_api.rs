//! Reaching a cluster's Kubernetes API the way the plugin does: a kubeconfig written from the
//! cluster's endpoint and CA with a bearer token, read by the `kube` crate and by real kubectl.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use google_cloud_container_v1::model::Cluster;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{json, Value};

use crate::support::*;

/// The token every cluster API accepts (documented in the emulator's main.rs).
pub const TEST_TOKEN: &str = "gke-emulator-test-token";

/// A temporary folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("gke-emulator-k8s-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A kubeconfig as the plugin writes it: `server: https://{endpoint}`, the cluster's CA, and a
/// bearer token (none when `token` is None).
pub fn kubeconfig_yaml(server: &str, cluster: &Cluster, token: Option<&str>) -> String {
    let ca = &cluster.master_auth.as_ref().unwrap().cluster_ca_certificate;
    let user = match token {
        Some(token) => format!("  user:\n    token: {token}\n"),
        None => "  user: {}\n".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gke\n  cluster:\n    server: https://{server}\n    certificate-authority-data: {ca}\nusers:\n- name: me\n{user}contexts:\n- name: gke\n  context:\n    cluster: gke\n    user: me\ncurrent-context: gke\n"
    )
}

pub async fn client_for(server: &str, cluster: &Cluster, token: Option<&str>) -> kube::Client {
    // The test binary links both ring and aws-lc-rs (Google's auth crate), so rustls cannot pick
    // a provider itself; the plugin installs ring the same way.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::from_yaml(&kubeconfig_yaml(server, cluster, token)).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// A `kube` client for the cluster's IP endpoint with the test token.
pub async fn client(cluster: &Cluster) -> kube::Client {
    client_for(&cluster.endpoint, cluster, Some(TEST_TOKEN)).await
}

/// Real kubectl pointed at a kubeconfig file, with its discovery cache in the same folder.
pub struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    pub fn new(dir: &Path, cluster: &Cluster) -> Kubectl {
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(&cluster.endpoint, cluster, Some(TEST_TOKEN)),
        )
        .unwrap();
        let found = Command::new("kubectl")
            .args(["version", "--client"])
            .output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "kubectl is needed by this test and was not found on PATH: install it \
             (Debian: apt-get install kubernetes-client; `make` does this on a fresh machine)"
        );
        Kubectl {
            kubeconfig,
            cache: dir.join("cache"),
        }
    }

    /// Runs kubectl; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run kubectl");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs kubectl and fails the test unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, out, err) = self.run(args, stdin);
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }
}

/// A running cluster named `name` with a 2-node pool `pool-1`.
pub async fn running_cluster(emulator: &Emulator, name: &str) -> Cluster {
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster(name, 2)).await
}

/// Polls `check` until it returns Some, for at most 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An unsigned JWT with the claims Google's libraries put in a service-account assertion.
pub fn assertion(email: &str, audience: &str) -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})),
        b64(
            json!({"iss": email, "sub": email, "aud": audience, "iat": now, "exp": now + 3600,
                   "scope": "https://www.googleapis.com/auth/cloud-platform"})
        )
    )
}

/// The Kubernetes API calls in the request log (those carrying a cluster).
pub async fn api_calls(emulator: &Emulator) -> Vec<Value> {
    emulator
        .requests()
        .await
        .into_iter()
        .filter(|r| r.get("cluster").is_some())
        .collect()
}
