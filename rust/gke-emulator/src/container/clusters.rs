//! Clusters: create, get, list, delete, update and setResourceLabels.

use serde_json::{json, Map, Value};

use super::operations::{self, Change, Effect, Request};
use super::rules::{self, Location};
use super::{cluster, cluster_key, node_pools, not_found, resolve_version, Call, ClusterRecord};
use crate::ca::ClusterCa;
use crate::errors::{ApiError, ApiResult};
use crate::json_path::set_default;
use crate::timeline::rfc3339;

/// The control plane's address until its Kubernetes API listener starts (right after the create
/// call), which adds its port.
const ENDPOINT: &str = "127.0.0.1";
/// Nodes per zone in the pool GKE makes for an Autopilot cluster, which names no node pool.
const AUTOPILOT_NODES: i64 = 1;

pub fn create(call: &mut Call, (project, location): (&str, &str), body: Value) -> ApiResult {
    let place = Location::parse(location)?;
    let Some(mut cluster) = body.get("cluster").filter(|c| c.is_object()).cloned() else {
        return Err(ApiError::invalid_field(
            "cluster",
            "Required field \"cluster\" is not set.",
        ));
    };
    let name = cluster["name"].as_str().unwrap_or_default().to_string();
    rules::check_name(&name, "cluster.name")?;
    let key = cluster_key(project, location, &name);
    if call.state.clusters.contains_key(&key) {
        return Err(ApiError::already_exists(format!("Already exists: {key}.")));
    }
    let autopilot = cluster["autopilot"]["enabled"] == true;
    if autopilot && matches!(place, Location::Zone { .. }) {
        return Err(ApiError::invalid_field(
            "cluster.autopilot.enabled",
            "Autopilot clusters must be regional clusters: use a region, not a zone, as location.",
        ));
    }
    rules::check_resource_labels(&cluster["resourceLabels"], "cluster.resource_labels")?;
    let zones = place.zones(&cluster["locations"], "cluster.locations")?;
    if let Location::Zone { zone, .. } = &place {
        if !zones.contains(zone) {
            return Err(ApiError::invalid_field(
                "cluster.locations",
                format!("Invalid value for field \"cluster.locations\": it must include the cluster's zone {zone}."),
            ));
        }
    }
    let version = resolve_version(&cluster["initialClusterVersion"]);
    let requested_pools = requested_pools(&cluster, autopilot)?;
    let mut pools = Vec::new();
    let mut node_counts = std::collections::BTreeMap::new();
    for (index, pool) in requested_pools.into_iter().enumerate() {
        let field = format!("cluster.node_pools[{index}]");
        let built = node_pools::build(pool, &field, &place, &zones, &version, &key)?;
        if node_counts.contains_key(&built.name) {
            return Err(ApiError::invalid_field(
                &format!("{field}.name"),
                format!("Invalid value for field \"{field}.name\": node pool names must be unique, \"{}\" is repeated.", built.name),
            ));
        }
        node_counts.insert(built.name, built.node_count);
        pools.push(built.resource);
    }

    let sequence = call.state.next_sequence();
    let id = format!("{:016x}{sequence:016x}", call.now_ms);
    let ca = ClusterCa::generate(&name);
    cluster["nodePools"] = Value::from(pools);
    fill_cluster(
        &mut cluster,
        &ClusterFacts {
            project,
            location,
            key: &key,
            id: &id,
            zones,
            version: &version,
            ca: &ca,
            created: &rfc3339(call.now_ms),
        },
    );
    let mut record = ClusterRecord {
        project: project.to_string(),
        location: location.to_string(),
        resource: cluster,
        ca,
        node_counts,
        api_port: None,
        kubernetes: Default::default(),
    };
    record.refresh();
    call.state.clusters.insert(key.clone(), record);
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: None,
            operation_type: "CREATE_CLUSTER",
            detail: format!("Creating cluster {name}."),
            effect: Effect::CreateCluster,
        },
    ))
}

/// The node pools to create: the request's, or the default pool GKE makes from the legacy
/// `nodeConfig` + `initialNodeCount`, or Autopilot's.
fn requested_pools(cluster: &Value, autopilot: bool) -> ApiResult<Vec<Value>> {
    let listed = cluster["nodePools"].as_array().filter(|p| !p.is_empty());
    let initial = super::integer(&cluster["initialNodeCount"]).unwrap_or(0);
    let legacy = !cluster["nodeConfig"].is_null() || initial > 0;
    match listed {
        Some(_) if autopilot => Err(ApiError::invalid_field(
            "cluster.node_pools",
            "Autopilot clusters manage their node pools; do not specify node_pools.",
        )),
        Some(_) if legacy => Err(ApiError::invalid_field(
            "cluster.node_pools",
            "Cannot specify node_pools together with node_config or initial_node_count.",
        )),
        Some(pools) => Ok(pools.clone()),
        None if autopilot => Ok(vec![json!({
            "name": "default-pool",
            "initialNodeCount": AUTOPILOT_NODES,
            "autoscaling": {"enabled": true, "autoprovisioned": true, "minNodeCount": 0, "maxNodeCount": 1000},
        })]),
        None if initial > 0 => Ok(vec![json!({
            "name": "default-pool",
            "initialNodeCount": initial,
            "config": cluster["nodeConfig"],
        })]),
        None => Err(ApiError::invalid_field(
            "cluster.initial_node_count",
            "Cluster.initial_node_count must be greater than zero, or node_pools must be given.",
        )),
    }
}

