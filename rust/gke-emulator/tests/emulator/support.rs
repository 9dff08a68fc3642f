//! Starting the emulator binary, building clients pointed at it, and admin calls.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use google_cloud_artifactregistry_v1::client::ArtifactRegistry;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model::{operation, Cluster, NodeConfig, NodePool, Operation};
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use serde_json::Value;

pub const PROJECT: &str = "test-project";
pub const ZONE: &str = "us-central1-a";

/// Operations in tests take this long unless a test says otherwise.
const OPERATION_SECONDS: &str = "0.2";

pub fn parent(location: &str) -> String {
    format!("projects/{PROJECT}/locations/{location}")
}

pub fn cluster_name(location: &str, cluster: &str) -> String {
    format!("{}/clusters/{cluster}", parent(location))
}

/// The discovery documents: `GKE_EMULATOR_DISCOVERY_DIR`, else those of the `googleapiclient`
/// Python package that `python3` imports.
pub fn discovery_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GKE_EMULATOR_DISCOVERY_DIR") {
        return PathBuf::from(dir);
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "import googleapiclient, os; print(os.path.dirname(googleapiclient.__file__))",
        ])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
                .join("discovery_cache/documents")
        })
        .filter(|dir| dir.join("container.v1.json").is_file());
    found.expect(
        "Google's discovery documents were not found: set GKE_EMULATOR_DISCOVERY_DIR to the \
         googleapiclient/discovery_cache/documents folder of PyPI google-api-python-client \
         (pip install google-api-python-client)",
    )
}

pub struct Emulator {
    child: Child,
    pub url: String,
    /// How long the emulator took to print its URL.
    pub startup: Duration,
    http: reqwest::Client,
}

impl Emulator {
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// Starts the binary with extra flags (`--operation-seconds` defaults to a short duration).
    pub fn start_with(extra: &[&str]) -> Emulator {
        // The Google crates are built without their own TLS provider (aws-lc), as in gke-core.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gke-emulator"));
        command
            .arg("--discovery-dir")
            .arg(discovery_dir())
            .args(extra);
        if !extra.contains(&"--operation-seconds") {
            command.args(["--operation-seconds", OPERATION_SECONDS]);
        }
        let started = Instant::now();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gke-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the base URL");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected first line {line:?}"
        );
        Emulator {
            child,
            url,
            startup: started.elapsed(),
            http: reqwest::Client::new(),
        }
    }

    /// `host:port`, the form `GCE_METADATA_HOST` takes.
    pub fn host(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn gke(&self) -> ClusterManager {
        ClusterManager::builder()
            .with_endpoint(&self.url)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .with_backoff_policy(fast_backoff())
            .build()
            .await
            .expect("build a ClusterManager client")
    }

    pub async fn registry(&self) -> ArtifactRegistry {
        ArtifactRegistry::builder()
            .with_endpoint(&self.url)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .with_backoff_policy(fast_backoff())
            .with_polling_backoff_policy(fast_backoff())
            .build()
            .await
            .expect("build an ArtifactRegistry client")
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Calls the admin surface and returns its JSON answer, failing the test on an error status.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/_emulator/{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin call");
        assert!(
            response.status().is_success(),
            "admin {path}: {}",
            response.status()
        );
        response.json().await.expect("admin JSON")
    }

    pub async fn post_admin(&self, path: &str, body: Value) -> Value {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    /// The request log, without admin calls.
    pub async fn requests(&self) -> Vec<Value> {
        let log = self.admin(reqwest::Method::GET, "requests", None).await;
        log["requests"].as_array().cloned().unwrap_or_default()
    }

    pub async fn clear_requests(&self) {
        self.admin(reqwest::Method::DELETE, "requests", None).await;
    }

    /// A raw JSON call to the Google API surface: status and body as sent by the server.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("raw call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps client retries and polling fast so the suite stays quick.
pub fn fast_backoff() -> google_cloud_gax::exponential_backoff::ExponentialBackoff {
    ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(20))
        .with_maximum_delay(Duration::from_millis(100))
        .build()
        .expect("valid backoff")
}

/// Polls `operations.get` until the operation is DONE.
pub async fn wait_done(gke: &ClusterManager, location: &str, operation: &str) -> Operation {
    let name = format!("{}/operations/{operation}", parent(location));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let op = gke
            .get_operation()
            .set_name(&name)
            .send()
            .await
            .expect("get operation");
        if op.status == operation::Status::Done {
            return op;
        }
        assert!(
            Instant::now() < deadline,
            "operation {operation} not done: {op:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A small valid cluster with one node pool of `nodes` nodes.
pub fn simple_cluster(name: &str, nodes: i32) -> Cluster {
    Cluster::new()
        .set_name(name)
        .set_node_pools([NodePool::new()
            .set_name("pool-1")
            .set_initial_node_count(nodes)
            .set_config(NodeConfig::new().set_machine_type("e2-standard-4"))])
}

/// Creates a cluster and waits until it is RUNNING.
pub async fn create_running(gke: &ClusterManager, location: &str, cluster: Cluster) -> Cluster {
    let name = cluster.name.clone();
    let op = gke
        .create_cluster()
        .set_parent(parent(location))
        .set_cluster(cluster)
        .send()
        .await
        .expect("create cluster");
    let done = wait_done(gke, location, &op.name).await;
    assert!(done.error.is_none(), "create failed: {done:?}");
    gke.get_cluster()
        .set_name(cluster_name(location, &name))
        .send()
        .await
        .expect("get cluster")
}

/// The status code and message of a failed call.
pub fn status_of(
    error: &google_cloud_gax::error::Error,
) -> (google_cloud_gax::error::rpc::Code, String) {
    let status = error
        .status()
        .unwrap_or_else(|| panic!("no status in {error:?}"));
    (status.code, status.message.clone())
}
