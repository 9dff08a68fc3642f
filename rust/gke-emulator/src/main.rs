//! `gke-emulator`: a loopback stand-in for the Google APIs gke-native calls — GKE (container v1),
//! Compute, the GCE metadata server, Google's OAuth2 token endpoint, Artifact Registry, Cloud
//! Storage — and for each cluster's Kubernetes API, for tests, `make demo` and `make bench`.
//! Never shipped.
//!
//! # Command line
//!
//! ```text
//! gke-emulator --discovery-dir DIR [--port N] [--state-file FILE] [--operation-seconds S]
//! ```
//!
//! - `--discovery-dir DIR` (or env `GKE_EMULATOR_DISCOVERY_DIR`): folder holding Google's discovery
//!   documents `container.v1.json`, `artifactregistry.v1.json` and `storage.v1.json` (PyPI
//!   `google-api-python-client` ships them in `googleapiclient/discovery_cache/documents/`). Every
//!   request is routed by the method they resolve it to; GKE and Artifact Registry request bodies
//!   are checked against them.
//! - `--port N`: port on 127.0.0.1; `0` (default) picks a free one.
//! - `--state-file FILE`: state is read from FILE at start (if it exists) and written after every
//!   call, so a restarted emulator resumes clusters and running operations.
//! - `--operation-seconds S`: how long each operation takes (default 0.3).
//!
//! Once listening, it prints one line on stdout, its base URL, e.g. `http://127.0.0.1:41234`, and
//! nothing else. Point clients at it: the official Rust clients with `.with_endpoint(URL)`, the
//! metadata server through `GCE_METADATA_HOST=127.0.0.1:PORT` (`GCE_METADATA_IP` likewise).
//!
//! # Surfaces
//!
//! - GKE: `/v1/projects/{p}/locations/{l}/clusters…`, `…/nodePools…`, `…/operations…`.
//! - Artifact Registry: `/v1/projects/{p}/locations/{l}/repositories…` and its `…/operations/{id}`.
//! - Compute: `GET /compute/v1/projects/{p}/zones/{z}/instances/{name}`, `GET …/instanceGroups/{name}`
//!   and `POST …/instanceGroups/{name}/listInstances` (node VMs of node pools, and the host VM
//!   described by the instance metadata).
//! - Metadata server: `/computeMetadata/v1/…` (header `Metadata-Flavor: Google`), and `GET /`
//!   answering with header `Metadata-Flavor: Google`, the probe Google's libraries send to
//!   `GCE_METADATA_IP`. Defaults describe VM `dss-host` in `us-central1-a` of `emulated-project`.
//! - OAuth2: `POST /token` (form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`),
//!   for service-account keys whose `token_uri` is `{URL}/token`: answers
//!   `{"access_token", "expires_in": 3599, "token_type": "Bearer"}` for the JWT's `iss`. The
//!   signature is not verified (the emulator knows no public keys); `exp` must be in the future.
//! - Cloud Storage (JSON API), in memory only: never in the state file, lost at exit. Point
//!   clients at the base URL (`STORAGE_EMULATOR_HOST=127.0.0.1:PORT`, the Python client's
//!   `client_options={"api_endpoint": URL}`, Rust's `.with_endpoint(URL)`).
//!   - Buckets: `POST /storage/v1/b?project=P` `{"name", "location", "storageClass"}` (409 if it
//!     exists), `GET /storage/v1/b` and `GET|DELETE /storage/v1/b/{b}`. Uploads create their
//!     bucket when it does not exist; reads of a missing bucket are 404.
//!   - Uploads `POST /upload/storage/v1/b/{b}/o?uploadType=…`: `multipart` (`multipart/related`:
//!     JSON metadata part, media part, and an optional trailing JSON part with checksums),
//!     `media&name=N`, and `resumable`: the start answers 200 with `Location` (the `Host` header's
//!     host and port — this server's port when the header has none, as Google's Rust client
//!     sends it — and `upload_id`); `PUT` chunks with `Content-Range: bytes A-B/TOTAL` (or `/*`)
//!     → 308 with `Range: bytes=0-N` until the last byte, then 200 with the object; a status
//!     query `Content-Range: bytes */TOTAL` (or `*/*`) → 308, or 200 once finished; a chunk cut
//!     short keeps its whole 256 KiB units; `DELETE` cancels (499). Announced `crc32c` /
//!     `md5Hash` must match the content (400 as GCS words it); `ifGenerationMatch` (0 = must not
//!     exist) → 412.
//!   - Objects `GET /storage/v1/b/{b}/o` (`prefix`, `delimiter`, `maxResults` ≤ 1000, `pageToken`,
//!     `startOffset`, `endOffset`; `fields` and `projection` ignored), `GET …/o/{name}` (metadata;
//!     `alt=media` or `/download/storage/v1/…` for the content, with `Range`, `x-goog-hash`,
//!     `x-goog-generation`), `DELETE …/o/{name}` (`ifGenerationMatch`). Names are URL-encoded in
//!     paths (`%2F`). Resources carry `size` and `generation` as strings, `crc32c` (base64 of the
//!     big-endian CRC32C) and `md5Hash` computed on write, generations in microseconds.
//!   - Requests are in the request log without their bodies (objects can be large); faults apply.
//!     No IAM (`testIamPermissions` is 404), no ACLs, no object versions, no composition.
//! - Each cluster's Kubernetes API, see below.
//!
//! # Kubernetes API of each cluster
//!
//! - Served over HTTPS from the create call on, at the cluster's `endpoint` (`127.0.0.1:PORT`) and
//!   `controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint` (`localhost:PORT`); the certificate
//!   is signed by the cluster's CA (`masterAuth.clusterCaCertificate`) and valid for `127.0.0.1`
//!   and `localhost`. With `--state-file` the port is kept and re-bound after a restart (a new one
//!   only if it is taken), with the same CA and the objects. Deleting the cluster stops it.
//! - Bearer tokens and the identity they stand for: the metadata server's current access token →
//!   its service account email; a token from `POST /token` → the key's service account; a
//!   self-signed service-account JWT (what Rust's google-cloud-auth sends for a key) → its `iss`;
//!   `gke-emulator-test-token` → `test-admin@gke-emulator.local`. No or another token → 401
//!   `Status`. Everyone authenticated may do everything (RBAC objects are stored, not enforced).
//!   Requests are in the request log with `cluster` and `identity`; the token is redacted there.
//! - Discovery (`/version`, `/api`, `/apis`, group versions), `/openapi/v3` (so kubectl leaves
//!   field validation to the server) and a minimal `/openapi/v2`; `/healthz`, `/readyz`, `/livez`.
//! - Resources: namespaces, nodes, pods (+`log`, `status`), serviceaccounts, secrets, configmaps,
//!   events, daemonsets (apps/v1), clusterroles, clusterrolebindings, roles, rolebindings. Verbs:
//!   get, list (`labelSelector`, `fieldSelector` on any dotted field), watch (`?watch=1`), create
//!   (also `generateName`), update, patch (merge, strategic merge, JSON patch, and server-side
//!   apply with `fieldManager`), delete (any `propagationPolicy`; objects go at once),
//!   deletecollection. Bodies in JSON, or protobuf for the kinds `kubectl create` sends that way.
//! - Field validation: unknown fields are refused with 400 `strict decoding error: unknown field
//!   "spec.foo"` unless `fieldValidation=Warn|Ignore` — stricter than a real server, which warns
//!   when the parameter is absent. Invalid names and missing required fields → 422 Invalid.
//! - Nodes are derived from the node pools (names as Compute lists them), with GKE's labels, the
//!   pool's taints (and `nvidia.com/gpu=present:NoSchedule` with accelerators), capacity from the
//!   machine type, Ready; they follow creation, resizing, autoscaling limits and deletion of pools.
//! - Pods are scheduled on a node whose taints they tolerate and whose labels match their node
//!   selector (else Pending, Unschedulable), stay Pending ~`podStartMs`, run ~`podRunMs`, then end
//!   Succeeded, their log echoing command and arguments; with `restartPolicy: Always` (the default)
//!   they run until deleted. DaemonSets report every fitting node as scheduled and ready (no pods).
//!
//! # Behaviour worth knowing
//!
//! - Requests are checked against the discovery document before anything else: unknown names,
//!   wrong JSON types and unknown enum names are refused with 400 INVALID_ARGUMENT, Google's
//!   wording and a `google.rpc.BadRequest` detail naming the field path (proto names:
//!   `cluster.node_pools[0].config.taints[0].effect`). Like Google, it accepts proto (snake_case)
//!   names, int64 as strings, and enums as numbers (what the official clients send); values are
//!   stored as sent.
//! - A cluster accepts one operation at a time (else 400 FAILED_PRECONDITION); deleting aborts
//!   the running ones. Operations are timed from persisted wall-clock timestamps, and their effect
//!   is applied when they end.
//! - Clusters answer `endpoint: 127.0.0.1:PORT`, their Kubernetes API; each has its own CA
//!   (certificate in `masterAuth.clusterCaCertificate`, key in the state).
//! - After a restart without `--port` the URL changes; clients must be pointed at the new one.
//!
//! # Admin surface (JSON in and out; not logged, not subject to faults)
//!
//! - `POST /_emulator/faults` `{"method": "POST", "path": "/clusters", "count": 2, "kind": "error", "status": 503}`:
//!   the next `count` (default 1) requests whose method is `method` (any if absent) and whose path
//!   contains `path` (any if absent) fail. On a cluster's Kubernetes API only faults that give a
//!   `path` apply (e.g. `"/api/v1/namespaces/default/pods"`), answered with a `Status` body. Kinds: `{"kind": "error", "status": 429|500|503|…}`
//!   (Google's error body), `{"kind": "reset"}` (TCP reset, no answer), `{"kind": "actThenReset"}`
//!   (the request is carried out, then the connection is reset instead of answering: a lost answer),
//!   `{"kind": "delay", "delayMs": 500}` (answered normally after the delay).
//!   `GET` lists pending faults, `DELETE` clears them.
//! - `GET /_emulator/requests` → `{"requests": [{"time", "method", "path", "query", "headers",
//!   "body", "status", "fault"}, …]}` in arrival order (admin calls excluded; Cloud Storage's
//!   with a null body); credentials are redacted (`"authorization": "Bearer [redacted]"`, the
//!   token endpoint's `assertion=[redacted]`); `DELETE` clears.
//! - `GET /_emulator/metadata` → the instance; `PUT` merges fields: `{"projectId", "projectNumber",
//!   "zone", "instanceName", "instanceId", "machineType", "network", "subnetwork", "ip",
//!   "serviceAccountEmail", "scopes": [..], "accessToken", "tokenLifetimeSeconds"}`.
//! - `POST /_emulator/operations/fail-next` `{"code": 8 | "RESOURCE_EXHAUSTED", "message": "…", "count": 1}`:
//!   the next operation(s) started (GKE or Artifact Registry) end DONE with that error.
//! - `POST /_emulator/operations/hold-next` `{"count": 1}`: the next operation(s) stay RUNNING
//!   until released.
//! - `POST /_emulator/operations/release` `{"name": "operation-…"}` or `{}` for all held →
//!   `{"released": [names]}`; a released operation finishes once its duration has passed.
//! - `GET /_emulator/settings` → `{"operationMs": 300, "podStartMs": 200, "podRunMs": 500}`;
//!   `PUT` any of these fields to change the timing of operations and pods started afterwards.
//! - `POST /_emulator/pods/script` `{"cluster": "c", "namespace": "default", "namePrefix": "job-",
//!   "phase": "Failed", "log": "boom\n", "runSeconds": 0.1, "exitCode": 3, "count": 1}` (all
//!   optional): the next `count` pods created that match (cluster name, namespace, name prefix)
//!   run `runSeconds` then end in `phase` (Succeeded by default) with that exit code (0 or 1 by
//!   default) and log. `GET` lists waiting scripts, `DELETE` clears them.
//! - `GET /_emulator/state` → the whole persisted state (clusters with CA keys, per-zone node
//!   counts, API port and Kubernetes objects, operations, repositories, instance, plans, issued
//!   tokens, pod scripts).