struct ClusterFacts<'a> {
    project: &'a str,
    location: &'a str,
    key: &'a str,
    id: &'a str,
    zones: Vec<String>,
    version: &'a str,
    ca: &'a ClusterCa,
    created: &'a str,
}

/// What GKE adds to a cluster it accepted; fields the client set are kept.
fn fill_cluster(cluster: &mut Value, facts: &ClusterFacts) {
    cluster["location"] = Value::from(facts.location);
    cluster["zone"] = Value::from(facts.location);
    cluster["locations"] = Value::from(facts.zones.clone());
    cluster["selfLink"] = Value::from(format!("https://container.googleapis.com/v1/{}", facts.key));
    cluster["id"] = Value::from(facts.id);
    cluster["createTime"] = Value::from(facts.created);
    cluster["status"] = Value::from("PROVISIONING");
    cluster["endpoint"] = Value::from(ENDPOINT);
    cluster["currentMasterVersion"] = Value::from(facts.version);
    cluster["currentNodeVersion"] = Value::from(facts.version);
    cluster["masterAuth"]["clusterCaCertificate"] = Value::from(facts.ca.certificate_base64());
    let labels = cluster["resourceLabels"].clone();
    cluster["labelFingerprint"] = Value::from(label_fingerprint(&labels));
    set_default(
        cluster,
        "/initialClusterVersion",
        Value::from(facts.version),
    );
    set_default(cluster, "/resourceLabels", json!({}));
    set_default(cluster, "/autopilot", json!({"enabled": false}));
    set_default(cluster, "/network", Value::from("default"));
    set_default(cluster, "/subnetwork", Value::from("default"));
    set_default(
        cluster,
        "/loggingService",
        Value::from("logging.googleapis.com/kubernetes"),
    );
    set_default(
        cluster,
        "/monitoringService",
        Value::from("monitoring.googleapis.com/kubernetes"),
    );
    set_default(cluster, "/releaseChannel", json!({"channel": "REGULAR"}));
    let pods = cluster["ipAllocationPolicy"]["clusterIpv4CidrBlock"]
        .as_str()
        .filter(|c| c.contains('.'))
        .unwrap_or("10.4.0.0/14")
        .to_string();
    let services = cluster["ipAllocationPolicy"]["servicesIpv4CidrBlock"]
        .as_str()
        .filter(|c| c.contains('.'))
        .unwrap_or("10.8.0.0/20")
        .to_string();
    set_default(cluster, "/clusterIpv4Cidr", Value::from(pods));
    set_default(cluster, "/servicesIpv4Cidr", Value::from(services));
    set_default(
        cluster,
        "/controlPlaneEndpointsConfig/dnsEndpointConfig/endpoint",
        Value::from(format!(
            "gke-{}-{}.{}.gke.goog",
            &facts.id[..16],
            facts.project,
            facts.location
        )),
    );
    set_default(
        cluster,
        "/controlPlaneEndpointsConfig/ipEndpointsConfig",
        json!({"enabled": true, "publicEndpoint": ENDPOINT}),
    );
}

/// GKE's fingerprint of a label set, which setResourceLabels must quote back.
pub fn label_fingerprint(labels: &Value) -> String {
    let canonical = labels
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v};"))
                .collect::<String>()
        })
        .unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

pub fn get(call: &mut Call, at: (&str, &str), name: &str) -> ApiResult {
    Ok(cluster(call, at, name)?.resource.clone())
}

pub fn list(call: &mut Call, (project, location): (&str, &str)) -> ApiResult {
    let clusters: Vec<Value> = call
        .state
        .clusters
        .values()
        .filter(|c| c.project == project && (location == "-" || c.location == location))
        .map(|c| c.resource.clone())
        .collect();
    Ok(json!({"clusters": clusters, "missingZones": []}))
}

/// Deleting is allowed while other operations run (they are aborted), but not twice.
pub fn delete(call: &mut Call, at: (&str, &str), name: &str) -> ApiResult {
    let key = cluster(call, at, name)?.key();
    if let Some(op) =
        operations::running_on(call.state, &key).find(|op| op.operation_type == "DELETE_CLUSTER")
    {
        return Err(ApiError::failed_precondition(format!(
            "Operation {} is currently deleting cluster {name}. Please wait and try again once it is done.",
            op.name
        )));
    }
    operations::abort_running(call.state, &key, call.now_ms);
    if let Some(cluster) = call.state.clusters.get_mut(&key) {
        cluster.set_status("STOPPING");
    }
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: None,
            operation_type: "DELETE_CLUSTER",
            detail: format!("Deleting cluster {name}."),
            effect: Effect::DeleteCluster,
        },
    ))
}

