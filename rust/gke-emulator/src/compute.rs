//! Compute v1 `instances.get`, `instanceGroups.get`, `instanceGroups.listInstances` and
//! `subnetworks.get`: the VM the client runs on and its subnetwork (from the instance metadata),
//! and the node VMs and instance groups of every node pool.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::container::nodes::{instance_groups, InstanceGroup};
use crate::container::ClusterRecord;
use crate::metadata::{last_segment, InstanceMetadata};
use crate::state::State;

const COMPUTE: &str = "https://www.googleapis.com/compute/v1";

/// Answers `/compute/v1/projects/{p}/zones/{z}/{collection}/{name}[/listInstances]`.
pub fn serve(state: &State, method: &str, path: &str, query: &[(String, String)]) -> Response {
    let segments: Vec<&str> = path.split('/').collect();
    let filter = query
        .iter()
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.clone());
    let found = match (method, segments.as_slice()) {
        ("GET", ["projects", project, "aggregated", collection]) => {
            crate::catalogue::aggregated(project, collection, filter.as_deref())
        }
        ("GET", ["projects", project, "regions", region]) => {
            Some(crate::catalogue::region_json(project, region))
        }
        ("GET", ["projects", project, "zones", zone, "instances", name]) => {
            instance(state, project, zone, name)
        }
        ("GET", ["projects", project, "zones", zone, "instanceGroups", name]) => {
            group(state, project, zone, name).map(|g| group_json(&g))
        }
        ("POST", ["projects", project, "zones", zone, "instanceGroups", name, "listInstances"]) => {
            group(state, project, zone, name).map(|g| members_json(&g))
        }
        ("GET", ["projects", project, "regions", region, "subnetworks", name]) => {
            subnetwork(&state.instance, project, region, name)
        }
        _ => None,
    };
    match found {
        Some(body) => axum::Json(body).into_response(),
        None => not_found(path),
    }
}

fn instance(state: &State, project: &str, zone: &str, name: &str) -> Option<Value> {
    let host = &state.instance;
    if host.project_id == project && host.zone == zone && host.instance_name == name {
        return Some(host_json(host));
    }
    groups(state, project)
        .find(|(_, g)| g.zone == zone && g.node_names().iter().any(|n| n == name))
        .map(|(cluster, g)| node_json(state, cluster, &g, name))
}

/// The host's subnetwork is the one subnetwork the emulator knows.
fn subnetwork(host: &InstanceMetadata, project: &str, region: &str, name: &str) -> Option<Value> {
    let known = host.project_id == project
        && host.region() == region
        && last_segment(&host.subnetwork) == name;
    known.then(|| {
        json!({
            "kind": "compute#subnetwork",
            "name": name,
            "region": format!("{COMPUTE}/projects/{project}/regions/{region}"),
            "network": network_url(project, &host.network),
            "ipCidrRange": host.subnetwork_cidr,
            "secondaryIpRanges": host.secondary_ranges.iter()
                .map(|(n, c)| json!({"rangeName": n, "ipCidrRange": c}))
                .collect::<Vec<_>>(),
            "selfLink": subnetwork_url(project, region, name),
        })
    })
}

fn group(state: &State, project: &str, zone: &str, name: &str) -> Option<InstanceGroup> {
    groups(state, project)
        .find(|(_, g)| g.zone == zone && g.name == name)
        .map(|(_, g)| g)
}

/// The instance groups of the project's clusters, each with its cluster.
fn groups<'a>(
    state: &'a State,
    project: &'a str,
) -> impl Iterator<Item = (&'a ClusterRecord, InstanceGroup)> {
    state
        .clusters
        .values()
        .filter(move |c| c.project == project)
        .flat_map(|cluster| {
            instance_groups(cluster)
                .into_iter()
                .map(move |g| (cluster, g))
        })
}

fn region_of(zone: &str) -> &str {
    zone.rsplit_once('-').map_or(zone, |(region, _)| region)
}

/// Full Compute URL of a network given as a name or a `projects/…` path.
fn network_url(project: &str, network: &str) -> String {
    if network.starts_with("projects/") {
        format!("{COMPUTE}/{network}")
    } else {
        format!("{COMPUTE}/projects/{project}/global/networks/{network}")
    }
}

