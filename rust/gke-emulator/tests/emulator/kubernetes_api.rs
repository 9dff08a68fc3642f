//! Each cluster's Kubernetes API as a whole: TLS on its endpoints, who may call it, nodes that
//! follow the node pools, and its life across restarts and deletion.

use google_cloud_container_v1::model::{NodeConfig, NodePool, NodePoolAutoscaling};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::cluster_api::*;
use crate::support::*;

async fn version_of(client: &kube::Client) -> Result<String, kube::Error> {
    client.apiserver_version().await.map(|v| v.git_version)
}

#[tokio::test]
async fn only_known_tokens_get_in_and_the_caller_is_logged() {
    let emulator = Emulator::start();
    let cluster = running_cluster(&emulator, "auth").await;
    assert!(
        cluster.endpoint.starts_with("127.0.0.1:"),
        "{}",
        cluster.endpoint
    );

    let anonymous = client_for(&cluster.endpoint, &cluster, None).await;
    match anonymous.list_api_groups().await {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"))
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let stranger = client_for(&cluster.endpoint, &cluster, Some("ya29.unknown")).await;
    assert!(matches!(version_of(&stranger).await, Err(kube::Error::Api(s)) if s.code == 401));

    let metadata_token = emulator.admin(reqwest::Method::GET, "metadata", None).await
        ["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let host = client_for(&cluster.endpoint, &cluster, Some(&metadata_token)).await;
    assert_eq!(
        version_of(&host).await.unwrap(),
        format!("v{}", cluster.current_master_version)
    );

    let email = "deployer@test-project.iam.gserviceaccount.com";
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
        ),
        (
            "assertion",
            assertion(email, &format!("{}/token", emulator.url)),
        ),
    ];
    let body = serde_urlencoded_form(&form);
    let exchanged: serde_json::Value = emulator
        .http()
        .post(format!("{}/token", emulator.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exchanged["token_type"], "Bearer");
    assert!(exchanged["expires_in"].as_u64().unwrap() > 3000);
    let keyed = client_for(
        &cluster.endpoint,
        &cluster,
        exchanged["access_token"].as_str(),
    )
    .await;
    version_of(&keyed).await.unwrap();
    let self_signed = assertion(
        "signer@test-project.iam.gserviceaccount.com",
        "https://container.googleapis.com/",
    );
    let jwt = client_for(&cluster.endpoint, &cluster, Some(&self_signed)).await;
    version_of(&jwt).await.unwrap();

    let dns = cluster
        .control_plane_endpoints_config
        .as_ref()
        .unwrap()
        .dns_endpoint_config
        .as_ref()
        .unwrap()
        .endpoint
        .clone();
    assert!(dns.starts_with("localhost:"), "{dns}");
    let by_name = client_for(&dns, &cluster, Some(TEST_TOKEN)).await;
    version_of(&by_name).await.unwrap();

    let identities: Vec<serde_json::Value> = api_calls(&emulator)
        .await
        .iter()
        .map(|c| c["identity"].clone())
        .collect();
    assert_eq!(
        identities,
        [
            json!(null),
            json!(null),
            json!("dss-host@emulated-project.iam.gserviceaccount.com"),
            json!(email),
            json!("signer@test-project.iam.gserviceaccount.com"),
            json!("test-admin@gke-emulator.local")
        ]
    );

    let (status, refused) = emulator.raw(reqwest::Method::POST, "/token", None).await;
    assert_eq!(status, 415, "{refused}");
}

fn serde_urlencoded_form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace('/', "%2F")))
        .collect::<Vec<_>>()
        .join("&")
}

fn pool_name(cluster: &str, pool: &str) -> String {
    format!("{}/nodePools/{pool}", cluster_name(ZONE, cluster))
}

