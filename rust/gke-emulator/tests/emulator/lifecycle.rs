//! gke-core's cluster lifecycle (`create_or_resume`, `delete_cluster`, node-pool changes) driven
//! against the emulator, with a service-account key whose token endpoint is the emulator's: what
//! an admin would check afterwards (the clusters GKE lists, the calls made) is asserted.

use std::future::Future;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gke_core::auth::credentials::GoogleCredentials;
use gke_core::cluster::create::create_or_resume;
use gke_core::cluster::delete::delete_cluster;
use gke_core::cluster::handle::{ClusterRef, Session};
use gke_core::cluster::node_pool_changes::resize;
use gke_core::cluster::plan::Plan;
use gke_core::config::cluster::{ClusterRequest, PlanContext};
use gke_core::config::connection::Connection;
use gke_core::google::compute::Compute;
use gke_core::google::gke::GkeApi;
use gke_core::GkeError;
use google_cloud_container_v1::model::cluster::Status as ClusterStatus;
use serde_json::{json, Value};

use crate::support::{cluster_name, parent, Emulator, PROJECT, ZONE};

const REGION: &str = "us-central1";
const EMAIL: &str = "dss-admin@test-project.iam.gserviceaccount.com";
/// No test waits longer than this for gke-core to finish.
const BOUND: Duration = Duration::from_secs(30);
/// What gke-core is given as an operation timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh RSA key (PKCS#8 PEM), made once per test run: Google's service-account signer
/// needs RS256. The emulator does not check the signature.
fn private_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("run openssl to make a test RSA key");
        assert!(out.status.success(), "openssl genpkey: {out:?}");
        String::from_utf8(out.stdout).expect("PEM text")
    })
}

/// Credentials whose tokens come from the emulator's `/token`: no process-wide settings.
fn credentials(emulator: &Emulator) -> GoogleCredentials {
    let key = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": private_key(),
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": format!("{}/token", emulator.url),
    });
    GoogleCredentials::from_key_or_default(&key.to_string(), "Service-account key")
        .expect("a usable test key")
}

/// The plan start() would make for a Standard zonal cluster `name` with these node pools.
fn plan(emulator: &Emulator, name: &str, pools: &[&str], keep_failed: bool) -> Plan {
    let config = json!({
        "gke_name": name,
        "connection": {"project_id": PROJECT, "zone": ZONE},
        "network_mode": "default",
        "node_pools": pools.iter().map(|p| json!({"name": p, "node_count": 2})).collect::<Vec<_>>(),
        "keep_failed": keep_failed,
    });
    let spec = ClusterRequest::from_dss(&config)
        .expect("a form DSS could send")
        .validate("dss-cluster")
        .expect("a valid configuration");
    let context = PlanContext {
        project_id: PROJECT.into(),
        zone: ZONE.into(),
        region: REGION.into(),
        host_network: None,
        host_ip: None,
        dss_service_account: Some(EMAIL.into()),
    };
    let request = spec.create_request(&context).expect("a create request");
    Plan {
        spec,
        connection: Connection {
            project_id: PROJECT.into(),
            zone: ZONE.into(),
            region: REGION.into(),
            credentials: format!("service-account key of {EMAIL}"),
            identity: Some(EMAIL.into()),
            repository: None,
        },
        credentials: credentials(emulator),
        context,
        request,
    }
}

async fn gke(emulator: &Emulator) -> GkeApi {
    GkeApi::connect(&credentials(emulator), Some(emulator.url.clone()))
        .await
        .expect("a GKE client")
}

/// Runs a test on its own thread and runtime with an 8 MiB stack (as a main thread has):
/// polling gke-core's cluster futures takes more than a test thread's 2 MiB in debug builds.
fn on_a_big_stack(test: impl Future<Output = ()> + Send + 'static) {
    let thread = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(test)
        })
        .expect("a test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Fails the test when `work` takes longer than [`BOUND`].
async fn bounded<T>(what: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, work)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than {BOUND:?}"))
}

/// The cluster's status as `clusters.get` answers it; `None` when GKE has no such cluster.
async fn status(emulator: &Emulator, name: &str) -> Option<String> {
    let path = format!("/v1/{}", cluster_name(ZONE, name));
    match emulator.raw(reqwest::Method::GET, &path, None).await {
        (404, _) => None,
        (200, cluster) => Some(cluster["status"].as_str().unwrap_or_default().to_string()),
        (code, body) => panic!("GET {path}: {code} {body}"),
    }
}

