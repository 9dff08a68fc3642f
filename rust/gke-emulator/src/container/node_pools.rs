//! Node pools: create, get, list, delete, setSize, setAutoscaling, setManagement and update.

use serde_json::{json, Value};

use super::operations::{self, Change, Effect, Request};
use super::rules::{self, Location};
use super::{cluster, cluster_key, integer, not_found, resolve_version, Call};
use crate::errors::{ApiError, ApiResult};
use crate::json_path::set_default;

/// A node pool as GKE accepted it, and its nodes per zone.
pub struct Built {
    pub name: String,
    pub node_count: i64,
    pub resource: Value,
}

/// Checks a requested node pool (`field` is its path in the request) and fills what GKE adds.
pub fn build(
    mut pool: Value,
    field: &str,
    place: &Location,
    cluster_zones: &[String],
    version: &str,
    cluster: &str,
) -> ApiResult<Built> {
    let name = pool["name"].as_str().unwrap_or_default().to_string();
    rules::check_name(&name, &format!("{field}.name"))?;
    let autoscaling = &pool["autoscaling"];
    check_autoscaling(autoscaling, &format!("{field}.autoscaling"))?;
    let node_count = integer(&pool["initialNodeCount"]).unwrap_or(0);
    let autoscaled = autoscaling["enabled"] == true;
    if node_count < 0 || (node_count == 0 && !autoscaled) {
        return Err(ApiError::invalid_field(
            &format!("{field}.initial_node_count"),
            format!("Invalid value for field \"{field}.initial_node_count\": {node_count}. A node pool without autoscaling needs at least one node."),
        ));
    }
    let config = &pool["config"];
    rules::check_node_labels(&config["labels"], &format!("{field}.config.labels"))?;
    rules::check_taints(&config["taints"], &format!("{field}.config.taints"))?;
    rules::check_resource_labels(
        &config["resourceLabels"],
        &format!("{field}.config.resource_labels"),
    )?;
    let zones = if pool["locations"].as_array().is_some_and(|l| !l.is_empty()) {
        place.zones(&pool["locations"], &format!("{field}.locations"))?
    } else {
        cluster_zones.to_vec()
    };
    check_offered(&pool, field, &zones)?;
    pool["locations"] = Value::from(zones);
    let pinned = pool["version"]
        .as_str()
        .is_some_and(|v| !matches!(v, "" | "-" | "latest"));
    pool["version"] = Value::from(if pinned {
        resolve_version(&pool["version"])
    } else {
        version.to_string()
    });
    pool["status"] = Value::from("PROVISIONING");
    pool["selfLink"] = Value::from(format!(
        "https://container.googleapis.com/v1/{cluster}/nodePools/{name}"
    ));
    pool["initialNodeCount"] = Value::from(node_count);
    set_default(&mut pool, "/config/machineType", Value::from("e2-medium"));
    set_default(&mut pool, "/config/diskSizeGb", Value::from(100));
    set_default(&mut pool, "/config/diskType", Value::from("pd-balanced"));
    set_default(
        &mut pool,
        "/config/imageType",
        Value::from("COS_CONTAINERD"),
    );
    set_default(&mut pool, "/config/serviceAccount", Value::from("default"));
    set_default(
        &mut pool,
        "/config/oauthScopes",
        json!(["https://www.googleapis.com/auth/cloud-platform"]),
    );
    set_default(
        &mut pool,
        "/management",
        json!({"autoUpgrade": true, "autoRepair": true}),
    );
    set_default(&mut pool, "/podIpv4CidrSize", Value::from(24));
    set_default(
        &mut pool,
        "/upgradeSettings",
        json!({"maxSurge": 1, "maxUnavailable": 0, "strategy": "SURGE"}),
    );
    Ok(Built {
        name,
        node_count,
        resource: pool,
    })
}

/// Autoscaling limits must be ordered when autoscaling is on.
pub fn check_autoscaling(autoscaling: &Value, field: &str) -> ApiResult<()> {
    if autoscaling["enabled"] != true {
        return Ok(());
    }
    let min = integer(&autoscaling["minNodeCount"]).unwrap_or(0);
    let max = integer(&autoscaling["maxNodeCount"]).unwrap_or(0);
    let total_given = !autoscaling["totalMaxNodeCount"].is_null();
    if min < 0 || (!total_given && max < min.max(1)) {
        return Err(ApiError::invalid_field(
            &format!("{field}.max_node_count"),
            format!("Invalid value for field \"{field}\": max_node_count ({max}) must be at least 1 and not below min_node_count ({min})."),
        ));
    }
    Ok(())
}

