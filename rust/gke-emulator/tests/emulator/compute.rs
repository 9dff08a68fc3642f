//! Compute's instances.get and instanceGroups.get over plain HTTP.

use serde_json::{json, Value};

use crate::support::*;

async fn compute(emulator: &Emulator, path: &str) -> (u16, Value) {
    emulator
        .raw(reqwest::Method::GET, &format!("/compute/v1/{path}"), None)
        .await
}

#[tokio::test]
async fn the_host_instance_shows_its_network_and_service_account() {
    let emulator = Emulator::start();
    emulator
        .admin(
            reqwest::Method::PUT,
            "metadata",
            Some(json!({
                "projectId": "dss-prod",
                "zone": "europe-west1-b",
                "instanceName": "dss-vm",
                "network": "projects/host-project/global/networks/shared",
                "subnetwork": "dss-subnet",
                "serviceAccountEmail": "dss@dss-prod.iam.gserviceaccount.com",
            })),
        )
        .await;
    let (status, vm) = compute(
        &emulator,
        "projects/dss-prod/zones/europe-west1-b/instances/dss-vm",
    )
    .await;
    assert_eq!(status, 200, "{vm}");
    let nic = &vm["networkInterfaces"][0];
    assert_eq!(
        nic["network"],
        "https://www.googleapis.com/compute/v1/projects/host-project/global/networks/shared"
    );
    assert_eq!(
        nic["subnetwork"],
        "https://www.googleapis.com/compute/v1/projects/dss-prod/regions/europe-west1/subnetworks/dss-subnet"
    );
    assert_eq!(
        vm["serviceAccounts"][0]["email"],
        "dss@dss-prod.iam.gserviceaccount.com"
    );

    let (status, error) = compute(
        &emulator,
        "projects/dss-prod/zones/europe-west1-b/instances/other",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["errors"][0]["reason"], "notFound");
}

#[tokio::test]
async fn node_pools_have_instance_groups_and_node_instances() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    let cluster = create_running(&gke, "us-central1", simple_cluster("nodes", 2)).await;
    let urls = &cluster.node_pools[0].instance_group_urls;
    assert_eq!(urls.len(), 3);
    for url in urls {
        let path = url
            .split("/compute/v1/")
            .nth(1)
            .unwrap()
            .replace("instanceGroupManagers", "instanceGroups");
        let (status, group) = compute(&emulator, &path).await;
        assert_eq!(status, 200, "{group}");
        assert_eq!(group["size"], 2);
        let zone = path.split('/').nth(3).unwrap();
        assert!(group["zone"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/zones/{zone}")));
        let (status, members) = emulator
            .raw(
                reqwest::Method::POST,
                &format!("/compute/v1/{path}/listInstances"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{members}");
        let items = members["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let node_path = items[0]["instance"]
            .as_str()
            .unwrap()
            .split("/compute/v1/")
            .nth(1)
            .unwrap()
            .to_string();
        let (status, node) = compute(&emulator, &node_path).await;
        assert_eq!(status, 200, "{node}");
        assert!(node["name"]
            .as_str()
            .unwrap()
            .starts_with("gke-nodes-pool-1-"));
        assert_eq!(node["labels"]["goog-k8s-node-pool-name"], "pool-1");
        assert_eq!(
            node["networkInterfaces"][0]["network"],
            format!(
                "https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/default"
            )
        );
        assert_eq!(
            node["serviceAccounts"][0]["email"],
            "123456789012-compute@developer.gserviceaccount.com"
        );
    }
    let state = emulator.admin(reqwest::Method::GET, "state", None).await;
    assert_eq!(
        state["clusters"][cluster_name("us-central1", "nodes")]["nodeCounts"]["pool-1"],
        2
    );
}

#[tokio::test]
async fn the_host_subnetwork_shows_its_ranges() {
    let emulator = Emulator::start();
    emulator
        .admin(
            reqwest::Method::PUT,
            "metadata",
            Some(json!({
                "projectId": "dss-prod",
                "zone": "europe-west1-b",
                "subnetwork": "dss-subnet",
                "subnetworkCidr": "10.132.0.0/20",
                "secondaryRanges": {"gke-pods": "10.20.0.0/14"},
            })),
        )
        .await;
    let (status, subnet) = compute(
        &emulator,
        "projects/dss-prod/regions/europe-west1/subnetworks/dss-subnet",
    )
    .await;
    assert_eq!(status, 200, "{subnet}");
    assert_eq!(subnet["ipCidrRange"], "10.132.0.0/20");
    assert_eq!(
        subnet["secondaryIpRanges"],
        json!([{"rangeName": "gke-pods", "ipCidrRange": "10.20.0.0/14"}])
    );
    let (missing, _) = compute(
        &emulator,
        "projects/dss-prod/regions/europe-west1/subnetworks/other",
    )
    .await;
    assert_eq!(missing, 404);
}