async fn node_count(nodes: &Api<Node>, pool: &str) -> usize {
    let selector = format!("cloud.google.com/gke-nodepool={pool}");
    nodes
        .list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn nodes_follow_node_pool_resizes_autoscaling_and_deletion() {
    let emulator = Emulator::start();
    let cluster = running_cluster(&emulator, "scale").await;
    let gke = emulator.gke().await;
    let nodes: Api<Node> = Api::all(client(&cluster).await);
    assert_eq!(node_count(&nodes, "pool-1").await, 2);

    let op = gke
        .set_node_pool_size()
        .set_name(pool_name("scale", "pool-1"))
        .set_node_count(3)
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    assert_eq!(node_count(&nodes, "pool-1").await, 3);

    let op = gke
        .set_node_pool_autoscaling()
        .set_name(pool_name("scale", "pool-1"))
        .set_autoscaling(
            NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(4)
                .set_max_node_count(6),
        )
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    assert_eq!(
        node_count(&nodes, "pool-1").await,
        4,
        "the autoscaler honours the new minimum"
    );

    let gpu = NodePool::new()
        .set_name("gpu")
        .set_initial_node_count(1)
        .set_config(
            NodeConfig::new()
                .set_machine_type("n1-standard-8")
                .set_accelerators([google_cloud_container_v1::model::AcceleratorConfig::new()
                    .set_accelerator_count(2)
                    .set_accelerator_type("nvidia-tesla-t4")]),
        );
    let op = gke
        .create_node_pool()
        .set_parent(cluster_name(ZONE, "scale"))
        .set_node_pool(gpu)
        .send()
        .await
        .unwrap();
    assert_eq!(
        node_count(&nodes, "gpu").await,
        0,
        "nodes register once the pool is up"
    );
    wait_done(&gke, ZONE, &op.name).await;
    let gpu_nodes = nodes
        .list(&ListParams::default().labels("cloud.google.com/gke-nodepool=gpu"))
        .await
        .unwrap();
    let node = &gpu_nodes.items[0];
    let labels = node.metadata.labels.as_ref().unwrap();
    assert_eq!(
        labels["cloud.google.com/gke-accelerator"],
        "nvidia-tesla-t4"
    );
    let taints = node.spec.as_ref().unwrap().taints.clone().unwrap();
    assert_eq!(
        (taints[0].key.as_str(), taints[0].effect.as_str()),
        ("nvidia.com/gpu", "NoSchedule")
    );
    let capacity = node.status.as_ref().unwrap().capacity.clone().unwrap();
    assert_eq!(capacity["nvidia.com/gpu"].0, "2");
    assert_eq!(capacity["cpu"].0, "8");

    let op = gke
        .delete_node_pool()
        .set_name(pool_name("scale", "gpu"))
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    assert_eq!(node_count(&nodes, "gpu").await, 0);
    assert_eq!(node_count(&nodes, "pool-1").await, 4);
}

#[tokio::test]
async fn the_api_survives_a_restart_on_its_port_and_stops_with_its_cluster() {
    let dir = TempDir::new("restart");
    let state = dir.0.join("state.json");
    let first = Emulator::start_with(&["--state-file", state.to_str().unwrap()]);
    let cluster = running_cluster(&first, "keep").await;
    let maps: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    let map: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}, "data": {"k": "v"}})).unwrap();
    maps.create(&PostParams::default(), &map).await.unwrap();
    first.kill();

    let second = Emulator::start_with(&["--state-file", state.to_str().unwrap()]);
    let gke = second.gke().await;
    let again = gke
        .get_cluster()
        .set_name(cluster_name(ZONE, "keep"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.endpoint, cluster.endpoint);
    assert_eq!(again.master_auth, cluster.master_auth);
    let client = client(&again).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    assert_eq!(maps.get("kept").await.unwrap().data.unwrap()["k"], "v");

    let op = gke
        .delete_cluster()
        .set_name(cluster_name(ZONE, "keep"))
        .send()
        .await
        .unwrap();
    wait_done(&gke, ZONE, &op.name).await;
    let port = cluster.endpoint.rsplit(':').next().unwrap();
    // The listener is stopped by a task of its own: give it a moment on a loaded machine.
    let mut refused = false;
    for _ in 0..60 {
        if std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the API of a deleted cluster stops listening");
}