fn pool<'a>(
    call: &'a Call,
    at: (&str, &str),
    cluster_name: &str,
    name: &str,
) -> ApiResult<&'a Value> {
    let record = cluster(call, at, cluster_name)?;
    record
        .pool(name)
        .ok_or_else(|| not_found(&format!("{}/nodePools/{name}", record.key())))
}

pub fn get(call: &mut Call, at: (&str, &str), cluster_name: &str, name: &str) -> ApiResult {
    pool(call, at, cluster_name, name).cloned()
}

pub fn list(call: &mut Call, at: (&str, &str), cluster_name: &str) -> ApiResult {
    Ok(json!({"nodePools": cluster(call, at, cluster_name)?.pools()}))
}

pub fn create(call: &mut Call, at: (&str, &str), cluster_name: &str, body: Value) -> ApiResult {
    let record = cluster(call, at, cluster_name)?;
    let key = record.key();
    if record.resource["autopilot"]["enabled"] == true {
        return Err(ApiError::invalid_argument(
            "Node pools of Autopilot clusters are managed by GKE and cannot be created.",
        ));
    }
    let Some(requested) = body.get("nodePool").filter(|p| p.is_object()).cloned() else {
        return Err(ApiError::invalid_field(
            "node_pool",
            "Required field \"node_pool\" is not set.",
        ));
    };
    let place = Location::parse(&record.location)?;
    let zones: Vec<String> =
        serde_json::from_value(record.resource["locations"].clone()).unwrap_or_default();
    let version = record.resource["currentNodeVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let built = build(requested, "node_pool", &place, &zones, &version, &key)?;
    if record.pool(&built.name).is_some() {
        return Err(ApiError::already_exists(format!(
            "Already exists: {key}/nodePools/{}.",
            built.name
        )));
    }
    operations::ensure_idle(call.state, &key)?;
    let record = call.state.clusters.get_mut(&key).expect("looked up above");
    record
        .node_counts
        .insert(built.name.clone(), built.node_count);
    if let Some(pools) = record.resource["nodePools"].as_array_mut() {
        pools.push(built.resource);
    } else {
        record.resource["nodePools"] = json!([built.resource]);
    }
    record.set_status("RECONCILING");
    record.refresh();
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: Some(&built.name),
            operation_type: "CREATE_NODE_POOL",
            detail: format!(
                "Creating node pool {} in cluster {cluster_name}.",
                built.name
            ),
            effect: Effect::CreateNodePool,
        },
    ))
}

/// Starts an operation on the existing pool `(cluster, pool)`, marking pool and cluster as GKE
/// does meanwhile.
fn start_on_pool(
    call: &mut Call,
    at: (&str, &str),
    (cluster_name, name): (&str, &str),
    pool_status: &str,
    operation_type: &str,
    effect: Effect,
) -> ApiResult {
    pool(call, at, cluster_name, name)?;
    let key = cluster_key(at.0, at.1, cluster_name);
    operations::ensure_idle(call.state, &key)?;
    let record = call.state.clusters.get_mut(&key).expect("looked up above");
    record.set_pool_status(name, pool_status);
    record.set_status("RECONCILING");
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: Some(name),
            operation_type,
            detail: format!("{operation_type} on node pool {name} of cluster {cluster_name}."),
            effect,
        },
    ))
}

/// Starts an operation that changes the pool `(cluster, pool)`, which reconciles meanwhile.
fn change_pool(
    call: &mut Call,
    at: (&str, &str),
    pool: (&str, &str),
    operation_type: &str,
    effect: Effect,
) -> ApiResult {
    start_on_pool(call, at, pool, "RECONCILING", operation_type, effect)
}

/// The effect that sets one field of the pool `name`.
fn set_one(name: &str, pointer: &str, value: Value) -> Effect {
    let changes = vec![Change {
        pool: Some(name.into()),
        pointer: pointer.into(),
        value,
    }];
    Effect::Change { changes }
}

pub fn delete(call: &mut Call, at: (&str, &str), cluster_name: &str, name: &str) -> ApiResult {
    let pool = (cluster_name, name);
    start_on_pool(
        call,
        at,
        pool,
        "STOPPING",
        "DELETE_NODE_POOL",
        Effect::DeleteNodePool,
    )
}

