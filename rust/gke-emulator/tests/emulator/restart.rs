//! `--state-file`: an emulator killed mid-operation and restarted carries on.

use std::time::Duration;

use google_cloud_container_v1::model::{cluster, operation};
use serde_json::json;

use crate::support::*;

fn state_file(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gke-emulator-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    file
}

#[tokio::test]
async fn an_operation_continues_after_a_restart() {
    let file = state_file("continue");
    let path = file.to_str().unwrap();
    let first = Emulator::start_with(&["--state-file", path, "--operation-seconds", "1.5"]);
    let gke = first.gke().await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("survivor", 1))
        .send()
        .await
        .unwrap();
    first.kill();

    let second = Emulator::start_with(&["--state-file", path]);
    let gke = second.gke().await;
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    let resumed = gke.get_operation().set_name(&name).send().await.unwrap();
    assert_ne!(
        resumed.status,
        operation::Status::Done,
        "1.5 s have not passed yet"
    );
    let c = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "survivor"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status, cluster::Status::Provisioning);
    let done = wait_done(&gke, ZONE, &op.name).await;
    assert!(done.error.is_none());
    let c = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "survivor"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status, cluster::Status::Running);
}

#[tokio::test]
async fn a_held_operation_stays_held_across_a_restart_with_its_cluster_ca() {
    let file = state_file("held");
    let path = file.to_str().unwrap();
    let first = Emulator::start_with(&["--state-file", path]);
    first.post_admin("operations/hold-next", json!({})).await;
    let gke = first.gke().await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("kept", 1))
        .send()
        .await
        .unwrap();
    let before = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "kept"))
        .send()
        .await
        .unwrap();
    first.kill();

    let second = Emulator::start_with(&["--state-file", path]);
    let gke = second.gke().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let name = format!("{}/operations/{}", parent(ZONE), op.name);
    assert_eq!(
        gke.get_operation()
            .set_name(&name)
            .send()
            .await
            .unwrap()
            .status,
        operation::Status::Running
    );
    second.post_admin("operations/release", json!({})).await;
    assert_eq!(
        gke.get_operation()
            .set_name(&name)
            .send()
            .await
            .unwrap()
            .status,
        operation::Status::Done
    );
    let after = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "kept"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status, cluster::Status::Running);
    assert_eq!(
        after.master_auth.unwrap().cluster_ca_certificate,
        before.master_auth.unwrap().cluster_ca_certificate
    );
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}