/// `clusters.update`: each `desiredX` of the ClusterUpdate sets the cluster's `x`, with GKE's
/// special cases (versions, node pool autoscaling, locations).
pub fn update(call: &mut Call, at: (&str, &str), name: &str, body: Value) -> ApiResult {
    let cluster = cluster(call, at, name)?;
    let key = cluster.key();
    let update = body["update"].as_object().cloned().unwrap_or_default();
    if update.is_empty() {
        return Err(ApiError::invalid_field(
            "update",
            "Update must specify at least one field to change.",
        ));
    }
    let target_pool = update.get("desiredNodePoolId").and_then(Value::as_str);
    if let Some(pool) = target_pool {
        if cluster.pool(pool).is_none() {
            return Err(not_found(&format!("{key}/nodePools/{pool}")));
        }
    }
    let all_pools: Vec<String> = cluster
        .pools()
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    let pools_to_change: Vec<String> = match target_pool {
        Some(pool) => vec![pool.to_string()],
        None => all_pools,
    };
    let place = Location::parse(&cluster.location)?;
    let mut changes = Vec::new();
    let on_cluster = |pointer: &str, value: Value| Change {
        pool: None,
        pointer: pointer.into(),
        value,
    };
    for (field, value) in &update {
        match field.as_str() {
            "desiredNodePoolId" | "etag" => {}
            "desiredNodePoolAutoscaling" => {
                let Some(pool) = target_pool else {
                    return Err(ApiError::invalid_field(
                        "update.desired_node_pool_id",
                        "desired_node_pool_id must name the node pool whose autoscaling changes.",
                    ));
                };
                node_pools::check_autoscaling(value, "update.desired_node_pool_autoscaling")?;
                changes.push(Change {
                    pool: Some(pool.into()),
                    pointer: "/autoscaling".into(),
                    value: value.clone(),
                });
            }
            "desiredMasterVersion" => changes.push(on_cluster(
                "/currentMasterVersion",
                resolve_version(value).into(),
            )),
            "desiredNodeVersion" => {
                let version = Value::from(resolve_version(value));
                changes.push(on_cluster("/currentNodeVersion", version.clone()));
                for pool in &pools_to_change {
                    changes.push(Change {
                        pool: Some(pool.clone()),
                        pointer: "/version".into(),
                        value: version.clone(),
                    });
                }
            }
            "desiredImageType" => {
                for pool in &pools_to_change {
                    changes.push(Change {
                        pool: Some(pool.clone()),
                        pointer: "/config/imageType".into(),
                        value: value.clone(),
                    });
                }
            }
            "desiredLocations" => {
                let zones = place.zones(value, "update.desired_locations")?;
                changes.push(on_cluster("/locations", zones.into()));
            }
            other => {
                let field = other
                    .strip_prefix("desired")
                    .map_or(other.to_string(), lower_first);
                changes.push(on_cluster(&format!("/{field}"), value.clone()));
            }
        }
    }
    operations::ensure_idle(call.state, &key)?;
    if let Some(cluster) = call.state.clusters.get_mut(&key) {
        cluster.set_status("RECONCILING");
    }
    let operation_type = if update.keys().all(|k| k == "desiredMasterVersion") {
        "UPGRADE_MASTER"
    } else {
        "UPDATE_CLUSTER"
    };
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: target_pool,
            operation_type,
            detail: format!("Updating cluster {name}."),
            effect: Effect::Change { changes },
        },
    ))
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Replaces the cluster's resource labels; a stale fingerprint is refused, as GKE does.
pub fn set_resource_labels(
    call: &mut Call,
    at: (&str, &str),
    name: &str,
    body: Value,
) -> ApiResult {
    let cluster = cluster(call, at, name)?;
    let key = cluster.key();
    let labels = match &body["resourceLabels"] {
        Value::Null => Value::Object(Map::new()),
        labels => labels.clone(),
    };
    rules::check_resource_labels(&labels, "resource_labels")?;
    let given = body["labelFingerprint"].as_str().unwrap_or_default();
    let current = cluster.resource["labelFingerprint"]
        .as_str()
        .unwrap_or_default();
    if !given.is_empty() && given != current {
        return Err(ApiError::failed_precondition(format!(
            "Labels could not be set due to fingerprint mismatch: got {given}, current is {current}. Read the cluster again and retry."
        )));
    }
    operations::ensure_idle(call.state, &key)?;
    let changes = vec![
        Change {
            pool: None,
            pointer: "/labelFingerprint".into(),
            value: label_fingerprint(&labels).into(),
        },
        Change {
            pool: None,
            pointer: "/resourceLabels".into(),
            value: labels,
        },
    ];
    Ok(operations::start(
        call,
        Request {
            cluster: &key,
            node_pool: None,
            operation_type: "UPDATE_CLUSTER",
            detail: format!("Setting labels of cluster {name}."),
            effect: Effect::Change { changes },
        },
    ))
}
