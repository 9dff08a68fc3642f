//! Cluster lifecycle through the official GKE client.

use base64::Engine;
use google_cloud_container_v1::model::{
    cluster, operation, Autopilot, ClusterUpdate, NodePoolAutoscaling,
};

use crate::support::*;

#[tokio::test]
async fn starts_quickly_and_prints_its_base_url() {
    let emulator = Emulator::start();
    assert!(emulator.url.starts_with("http://127.0.0.1:"));
    assert!(
        emulator.startup.as_millis() < 1000,
        "took {:?} to start",
        emulator.startup
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fixed = Emulator::start_with(&["--port", &port.to_string()]);
    assert_eq!(fixed.url, format!("http://127.0.0.1:{port}"));
}

#[tokio::test]
async fn a_cluster_is_provisioned_then_running_with_the_fields_the_plugin_reads() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    let op = gke
        .create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("dss-1", 2).set_resource_labels([("team", "dss")]))
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::CreateCluster);
    assert!(matches!(
        op.status,
        operation::Status::Pending | operation::Status::Running
    ));
    assert!(
        op.target_link.ends_with("/clusters/dss-1"),
        "{}",
        op.target_link
    );
    let provisioning = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "dss-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(provisioning.status, cluster::Status::Provisioning);

    let done = wait_done(&gke, ZONE, &op.name).await;
    assert!(done.error.is_none());
    assert!(!done.end_time.is_empty());
    let c = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "dss-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status, cluster::Status::Running);
    assert_eq!(c.location, ZONE);
    assert_eq!(c.locations, vec![ZONE.to_string()]);
    assert!(!c.endpoint.is_empty());
    assert!(!c.current_master_version.is_empty());
    assert_eq!(
        c.self_link,
        format!(
            "https://container.googleapis.com/v1/{}",
            cluster_name(ZONE, "dss-1")
        )
    );
    assert_eq!(
        c.resource_labels.get("team").map(String::as_str),
        Some("dss")
    );
    assert_eq!(c.autopilot.as_ref().map(|a| a.enabled), Some(false));
    #[allow(deprecated)] // GKE still fills it, so the emulator does too.
    let nodes = c.current_node_count;
    assert_eq!(nodes, 2);
    let ca = c
        .master_auth
        .as_ref()
        .unwrap()
        .cluster_ca_certificate
        .clone();
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca)
        .unwrap();
    assert!(String::from_utf8(pem)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let pool = &c.node_pools[0];
    assert_eq!(pool.instance_group_urls.len(), 1);
    assert!(pool.instance_group_urls[0].contains(&format!(
        "/zones/{ZONE}/instanceGroupManagers/gke-dss-1-pool-1-"
    )));

    let listed = gke
        .list_clusters()
        .set_parent(parent(ZONE))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.clusters.len(), 1);
    let everywhere = gke
        .list_clusters()
        .set_parent(parent("-"))
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.clusters.len(), 1);
}

#[tokio::test]
async fn regional_and_autopilot_clusters_span_the_region() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    let c = create_running(
        &gke,
        "europe-west1",
        google_cloud_container_v1::model::Cluster::new()
            .set_name("auto")
            .set_autopilot(Autopilot::new().set_enabled(true)),
    )
    .await;
    assert!(c.autopilot.unwrap().enabled);
    assert_eq!(
        c.locations,
        ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
    );
    assert_eq!(c.node_pools[0].instance_group_urls.len(), 3);
    let other = create_running(
        &gke,
        "europe-west1",
        simple_cluster("regional", 1).set_locations(["europe-west1-d"]),
    )
    .await;
    assert_eq!(other.locations, ["europe-west1-d"]);
}

#[tokio::test]
async fn labels_and_updates_are_applied_when_their_operation_is_done() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    let c = create_running(&gke, ZONE, simple_cluster("dss-2", 1)).await;
    let name = cluster_name(ZONE, "dss-2");

    let op = gke
        .set_labels()
        .set_name(&name)
        .set_resource_labels([("env", "prod")])
        .set_label_fingerprint(&c.label_fingerprint)
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::UpdateCluster);
    wait_done(&gke, ZONE, &op.name).await;
    let labelled = gke.get_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(labelled.resource_labels.len(), 1);
    assert_eq!(labelled.resource_labels["env"], "prod");
    assert_ne!(labelled.label_fingerprint, c.label_fingerprint);

    let stale = gke
        .set_labels()
        .set_name(&name)
        .set_resource_labels([("env", "dev")])
        .set_label_fingerprint(&c.label_fingerprint)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        status_of(&stale).0,
        google_cloud_gax::error::rpc::Code::FailedPrecondition
    );

    let op = gke
        .update_cluster()
        .set_name(&name)
        .set_update(
            ClusterUpdate::new()
                .set_desired_node_pool_id("pool-1")
                .set_desired_node_pool_autoscaling(
                    NodePoolAutoscaling::new()
                        .set_enabled(true)
                        .set_min_node_count(1)
                        .set_max_node_count(5),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::UpdateCluster);
    let reconciling = gke.get_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(reconciling.status, cluster::Status::Reconciling);
    wait_done(&gke, ZONE, &op.name).await;
    let updated = gke.get_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(updated.status, cluster::Status::Running);
    let autoscaling = updated.node_pools[0].autoscaling.clone().unwrap();
    assert!(autoscaling.enabled);
    assert_eq!(autoscaling.max_node_count, 5);
}

#[tokio::test]
async fn a_deleted_cluster_is_stopping_then_gone() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster("doomed", 1)).await;
    let name = cluster_name(ZONE, "doomed");
    let op = gke.delete_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(op.operation_type, operation::Type::DeleteCluster);
    let stopping = gke.get_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(stopping.status, cluster::Status::Stopping);
    wait_done(&gke, ZONE, &op.name).await;
    let gone = gke.get_cluster().set_name(&name).send().await.unwrap_err();
    assert_eq!(
        status_of(&gone).0,
        google_cloud_gax::error::rpc::Code::NotFound
    );
    assert_eq!(gone.http_status_code(), Some(404));
}
