//! Request bodies are checked against Google's discovery document: bad payloads built from the
//! document's own schema are refused with Google's wording, naming the field path.

use serde_json::{json, Value};

use crate::support::*;

/// The `Cluster` schema's properties, from the same discovery document the emulator loads.
fn cluster_properties() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(discovery_dir().join("container.v1.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["schemas"]["Cluster"]["properties"]
        .as_object()
        .unwrap()
        .clone()
}

fn snake(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['_', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// For each kind of schema property, one property of that kind and a value of the wrong type.
fn wrong_values() -> Vec<(String, Value, &'static str)> {
    let properties = cluster_properties();
    let first = |test: &dyn Fn(&Value) -> bool| {
        properties
            .iter()
            .find(|(_, p)| test(p))
            .map(|(name, _)| name.clone())
            .expect("the schema has such a property")
    };
    vec![
        (
            first(&|p| p["type"] == "integer"),
            json!("twelve"),
            "TYPE_INT32",
        ),
        (
            first(&|p| p["type"] == "boolean"),
            json!("yes"),
            "TYPE_BOOL",
        ),
        (
            first(&|p| p["type"] == "string" && p.get("enum").is_some()),
            json!("NOT_A_VALUE"),
            "TYPE_ENUM",
        ),
        (
            first(&|p| {
                p["type"] == "string" && p.get("enum").is_none() && p.get("format").is_none()
            }),
            json!(42),
            "TYPE_STRING",
        ),
        (
            first(&|p| p["type"] == "array"),
            json!({"not": "a list"}),
            "repeated",
        ),
        (
            first(&|p| p.get("$ref").is_some()),
            json!("not an object"),
            "type.googleapis.com/google.container.v1.",
        ),
    ]
}

async fn create_raw(emulator: &Emulator, cluster: Value) -> (u16, Value) {
    let path = format!("/v1/{}/clusters", parent(ZONE));
    emulator
        .raw(
            reqwest::Method::POST,
            &path,
            Some(json!({"cluster": cluster})),
        )
        .await
}

fn assert_invalid(status: u16, body: &Value, field: &str, wording: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    assert_eq!(body["error"]["code"], 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid JSON payload received."),
        "{message}"
    );
    assert!(
        message.contains(wording),
        "{message} should contain {wording}"
    );
    assert_eq!(
        body["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
    assert_eq!(
        body["error"]["details"][0]["fieldViolations"][0]["field"], field,
        "{body}"
    );
}

#[tokio::test]
async fn wrong_json_types_from_the_schema_are_refused_naming_the_field() {
    let emulator = Emulator::start();
    for (property, value, type_name) in wrong_values() {
        let (status, body) =
            create_raw(&emulator, json!({"name": "c", property.clone(): value})).await;
        let field = format!("cluster.{}", snake(&property));
        assert_invalid(
            status,
            &body,
            &field,
            &format!("Invalid value at '{field}' ({type_name}"),
        );
    }
}

#[tokio::test]
async fn unknown_names_are_refused_at_their_path() {
    let emulator = Emulator::start();
    let (status, body) = create_raw(
        &emulator,
        json!({"name": "c", "nodePools": [{"name": "p", "initialNodeCount": 1, "colour": "blue"}]}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        "cluster.node_pools[0].colour",
        "Unknown name \"colour\" at 'cluster.node_pools[0]': Cannot find field.",
    );
    let (status, body) = create_raw(
        &emulator,
        json!({"name": "c", "nodeConfig": {"oauthScopes": [1]}}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        "cluster.node_config.oauth_scopes[0]",
        "(TYPE_STRING), 1",
    );
    let (status, body) = create_raw(
        &emulator,
        json!({"name": "c", "resourceLabels": {"team": 5}}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        "cluster.resource_labels[team]",
        "(TYPE_STRING), 5",
    );
    let path = format!("/v1/{}/clusters?color=blue", parent(ZONE));
    let (status, body) = emulator
        .raw(reqwest::Method::POST, &path, Some(json!({})))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Cannot bind query parameter"));
}

#[tokio::test]
async fn accepted_forms_match_googles_json_mapping() {
    let emulator = Emulator::start();
    // int64 as strings, int32 as strings, enums as numbers, proto (snake_case) names.
    let (status, body) = create_raw(
        &emulator,
        json!({
            "name": "forms",
            "node_pools": [{
                "name": "p",
                "initial_node_count": "2",
                "config": {"diskSizeGb": 50, "taints": [{"key": "k", "value": "v", "effect": 1}]},
                "maxPodsConstraint": {"maxPodsPerNode": "110"},
            }],
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["operationType"], "CREATE_CLUSTER");
}

#[tokio::test]
async fn every_method_body_is_checked_not_only_creates() {
    let emulator = Emulator::start();
    let gke = emulator.gke().await;
    create_running(&gke, ZONE, simple_cluster("v", 1)).await;
    let pool = format!("/v1/{}/nodePools/pool-1", cluster_name(ZONE, "v"));
    let (status, body) = emulator
        .raw(
            reqwest::Method::POST,
            &format!("{pool}:setSize"),
            Some(json!({"nodeCount": "many"})),
        )
        .await;
    assert_invalid(
        status,
        &body,
        "node_count",
        "Invalid value at 'node_count' (TYPE_INT32), \"many\"",
    );
    let (status, body) = emulator
        .raw(
            reqwest::Method::PUT,
            &pool,
            Some(json!({"taints": {"taints": [{"effect": "SOMETIMES"}]}})),
        )
        .await;
    assert_invalid(
        status,
        &body,
        "taints.taints[0].effect",
        "(TYPE_ENUM), \"SOMETIMES\"",
    );
    let (status, body) = emulator
        .raw(
            reqwest::Method::PUT,
            &format!("/v1/{}", cluster_name(ZONE, "v")),
            Some(json!({"update": {"desiredNodePoolAutoscaling": {"enabled": "on"}}})),
        )
        .await;
    assert_invalid(
        status,
        &body,
        "update.desired_node_pool_autoscaling.enabled",
        "(TYPE_BOOL), \"on\"",
    );
}