/// How many `method` requests the log has whose path ends with `suffix`.
async fn count(emulator: &Emulator, method: &str, suffix: &str) -> usize {
    emulator
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(suffix))
        })
        .count()
}

/// Waits until gke-core polls one operation (`operations.get`): it is then waiting for it.
async fn until_an_operation_is_polled(emulator: &Emulator) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let polled = emulator.requests().await.iter().any(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/operations/"))
        });
        if polled {
            return;
        }
        assert!(Instant::now() < deadline, "no operation was polled");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until gke-core polls an operation, lets it wait a little longer, then releases the
/// held operations.
async fn release_once_waiting(emulator: &Emulator) {
    until_an_operation_is_polled(emulator).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let released = emulator.post_admin("operations/release", json!({})).await;
    assert_eq!(
        released["released"].as_array().map(Vec::len),
        Some(1),
        "{released}"
    );
}

/// Starts the next operation held (RUNNING until released).
async fn hold_next(emulator: &Emulator) {
    emulator
        .post_admin("operations/hold-next", json!({"count": 1}))
        .await;
}

/// The clusters GKE lists in the test zone, by name.
async fn cluster_names(emulator: &Emulator) -> Vec<String> {
    let path = format!("/v1/{}/clusters", parent(ZONE));
    let (code, body) = emulator.raw(reqwest::Method::GET, &path, None).await;
    assert_eq!(code, 200, "{body}");
    body["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

const CREATE: &str = "/clusters";

#[test]
fn a_fresh_cluster_is_created_and_running() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "fresh", &["main"], false);

        let (cluster, created) = bounded("create", create_or_resume(&gke, &plan))
            .await
            .expect("created");

        assert!(created);
        assert_eq!(cluster.status, ClusterStatus::Running);
        assert_eq!(cluster.node_pools.len(), 1);
        assert_eq!(cluster.node_pools[0].name, "main");
        assert_eq!(status(&emulator, "fresh").await.as_deref(), Some("RUNNING"));
        assert_eq!(count(&emulator, "POST", CREATE).await, 1);
        assert_eq!(cluster_names(&emulator).await, ["fresh"]);
    });
}

#[test]
fn a_lost_answer_then_409_finds_the_cluster_and_waits_for_it() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "lost", &["main"], false);
        // GKE creates the cluster but the answer never arrives; the creation is still running
        // when gke-core looks again.
        emulator
            .post_admin(
                "faults",
                json!({"method": "POST", "path": "/clusters", "kind": "actThenReset"}),
            )
            .await;
        hold_next(&emulator).await;

        let (outcome, ()) = bounded("create after a lost answer", async {
            tokio::join!(
                create_or_resume(&gke, &plan),
                release_once_waiting(&emulator)
            )
        })
        .await;
        let (cluster, created) = outcome.expect("found and waited for");

        assert!(created, "this start's creation was waited for");
        assert_eq!(cluster.status, ClusterStatus::Running);
        assert_eq!(status(&emulator, "lost").await.as_deref(), Some("RUNNING"));
        // The lost POST, its retry answered 409, and no third.
        let log = emulator.requests().await;
        let creates: Vec<&Value> = log
            .iter()
            .filter(|r| {
                r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with(CREATE))
            })
            .collect();
        assert_eq!(creates.len(), 2, "{creates:#?}");
        assert_eq!(creates[0]["fault"], "actThenReset");
        assert_eq!(creates[1]["status"], 409);
        assert_eq!(cluster_names(&emulator).await, ["lost"]);
    });
}

#[test]
fn a_lost_answer_of_a_creation_already_done_is_still_ours() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "lost-done", &["main"], false);
        // The creation (0.2 s) is over by the time gke-core looks again after the 409.
        emulator
            .post_admin(
                "faults",
                json!({"method": "POST", "path": "/clusters", "kind": "actThenReset"}),
            )
            .await;

        let (cluster, created) =
            bounded("create after a lost answer", create_or_resume(&gke, &plan))
                .await
                .expect("found");

        assert_eq!(cluster.status, ClusterStatus::Running);
        assert_eq!(count(&emulator, "POST", CREATE).await, 2);
        assert_eq!(cluster_names(&emulator).await, ["lost-done"]);
        assert!(
            created,
            "this call's POST created the cluster (its answer was lost), yet it reports an adopted twin"
        );
    });
}

