//! Injected faults and the request log, seen through the official client's retry behaviour.

use std::time::{Duration, Instant};

use google_cloud_container_v1::client::ClusterManager;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::NeverRetry;
use serde_json::json;

use crate::support::*;

async fn with_cluster() -> (Emulator, ClusterManager) {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster("f", 1)).await;
    emulator.clear_requests().await;
    (emulator, gke)
}

async fn get(
    gke: &ClusterManager,
) -> Result<google_cloud_container_v1::model::Cluster, google_cloud_gax::error::Error> {
    gke.get_cluster()
        .set_name(cluster_name(ZONE, "f"))
        .send()
        .await
}

#[tokio::test]
async fn the_request_log_shows_exactly_what_the_client_sent() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    gke.create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("logged", 3))
        .send()
        .await
        .unwrap();
    let log = emulator.requests().await;
    assert_eq!(log.len(), 1);
    let request = &log[0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], format!("/v1/{}/clusters", parent(ZONE)));
    assert!(
        request["query"].as_str().unwrap().contains("%24alt=json"),
        "{request}"
    );
    assert_eq!(
        request["body"]["cluster"]["nodePools"][0]["initialNodeCount"],
        3
    );
    assert_eq!(request["status"], 200);
    assert!(request["time"].as_str().unwrap().ends_with('Z'));
    assert!(request["headers"]["x-goog-api-client"].is_string());
}

#[tokio::test]
async fn unavailable_is_retried_by_the_client_and_every_attempt_is_logged() {
    let (emulator, gke) = with_cluster().await;
    emulator
        .post_admin("faults", json!({"method": "GET", "path": "/clusters/f", "count": 2, "kind": "error", "status": 503}))
        .await;
    get(&gke).await.expect("retried past two 503s");
    let log = emulator.requests().await;
    let statuses: Vec<_> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(log[0]["fault"], "error");
}

#[tokio::test]
async fn quota_and_internal_errors_reach_the_caller_with_googles_status() {
    let (emulator, gke) = with_cluster().await;
    emulator
        .post_admin("faults", json!({"kind": "error", "status": 429}))
        .await;
    let error = get(&gke).await.unwrap_err();
    assert_eq!(error.http_status_code(), Some(429));
    assert_eq!(status_of(&error).0, Code::ResourceExhausted);

    emulator
        .post_admin(
            "faults",
            json!({"method": "POST", "kind": "error", "status": 500}),
        )
        .await;
    let error = gke
        .set_node_pool_size()
        .set_name(format!("{}/nodePools/pool-1", cluster_name(ZONE, "f")))
        .set_node_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.http_status_code(), Some(500));
    assert_eq!(status_of(&error).0, Code::Internal);
    assert_eq!(
        emulator.requests().await.len(),
        2,
        "neither error is retried"
    );
}

#[tokio::test]
async fn a_reset_connection_is_an_io_error_and_idempotent_calls_retry_it() {
    let (emulator, gke) = with_cluster().await;
    emulator
        .post_admin("faults", json!({"path": "/clusters/f", "kind": "reset"}))
        .await;
    get(&gke).await.expect("a GET is retried after a reset");
    let log = emulator.requests().await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["fault"], "reset");
    assert!(log[0]["status"].is_null());

    let no_retry = google_cloud_container_v1::client::ClusterManager::builder()
        .with_endpoint(&emulator.url)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .unwrap();
    emulator
        .post_admin("faults", json!({"kind": "reset"}))
        .await;
    let error = get(&no_retry).await.unwrap_err();
    assert!(error.is_io() || error.is_transport(), "{error:?}");
    assert!(error.http_status_code().is_none());
}

#[tokio::test]
async fn a_delayed_response_arrives_late_but_intact() {
    let (emulator, gke) = with_cluster().await;
    emulator
        .post_admin("faults", json!({"kind": "delay", "delayMs": 400}))
        .await;
    let started = Instant::now();
    get(&gke).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    let listed = emulator.admin(reqwest::Method::GET, "faults", None).await;
    assert_eq!(listed["faults"], json!([]), "the fault was used up");
}

#[tokio::test]
async fn act_then_reset_carries_the_request_out_and_loses_the_answer() {
    let (emulator, gke) = with_cluster().await;
    emulator
        .post_admin(
            "faults",
            json!({"method": "POST", "path": "/nodePools", "kind": "actThenReset"}),
        )
        .await;
    let no_retry = google_cloud_container_v1::client::ClusterManager::builder()
        .with_endpoint(&emulator.url)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .unwrap();
    let error = no_retry
        .create_node_pool()
        .set_parent(cluster_name(ZONE, "f"))
        .set_node_pool(
            google_cloud_container_v1::model::NodePool::new()
                .set_name("late")
                .set_initial_node_count(1),
        )
        .send()
        .await
        .unwrap_err();
    assert!(error.is_io() || error.is_transport(), "{error:?}");
    let log = emulator.requests().await;
    assert_eq!(log[0]["fault"], "actThenReset");
    assert_eq!(log[0]["status"], 200, "the server acted");
    let pools: Vec<String> = get(&gke)
        .await
        .unwrap()
        .node_pools
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(pools.contains(&"late".to_string()), "{pools:?}");
}

#[tokio::test]
async fn bearer_tokens_are_redacted_in_the_request_log() {
    let emulator = Emulator::start();
    reqwest::Client::new()
        .get(format!("{}/v1/{}/clusters", emulator.url, parent(ZONE)))
        .bearer_auth("ya29.a-real-looking-token")
        .send()
        .await
        .unwrap();
    let log = emulator.requests().await;
    assert_eq!(log[0]["headers"]["authorization"], "Bearer [redacted]");
    assert!(!serde_json::to_string(&log)
        .unwrap()
        .contains("a-real-looking-token"));
}