mod admin;
mod artifact_registry;
mod ca;
mod catalogue;
mod compute;
mod connection;
mod container;
mod discovery;
mod errors;
mod faults;
mod json_path;
mod kubernetes;
mod metadata;
mod oauth;
mod observe;
mod plans;
mod request_log;
mod server;
mod state;
mod storage;
mod timeline;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Loopback stand-in for GKE, Compute, the metadata server, Artifact Registry and Cloud Storage.
#[derive(Parser)]
#[command(name = "gke-emulator", version)]
struct Args {
    /// Folder with Google's discovery documents (container.v1, artifactregistry.v1, storage.v1).
    #[arg(long, env = "GKE_EMULATOR_DISCOVERY_DIR")]
    discovery_dir: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Read state from and persist it to this file.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Duration of each long-running operation.
    #[arg(long, default_value_t = 0.3)]
    operation_seconds: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gke-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let discovery = discovery::Discovery::load(&args.discovery_dir)?;
    let state = match &args.state_file {
        Some(path) => state::State::load(path)?.unwrap_or_default(),
        None => state::State::default(),
    };
    if !args.operation_seconds.is_finite() || args.operation_seconds < 0.0 {
        return Err("--operation-seconds must be zero or more".into());
    }
    let operation_ms = (args.operation_seconds * 1000.0).round() as u64;
    let app = server::App::new(state, args.state_file, discovery, operation_ms);
    // Clusters restored from the state file get their Kubernetes API back before the URL is printed.
    app.with_state(|_, _| ());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    app.storage.set_address(address.to_string());
    let mut stdout = std::io::stdout();
    writeln!(stdout, "http://{address}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot print the base URL: {e}"))?;
    server::serve(listener, server::router(app)).await;
    Ok(())
}