#[test]
fn an_interrupted_creation_is_resumed() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "resumed", &["main"], false);
        // An earlier start sent the creation and was interrupted while it ran.
        hold_next(&emulator).await;
        gke.create_cluster(&plan.request)
            .await
            .expect("first creation");
        assert_eq!(
            status(&emulator, "resumed").await.as_deref(),
            Some("PROVISIONING")
        );
        emulator.clear_requests().await;

        let (outcome, ()) = bounded("resume", async {
            tokio::join!(
                create_or_resume(&gke, &plan),
                release_once_waiting(&emulator)
            )
        })
        .await;
        let (cluster, created) = outcome.expect("resumed");

        assert!(created);
        assert_eq!(cluster.status, ClusterStatus::Running);
        assert_eq!(
            status(&emulator, "resumed").await.as_deref(),
            Some("RUNNING")
        );
        assert_eq!(
            count(&emulator, "POST", CREATE).await,
            0,
            "no second creation"
        );
        assert_eq!(cluster_names(&emulator).await, ["resumed"]);
    });
}

#[test]
fn another_configuration_still_provisioning_is_refused() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        // Another DSS cluster (other node pools) is creating the same GKE name.
        let theirs = plan(&emulator, "taken", &["gpu"], false);
        hold_next(&emulator).await;
        gke.create_cluster(&theirs.request)
            .await
            .expect("their creation");
        emulator.clear_requests().await;

        let ours = plan(&emulator, "taken", &["main"], false);
        let release = async {
            // Released whether or not gke-core waits for it, so that the test ends.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            emulator.post_admin("operations/release", json!({})).await;
        };
        let (outcome, ()) = bounded("a start over another creation", async {
            tokio::join!(create_or_resume(&gke, &ours), release)
        })
        .await;

        let error = match outcome {
            Ok((cluster, created)) => panic!(
                "adopted as created={created}: a cluster with node pools {:?} for a plan of [\"main\"]",
                cluster.node_pools.iter().map(|p| &p.name).collect::<Vec<_>>()
            ),
            Err(e) => e,
        };
        let GkeError::Validation(problems) = &error else {
            panic!("not a ValidationError: {error:?}");
        };
        assert_eq!(problems[0].field, "GKE cluster name");
        assert_eq!(count(&emulator, "POST", CREATE).await, 0);
    });
}

#[test]
fn a_failed_creation_is_deleted_so_it_costs_nothing() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "failing", &["main"], false);
        emulator
            .post_admin(
                "operations/fail-next",
                json!({"code": "RESOURCE_EXHAUSTED", "message": "Insufficient regional quota."}),
            )
            .await;

        let error = bounded("a failing creation", create_or_resume(&gke, &plan))
            .await
            .expect_err("the creation fails");

        let GkeError::OperationFailed {
            operation, message, ..
        } = &error
        else {
            panic!("not an OperationFailed: {error:?}");
        };
        assert_eq!(operation, "creation of failing");
        assert_eq!(
            message,
            "GKE said: Insufficient regional quota.; it was deleted, so it costs nothing"
        );
        assert_eq!(status(&emulator, "failing").await, None);
        assert_eq!(count(&emulator, "POST", CREATE).await, 1);
        assert_eq!(count(&emulator, "DELETE", "/clusters/failing").await, 1);
    });
}