pub fn set_size(
    call: &mut Call,
    at: (&str, &str),
    cluster_name: &str,
    name: &str,
    body: Value,
) -> ApiResult {
    // proto3 JSON: clients omit fields at their default, so no nodeCount means 0.
    let node_count = (if body["nodeCount"].is_null() {
        Some(0)
    } else {
        integer(&body["nodeCount"])
    })
    .filter(|n| *n >= 0)
    .ok_or_else(|| {
        ApiError::invalid_field(
            "node_count",
            format!(
                "Invalid value for field \"node_count\": {}. It must be zero or more.",
                body["nodeCount"]
            ),
        )
    })?;
    let effect = Effect::SetNodePoolSize { node_count };
    change_pool(call, at, (cluster_name, name), "SET_NODE_POOL_SIZE", effect)
}

pub fn set_autoscaling(
    call: &mut Call,
    at: (&str, &str),
    cluster_name: &str,
    name: &str,
    body: Value,
) -> ApiResult {
    let autoscaling = body["autoscaling"].clone();
    check_autoscaling(&autoscaling, "autoscaling")?;
    let effect = set_one(name, "/autoscaling", autoscaling);
    change_pool(call, at, (cluster_name, name), "UPDATE_CLUSTER", effect)
}

pub fn set_management(
    call: &mut Call,
    at: (&str, &str),
    cluster_name: &str,
    name: &str,
    body: Value,
) -> ApiResult {
    let effect = set_one(name, "/management", body["management"].clone());
    change_pool(
        call,
        at,
        (cluster_name, name),
        "SET_NODE_POOL_MANAGEMENT",
        effect,
    )
}

/// `nodePools.update`: the request's wrappers (`labels: {labels}`, `taints: {taints}`, ...) replace
/// the matching node config fields; other node config fields are set as given.
pub fn update(
    call: &mut Call,
    at: (&str, &str),
    cluster_name: &str,
    name: &str,
    body: Value,
) -> ApiResult {
    let place = Location::parse(at.1)?;
    let mut changes = Vec::new();
    let change = |pointer: &str, value: Value| Change {
        pool: Some(name.into()),
        pointer: pointer.into(),
        value,
    };
    for (field, value) in body.as_object().into_iter().flatten() {
        match field.as_str() {
            "name" | "projectId" | "zone" | "clusterId" | "nodePoolId" | "etag" => {}
            "nodeVersion" => {
                if value != "-" && value != "" {
                    changes.push(change("/version", resolve_version(value).into()));
                }
            }
            "locations" => changes.push(change(
                "/locations",
                place.zones(value, "locations")?.into(),
            )),
            "labels" => {
                rules::check_node_labels(&value["labels"], "labels.labels")?;
                changes.push(change("/config/labels", value["labels"].clone()));
            }
            "taints" => {
                rules::check_taints(&value["taints"], "taints.taints")?;
                changes.push(change("/config/taints", value["taints"].clone()));
            }
            "resourceLabels" => {
                rules::check_resource_labels(&value["labels"], "resource_labels.labels")?;
                changes.push(change("/config/resourceLabels", value["labels"].clone()));
            }
            "tags" => changes.push(change("/config/tags", value["tags"].clone())),
            "upgradeSettings" => changes.push(change("/upgradeSettings", value.clone())),
            "nodeNetworkConfig" => changes.push(change("/networkConfig", value.clone())),
            other => changes.push(change(&format!("/config/{other}"), value.clone())),
        }
    }
    // GKE reports most node pool updates, not only version changes, as UPGRADE_NODES.
    let operation_type = "UPGRADE_NODES";
    let effect = Effect::Change { changes };
    change_pool(call, at, (cluster_name, name), operation_type, effect)
}

/// As GKE does, through Compute: the pool's machine, disk and accelerator types must be
/// offered in each of its zones.
fn check_offered(pool: &Value, field: &str, zones: &[String]) -> ApiResult<()> {
    let config = &pool["config"];
    let mut wanted: Vec<(&str, &str, String)> = Vec::new();
    if let Some(t) = config["machineType"].as_str() {
        wanted.push(("machineTypes", "machine_type", t.to_string()));
    }
    if let Some(t) = config["diskType"].as_str() {
        wanted.push(("diskTypes", "disk_type", t.to_string()));
    }
    for a in config["accelerators"].as_array().into_iter().flatten() {
        if let Some(t) = a["acceleratorType"].as_str() {
            wanted.push((
                "acceleratorTypes",
                "accelerators.accelerator_type",
                t.to_string(),
            ));
        }
    }
    for (collection, name, value) in wanted {
        if let Some(zone) = zones
            .iter()
            .find(|z| !crate::catalogue::offered(collection, &value, z))
        {
            let at = format!("{field}.config.{name}");
            return Err(ApiError::invalid_field(
                &at,
                format!("Invalid value for field \"{at}\": \"{value}\" is not available in zone {zone}."),
            ));
        }
    }
    Ok(())
}
