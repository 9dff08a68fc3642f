//! GKE's error semantics, as the official client surfaces them.

use google_cloud_container_v1::model::{Autopilot, Cluster, NodeConfig, NodePool};
use google_cloud_gax::error::rpc::{Code, StatusDetails};
use google_cloud_gax::error::Error;
use serde_json::json;

use crate::support::*;

/// The field a Google error names in its `google.rpc.BadRequest` detail.
fn violated_field(error: &Error) -> String {
    let status = error.status().expect("a status");
    status
        .details
        .iter()
        .find_map(|d| match d {
            StatusDetails::BadRequest(bad) => bad.field_violations.first().map(|v| v.field.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field violation in {status:?}"))
}

async fn refused(emulator: &Emulator, location: &str, cluster: Cluster) -> Error {
    emulator
        .gke()
        .await
        .create_cluster()
        .set_parent(parent(location))
        .set_cluster(cluster)
        .send()
        .await
        .expect_err("the cluster should be refused")
}

#[tokio::test]
async fn duplicates_missing_resources_and_busy_clusters() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    emulator.post_admin("operations/hold-next", json!({})).await;
    gke.create_cluster()
        .set_parent(parent(ZONE))
        .set_cluster(simple_cluster("busy", 1))
        .send()
        .await
        .unwrap();

    let duplicate = refused(&emulator, ZONE, simple_cluster("busy", 1)).await;
    assert_eq!(duplicate.http_status_code(), Some(409));
    assert_eq!(status_of(&duplicate).0, Code::AlreadyExists);

    let busy = gke
        .set_node_pool_size()
        .set_name(format!("{}/nodePools/pool-1", cluster_name(ZONE, "busy")))
        .set_node_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(busy.http_status_code(), Some(400));
    let (code, message) = status_of(&busy);
    assert_eq!(code, Code::FailedPrecondition);
    assert!(message.contains("Please wait and try again"), "{message}");

    for missing in [
        gke.get_cluster()
            .set_name(cluster_name(ZONE, "nope"))
            .send()
            .await
            .unwrap_err(),
        gke.get_node_pool()
            .set_name(format!("{}/nodePools/nope", cluster_name(ZONE, "busy")))
            .send()
            .await
            .unwrap_err(),
        gke.get_operation()
            .set_name(format!("{}/operations/operation-0-nope", parent(ZONE)))
            .send()
            .await
            .unwrap_err(),
        gke.delete_cluster()
            .set_name(cluster_name(ZONE, "nope"))
            .send()
            .await
            .unwrap_err(),
    ] {
        assert_eq!(missing.http_status_code(), Some(404));
        assert_eq!(status_of(&missing).0, Code::NotFound);
    }
}

#[tokio::test]
async fn gke_name_label_and_location_rules_are_enforced_naming_the_field() {
    let emulator = Emulator::start();
    let cases: Vec<(&str, Cluster, &str)> = vec![
        (ZONE, simple_cluster("Bad_Name", 1), "cluster.name"),
        (ZONE, simple_cluster(&"a".repeat(41), 1), "cluster.name"),
        (
            ZONE,
            simple_cluster("ok", 1).set_resource_labels([("Team", "x")]),
            "cluster.resource_labels",
        ),
        (
            ZONE,
            Cluster::new()
                .set_name("ok")
                .set_node_pools([NodePool::new().set_name("pool-").set_initial_node_count(1)]),
            "cluster.node_pools[0].name",
        ),
        (
            ZONE,
            Cluster::new()
                .set_name("ok")
                .set_node_pools([NodePool::new()
                    .set_name("p")
                    .set_initial_node_count(1)
                    .set_config(NodeConfig::new().set_labels([("bad key!", "v")]))]),
            "cluster.node_pools[0].config.labels",
        ),
        (
            ZONE,
            Cluster::new().set_name("ok"),
            "cluster.initial_node_count",
        ),
        (
            ZONE,
            Cluster::new()
                .set_name("ok")
                .set_autopilot(Autopilot::new().set_enabled(true)),
            "cluster.autopilot.enabled",
        ),
        (
            "us-central1",
            simple_cluster("ok", 1).set_locations(["europe-west1-b"]),
            "cluster.locations",
        ),
        ("nowhere", simple_cluster("ok", 1), "parent"),
    ];
    for (location, cluster, field) in cases {
        let error = refused(&emulator, location, cluster).await;
        assert_eq!(error.http_status_code(), Some(400), "{field}: {error:?}");
        let (code, message) = status_of(&error);
        assert_eq!(code, Code::InvalidArgument, "{field}");
        assert_eq!(violated_field(&error), field, "{message}");
    }
}