#[test]
fn a_failed_creation_is_kept_when_asked_then_deleted_by_the_next_start() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        emulator
            .post_admin(
                "operations/fail-next",
                json!({"message": "Insufficient regional quota."}),
            )
            .await;

        let kept = plan(&emulator, "kept", &["main"], true);
        let error = bounded("a failing creation", create_or_resume(&gke, &kept))
            .await
            .expect_err("the creation fails");

        let GkeError::OperationFailed { message, .. } = &error else {
            panic!("not an OperationFailed: {error:?}");
        };
        assert!(
            message.starts_with("GKE said: Insufficient regional quota.. The cluster was kept"),
            "{message}"
        );
        assert!(
            message.contains("delete it yourself when done"),
            "{message}"
        );
        assert_eq!(status(&emulator, "kept").await.as_deref(), Some("ERROR"));
        assert_eq!(count(&emulator, "DELETE", "/clusters/kept").await, 0);

        // A start without "keep failed clusters" finds it in ERROR and cleans it up.
        let again = plan(&emulator, "kept", &["main"], false);
        let error = bounded(
            "a start on an ERROR cluster",
            create_or_resume(&gke, &again),
        )
        .await
        .expect_err("the cluster is in ERROR");
        let GkeError::OperationFailed { message, .. } = &error else {
            panic!("not an OperationFailed: {error:?}");
        };
        assert!(
            message.ends_with("it was deleted, so it costs nothing"),
            "{message}"
        );
        assert_eq!(status(&emulator, "kept").await, None);
        assert_eq!(count(&emulator, "DELETE", "/clusters/kept").await, 1);
        assert_eq!(
            count(&emulator, "POST", CREATE).await,
            1,
            "no second creation"
        );
    });
}

#[test]
fn a_cluster_being_deleted_is_waited_for_then_created_again() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let plan = plan(&emulator, "again", &["main"], false);
        bounded("first creation", create_or_resume(&gke, &plan))
            .await
            .expect("created");
        hold_next(&emulator).await;
        let path = format!("/v1/{}", cluster_name(ZONE, "again"));
        let (code, body) = emulator.raw(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            status(&emulator, "again").await.as_deref(),
            Some("STOPPING")
        );
        emulator.clear_requests().await;

        let (outcome, ()) = bounded("create over a deletion", async {
            tokio::join!(
                create_or_resume(&gke, &plan),
                release_once_waiting(&emulator)
            )
        })
        .await;
        let (cluster, created) = outcome.expect("created again");

        assert!(created);
        assert_eq!(cluster.status, ClusterStatus::Running);
        assert_eq!(status(&emulator, "again").await.as_deref(), Some("RUNNING"));
        assert_eq!(
            count(&emulator, "POST", CREATE).await,
            1,
            "created once, after the deletion"
        );
        assert_eq!(cluster_names(&emulator).await, ["again"]);
    });
}

#[test]
fn a_running_twin_is_adopted_only_with_the_same_pools() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        let first = plan(&emulator, "twin", &["main", "spark"], false);
        bounded("first creation", create_or_resume(&gke, &first))
            .await
            .expect("created");

        // Same pools (given in another order): adopted, nothing created.
        let same = plan(&emulator, "twin", &["spark", "main"], false);
        let (cluster, created) = bounded("adoption", create_or_resume(&gke, &same))
            .await
            .expect("adopted");
        assert!(!created);
        assert_eq!(cluster.status, ClusterStatus::Running);

        // Other pools: refused, naming the field to change.
        let other = plan(&emulator, "twin", &["main", "gpu"], false);
        let error = bounded("a twin with other pools", create_or_resume(&gke, &other))
            .await
            .expect_err("refused");
        let GkeError::Validation(problems) = &error else {
            panic!("not a ValidationError: {error:?}");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "GKE cluster name");
        assert!(
            problems[0].message.contains(
                "a cluster named 'twin' already runs in us-central1-a with another configuration"
            ),
            "{}",
            problems[0].message
        );
        assert!(
            problems[0].message.contains("\"main\", \"spark\""),
            "{}",
            problems[0].message
        );

        assert_eq!(count(&emulator, "POST", CREATE).await, 1);
        assert_eq!(status(&emulator, "twin").await.as_deref(), Some("RUNNING"));
        assert_eq!(cluster_names(&emulator).await, ["twin"]);
    });
}

/// A running cluster `name` with the pool `main`, created through gke-core.
async fn running_cluster(emulator: &Emulator, gke: &GkeApi, name: &str) {
    let plan = plan(emulator, name, &["main"], false);
    bounded("creation", create_or_resume(gke, &plan))
        .await
        .expect("created");
    emulator.clear_requests().await;
}

/// Sends `nodePools.setSize` with the next operation held; returns the operation's name.
async fn held_resize(emulator: &Emulator, name: &str, nodes: i64) -> String {
    hold_next(emulator).await;
    let path = format!("/v1/{}/nodePools/main:setSize", cluster_name(ZONE, name));
    let (code, op) = emulator
        .raw(
            reqwest::Method::POST,
            &path,
            Some(json!({"nodeCount": nodes})),
        )
        .await;
    assert_eq!(code, 200, "{op}");
    op["name"].as_str().expect("an operation name").to_string()
}

