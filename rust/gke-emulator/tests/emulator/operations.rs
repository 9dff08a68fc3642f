//! Operations: progress over time, listing, cancelling, and the admin plans that make them fail or wait.

use std::time::Duration;

use google_cloud_container_v1::model::{cluster, operation};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn operations_report_progress_and_are_listed() {
    let emulator = Emulator::start_with(&["--operation-seconds", "1"]);
    let gke = emulator.gke().await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("slow", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(op.status, operation::Status::Pending);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    let running = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_eq!(running.status, operation::Status::Running);
    let progress = running.progress.unwrap();
    let fraction = progress
        .metrics
        .iter()
        .find(|m| m.name == "progress")
        .unwrap();
    let value = fraction.double_value().copied().unwrap();
    assert!(value > 0.2 && value < 1.0, "{value}");

    let listed = gke
        .list_operations()
        .set_parent(parent(ZONE))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.operations.len(), 1);
    assert_eq!(listed.operations[0].name, op.name);
    let done = wait_done(&gke, ZONE, &op.name).await;
    assert_eq!(done.progress.unwrap().metrics[0].double_value(), Some(&1.0));
}

#[tokio::test]
async fn a_failed_operation_carries_its_error_and_leaves_the_cluster_in_error() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    emulator
        .post_admin(
            "operations/fail-next",
            json!({"code": "RESOURCE_EXHAUSTED", "message": "Insufficient regional quota: CPUS"}),
        )
        .await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("broke", 1))
        .send()
        .await
        .unwrap();
    let done = wait_done(&gke, ZONE, &op.name).await;
    let error = done.error.expect("an error");
    assert_eq!(error.code, 8);
    assert_eq!(error.message, "Insufficient regional quota: CPUS");
    let c = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "broke"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status, cluster::Status::Error);
    // Only the next operation fails.
    let op = gke
        .delete_cluster()
        .set_name(cluster_name(ZONE, "broke"))
        .send()
        .await
        .unwrap();
    assert!(wait_done(&gke, ZONE, &op.name).await.error.is_none());
}

#[tokio::test]
async fn a_held_operation_runs_until_released() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    emulator.post_admin("operations/hold-next", json!({})).await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("held", 1))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    let still = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_eq!(still.status, operation::Status::Running);
    let released = emulator
        .post_admin("operations/release", json!({"name": op.name}))
        .await;
    assert_eq!(released["released"], json!([op.name]));
    let done = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_eq!(done.status, operation::Status::Done);
}

#[tokio::test]
async fn a_cancelled_operation_ends_with_cancelled() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster("cancel", 1)).await;
    emulator
        .post_admin("operations/hold-next", json!({"count": 1}))
        .await;
    let op = gke
        .set_node_pool_size()
        .set_name(format!("{}/nodePools/pool-1", cluster_name(ZONE, "cancel")))
        .set_node_count(3)
        .send()
        .await
        .unwrap();
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    gke.cancel_operation().set_name(&name).send().await.unwrap();
    let done = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_eq!(done.status, operation::Status::Done);
    assert_eq!(done.error.unwrap().code, 1);
    let c = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status, cluster::Status::Running);
    #[allow(deprecated)] // GKE still fills it, so the emulator does too.
    let nodes = c.current_node_count;
    assert_eq!(nodes, 1, "a cancelled resize changes nothing");
    let again = gke
        .cancel_operation()
        .set_name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        status_of(&again).0,
        google_cloud_gax::error::rpc::Code::FailedPrecondition
    );
}

#[tokio::test]
async fn the_operation_duration_is_set_per_test() {
    let emulator = Emulator::start();
    let settings = emulator
        .admin(
            reqwest::Method::PUT,
            "settings",
            Some(json!({"operationMs": 3000})),
        )
        .await;
    assert_eq!(settings["operationMs"], 3000);
    let gke = emulator.gke().await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("long", 1))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    let running = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_eq!(running.status, operation::Status::Running);
    emulator
        .admin(
            reqwest::Method::PUT,
            "settings",
            Some(json!({"operationMs": 0})),
        )
        .await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("instant", 1))
        .send()
        .await
        .unwrap();
    let done = gke
        .get_operation()
        .set_name(format!("{}/operations/{}", parent(ZONE), op.name))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status, operation::Status::Done);
}
