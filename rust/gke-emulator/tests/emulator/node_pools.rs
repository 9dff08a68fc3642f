//! Node pool lifecycle through the official GKE client, checked against Compute's view.

use google_cloud_container_v1::model::{
    node_pool, node_taint, operation, NodeLabels, NodeManagement, NodePool, NodePoolAutoscaling,
    NodeTaint, NodeTaints,
};

use crate::support::*;

fn pool_name(pool: &str) -> String {
    format!("{}/nodePools/{pool}", cluster_name(ZONE, "np"))
}

async fn group_size(emulator: &Emulator, instance_group_url: &str) -> i64 {
    let path = instance_group_url
        .split("/compute/v1/")
        .nth(1)
        .unwrap()
        .replace("instanceGroupManagers", "instanceGroups");
    let (status, group) = emulator
        .raw(reqwest::Method::GET, &format!("/compute/v1/{path}"), None)
        .await;
    assert_eq!(status, 200, "{group}");
    group["size"].as_i64().unwrap()
}

#[tokio::test]
async fn node_pools_are_created_resized_tuned_and_deleted() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster("np", 1)).await;

    let op = gke
        .create_node_pool()
        .set_parent(cluster_name(ZONE, "np"))
        .set_node_pool(
            NodePool::new()
                .set_name("gpu")
                .set_initial_node_count(2)
                .set_config(
                    google_cloud_container_v1::model::NodeConfig::new()
                        .set_labels([("dataiku.com/role", "spark")])
                        .set_taints([NodeTaint::new()
                            .set_key("nvidia.com/gpu")
                            .set_value("present")
                            .set_effect(node_taint::Effect::NoSchedule)]),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::CreateNodePool);
    assert!(op.target_link.ends_with("/clusters/np/nodePools/gpu"));
    let provisioning = gke
        .get_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap();
    assert_eq!(provisioning.status, node_pool::Status::Provisioning);
    wait_done(&gke, ZONE, &op.name).await;
    let pool = gke
        .get_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap();
    assert_eq!(pool.status, node_pool::Status::Running);
    let config = pool.config.clone().unwrap();
    assert_eq!(config.taints[0].effect, node_taint::Effect::NoSchedule);
    assert_eq!(config.labels["dataiku.com/role"], "spark");
    assert_eq!(group_size(&emulator, &pool.instance_group_urls[0]).await, 2);

    let listed = gke
        .list_node_pools()
        .set_parent(cluster_name(ZONE, "np"))
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.node_pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pool-1", "gpu"]);

    let op = gke
        .set_node_pool_size()
        .set_name(pool_name("gpu"))
        .set_node_count(5)
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::SetNodePoolSize);
    wait_done(&gke, ZONE, &op.name).await;
    assert_eq!(group_size(&emulator, &pool.instance_group_urls[0]).await, 5);
    let cluster = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "np"))
        .send()
        .await
        .unwrap();
    #[allow(deprecated)] // GKE still fills it, so the emulator does too.
    let nodes = cluster.current_node_count;
    assert_eq!(nodes, 6);

    let op = gke
        .set_node_pool_autoscaling()
        .set_name(pool_name("gpu"))
        .set_autoscaling(
            NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(0)
                .set_max_node_count(8),
        )
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    let op = gke
        .set_node_pool_management()
        .set_name(pool_name("gpu"))
        .set_management(
            NodeManagement::new()
                .set_auto_repair(false)
                .set_auto_upgrade(false),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(op.operation_type, operation::Type::SetNodePoolManagement);
    wait_done(&gke, ZONE, &op.name).await;
    let op = gke
        .update_node_pool()
        .set_name(pool_name("gpu"))
        .set_node_version("-")
        .set_image_type("COS_CONTAINERD")
        .set_labels(NodeLabels::new().set_labels([("tier", "batch")]))
        .set_taints(NodeTaints::new())
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    let tuned = gke
        .get_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap();
    assert_eq!(tuned.autoscaling.unwrap().max_node_count, 8);
    assert!(!tuned.management.unwrap().auto_repair);
    let config = tuned.config.unwrap();
    assert_eq!(config.labels.len(), 1);
    assert_eq!(config.labels["tier"], "batch");
    assert!(config.taints.is_empty());

    let op = gke
        .delete_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap();
    let stopping = gke
        .get_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap();
    assert_eq!(stopping.status, node_pool::Status::Stopping);
    wait_done(&gke, ZONE, &op.name).await;
    let gone = gke
        .get_node_pool()
        .set_name(pool_name("gpu"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        status_of(&gone).0,
        google_cloud_gax::error::rpc::Code::NotFound
    );
}