fn subnetwork_url(project: &str, region: &str, subnetwork: &str) -> String {
    if subnetwork.starts_with("projects/") {
        format!("{COMPUTE}/{subnetwork}")
    } else {
        format!("{COMPUTE}/projects/{project}/regions/{region}/subnetworks/{subnetwork}")
    }
}

fn host_json(host: &InstanceMetadata) -> Value {
    let project = &host.project_id;
    let zone_url = format!("{COMPUTE}/projects/{project}/zones/{}", host.zone);
    json!({
        "kind": "compute#instance",
        "id": host.instance_id,
        "name": host.instance_name,
        "zone": zone_url,
        "machineType": format!("{zone_url}/machineTypes/{}", host.machine_type),
        "status": "RUNNING",
        "selfLink": format!("{zone_url}/instances/{}", host.instance_name),
        "networkInterfaces": [{
            "kind": "compute#networkInterface",
            "name": "nic0",
            "network": network_url(project, &host.network),
            "subnetwork": subnetwork_url(project, host.region(), &host.subnetwork),
            "networkIP": host.ip,
        }],
        "serviceAccounts": [{"email": host.service_account_email, "scopes": host.scopes}],
    })
}

fn node_json(state: &State, cluster: &ClusterRecord, group: &InstanceGroup, name: &str) -> Value {
    let project = &cluster.project;
    let zone_url = format!("{COMPUTE}/projects/{project}/zones/{}", group.zone);
    let config = &cluster
        .pool(&group.pool)
        .map_or(Value::Null, |p| p["config"].clone());
    let account = match config["serviceAccount"].as_str() {
        None | Some("default") => format!(
            "{}-compute@developer.gserviceaccount.com",
            state.instance.project_number
        ),
        Some(email) => email.to_string(),
    };
    let network = cluster.resource["network"].as_str().unwrap_or("default");
    let subnetwork = cluster.resource["subnetwork"].as_str().unwrap_or("default");
    json!({
        "kind": "compute#instance",
        "name": name,
        "zone": zone_url,
        "machineType": format!("{zone_url}/machineTypes/{}", config["machineType"].as_str().unwrap_or("e2-medium")),
        "status": "RUNNING",
        "selfLink": format!("{zone_url}/instances/{name}"),
        "labels": {"goog-k8s-cluster-name": cluster.name(), "goog-k8s-node-pool-name": group.pool},
        "networkInterfaces": [{
            "kind": "compute#networkInterface",
            "name": "nic0",
            "network": network_url(project, last_segment_if_name(network)),
            "subnetwork": subnetwork_url(project, region_of(&group.zone), last_segment_if_name(subnetwork)),
        }],
        "serviceAccounts": [{"email": account, "scopes": config["oauthScopes"]}],
    })
}

/// GKE reports networks as names; clients may have given paths, which are kept as they are.
fn last_segment_if_name(network: &str) -> &str {
    if network.starts_with("projects/") {
        network
    } else {
        last_segment(network)
    }
}

fn group_json(group: &InstanceGroup) -> Value {
    json!({
        "kind": "compute#instanceGroup",
        "name": group.name,
        "zone": format!("{COMPUTE}/projects/{}/zones/{}", group.project, group.zone),
        "size": group.size,
        "selfLink": group.url(),
    })
}

fn members_json(group: &InstanceGroup) -> Value {
    let zone_url = format!("{COMPUTE}/projects/{}/zones/{}", group.project, group.zone);
    let items: Vec<Value> = group
        .node_names()
        .iter()
        .map(
            |name| json!({"instance": format!("{zone_url}/instances/{name}"), "status": "RUNNING"}),
        )
        .collect();
    json!({"kind": "compute#instanceGroupsListInstances", "items": items})
}

/// Compute's error shape: Google's `error` with the legacy `errors[]` list.
fn not_found(path: &str) -> Response {
    let message = format!("The resource '{path}' was not found");
    let body = json!({"error": {
        "code": 404,
        "message": message,
        "status": "NOT_FOUND",
        "errors": [{"message": message, "domain": "global", "reason": "notFound"}],
    }});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}