/// An operation as `operations.get` answers it.
async fn operation(emulator: &Emulator, name: &str) -> Value {
    let path = format!("/v1/{}/operations/{name}", parent(ZONE));
    let (code, op) = emulator.raw(reqwest::Method::GET, &path, None).await;
    assert_eq!(code, 200, "{op}");
    op
}

#[test]
fn a_deletion_during_a_node_pool_change_deletes_the_cluster() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        running_cluster(&emulator, &gke, "busy").await;
        let resize = held_resize(&emulator, "busy", 1).await;

        bounded(
            "deletion",
            delete_cluster(&gke, &parent(ZONE), "busy", TIMEOUT),
        )
        .await
        .expect("deleted");

        assert_eq!(status(&emulator, "busy").await, None);
        assert_eq!(count(&emulator, "DELETE", "/clusters/busy").await, 1);
        // GKE aborts what ran on the cluster.
        let op = operation(&emulator, &resize).await;
        assert_eq!(op["status"], "DONE", "{op}");
        assert!(op["error"]["message"].as_str().is_some(), "{op}");
    });
}

#[test]
fn a_deletion_already_running_is_waited_for() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        running_cluster(&emulator, &gke, "going").await;
        hold_next(&emulator).await;
        let path = format!("/v1/{}", cluster_name(ZONE, "going"));
        let (code, body) = emulator.raw(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(code, 200, "{body}");

        let zone = parent(ZONE);
        let (outcome, ()) = bounded("deletion", async {
            tokio::join!(
                delete_cluster(&gke, &zone, "going", TIMEOUT),
                release_once_waiting(&emulator)
            )
        })
        .await;
        outcome.expect("deleted");

        assert_eq!(status(&emulator, "going").await, None);
        // Ours (refused: one is running) and no other after it.
        let deletes: Vec<Value> = emulator
            .requests()
            .await
            .into_iter()
            .filter(|r| r["method"] == "DELETE")
            .collect();
        assert_eq!(deletes.len(), 2, "{deletes:#?}");
        assert_eq!(deletes[1]["status"], 400);
    });
}

#[test]
fn a_resize_waits_out_a_running_operation() {
    on_a_big_stack(async {
        let emulator = Emulator::start();
        let gke = gke(&emulator).await;
        running_cluster(&emulator, &gke, "resized").await;
        let other = held_resize(&emulator, "resized", 1).await;
        let credentials = credentials(&emulator);
        let session = Session {
            gke: gke.clone(),
            compute: Compute::new(&credentials, Some(emulator.url.clone())).expect("Compute"),
            credentials,
            project: PROJECT.into(),
            location: ZONE.into(),
        };
        let target = ClusterRef {
            project: PROJECT.into(),
            location: ZONE.into(),
            name: "resized".into(),
            autopilot: false,
            endpoint: None,
        };

        let (outcome, ()) = bounded("resize", async {
            tokio::join!(
                resize(&session, &target, "", 3, false, TIMEOUT, &|_| {}),
                release_once_waiting(&emulator)
            )
        })
        .await;
        let change = outcome.expect("resized");

        assert_eq!(change.action.label(), "resized");
        assert_eq!(change.pool, "main");
        assert!(
            change
                .detail
                .starts_with("main resized from 2 to 3 node(s)"),
            "{}",
            change.detail
        );
        assert_eq!(operation(&emulator, &other).await["status"], "DONE");
        let state = emulator.admin(reqwest::Method::GET, "state", None).await;
        let key = cluster_name(ZONE, "resized");
        assert_eq!(
            state["clusters"][&key]["nodeCounts"]["main"], 3,
            "{}",
            state["clusters"][&key]
        );
        // The held one, ours refused while it ran, ours again once it was done.
        let sizes: Vec<Value> = emulator
            .requests()
            .await
            .into_iter()
            .filter(|r| {
                r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with(":setSize"))
            })
            .map(|r| r["status"].clone())
            .collect();
        assert_eq!(sizes, [json!(200), json!(400), json!(200)]);
        assert_eq!(
            status(&emulator, "resized").await.as_deref(),
            Some("RUNNING")
        );
    });
}
