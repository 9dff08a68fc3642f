//! GKE's container v1 API, locations form: clusters, node pools and operations.

pub mod clusters;
pub mod node_pools;
pub mod nodes;
pub mod operations;
pub mod rules;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ca::ClusterCa;
use crate::errors::{ApiError, ApiResult};
use crate::kubernetes::store::Store;
use crate::state::State;

/// One API call's view of the emulator: the state, the clock, and how long new operations take.
pub struct Call<'a> {
    pub state: &'a mut State,
    pub now_ms: u64,
    pub operation_ms: u64,
}

/// A cluster as the emulator keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    pub project: String,
    pub location: String,
    /// The `Cluster` exactly as `clusters.get` answers it.
    pub resource: Value,
    /// Signs the cluster's Kubernetes API certificates; its certificate is `masterAuth.clusterCaCertificate`.
    pub ca: ClusterCa,
    /// Nodes per zone of each node pool (GKE counts nodes per zone), by pool name.
    pub node_counts: BTreeMap<String, i64>,
    /// The loopback port of the cluster's Kubernetes API, re-bound after a restart.
    #[serde(default)]
    pub api_port: Option<u16>,
    /// The objects of the cluster's Kubernetes API.
    #[serde(default)]
    pub kubernetes: Store,
}

impl ClusterRecord {
    pub fn name(&self) -> &str {
        self.resource["name"].as_str().unwrap_or_default()
    }

    pub fn key(&self) -> String {
        cluster_key(&self.project, &self.location, self.name())
    }

    pub fn pools(&self) -> &[Value] {
        self.resource["nodePools"]
            .as_array()
            .map_or(&[], Vec::as_slice)
    }

    pub fn pool(&self, name: &str) -> Option<&Value> {
        self.pools().iter().find(|p| p["name"] == name)
    }

    pub fn pool_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.resource["nodePools"]
            .as_array_mut()?
            .iter_mut()
            .find(|p| p["name"] == name)
    }

    /// Points the cluster's endpoints at its Kubernetes API listener: the IP endpoint as
    /// `127.0.0.1:PORT` and the DNS endpoint as `localhost:PORT` (the certificate covers both).
    pub fn set_api_port(&mut self, port: u16) {
        self.api_port = Some(port);
        let ip = format!("127.0.0.1:{port}");
        self.resource["endpoint"] = Value::from(ip.clone());
        let endpoints = &mut self.resource["controlPlaneEndpointsConfig"];
        endpoints["dnsEndpointConfig"]["endpoint"] = Value::from(format!("localhost:{port}"));
        endpoints["ipEndpointsConfig"]["publicEndpoint"] = Value::from(ip);
    }

    pub fn set_status(&mut self, status: &str) {
        self.resource["status"] = Value::from(status);
    }

    pub fn set_pool_status(&mut self, pool: &str, status: &str) {
        if let Some(pool) = self.pool_mut(pool) {
            pool["status"] = Value::from(status);
        }
    }

    /// Recomputes what GKE derives from the node pools: instance groups and node counts.
    pub fn refresh(&mut self) {
        let groups = nodes::instance_groups(self);
        let mut all_urls = Vec::new();
        let mut total = 0;
        for pool in self.resource["nodePools"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let name = pool["name"].as_str().unwrap_or_default().to_string();
            let urls: Vec<Value> = groups
                .iter()
                .filter(|g| g.pool == name)
                .map(|g| Value::from(g.manager_url()))
                .collect();
            all_urls.extend(urls.iter().cloned());
            total += groups
                .iter()
                .filter(|g| g.pool == name)
                .map(|g| g.size)
                .sum::<i64>();
            pool["instanceGroupUrls"] = Value::from(urls);
        }
        self.resource["instanceGroupUrls"] = Value::from(all_urls);
        self.resource["currentNodeCount"] = Value::from(total);
    }
}

pub fn cluster_key(project: &str, location: &str, cluster: &str) -> String {
    format!("projects/{project}/locations/{location}/clusters/{cluster}")
}

/// The cluster `name` at `(project, location)`, or GKE's not-found error.
pub fn cluster<'a>(
    call: &'a Call,
    (project, location): (&str, &str),
    name: &str,
) -> ApiResult<&'a ClusterRecord> {
    let key = cluster_key(project, location, name);
    call.state.clusters.get(&key).ok_or_else(|| not_found(&key))
}

pub fn not_found(resource: &str) -> ApiError {
    ApiError::not_found(format!("Not found: {resource}."))
}

/// Routes a GKE method, by its discovery id, to its handler; `params` are the values of its path's
/// variables (project, location, then cluster, node pool or operation). Only the locations form
/// (`container.projects.locations.*`) is emulated.
pub fn route(call: &mut Call, id: &str, params: &[String], body: Value) -> ApiResult {
    let (Some(method), [project, location, rest @ ..]) =
        (id.strip_prefix("container.projects.locations."), params)
    else {
        return Err(unimplemented(id));
    };
    let at = (project.as_str(), location.as_str());
    match (method, rest) {
        ("clusters.list", []) => clusters::list(call, at),
        ("clusters.create", []) => clusters::create(call, at, body),
        ("clusters.get", [c]) => clusters::get(call, at, c),
        ("clusters.update", [c]) => clusters::update(call, at, c, body),
        ("clusters.delete", [c]) => clusters::delete(call, at, c),
        ("clusters.setResourceLabels", [c]) => clusters::set_resource_labels(call, at, c, body),
        ("clusters.nodePools.list", [c]) => node_pools::list(call, at, c),
        ("clusters.nodePools.create", [c]) => node_pools::create(call, at, c, body),
        ("clusters.nodePools.get", [c, p]) => node_pools::get(call, at, c, p),
        ("clusters.nodePools.update", [c, p]) => node_pools::update(call, at, c, p, body),
        ("clusters.nodePools.delete", [c, p]) => node_pools::delete(call, at, c, p),
        ("clusters.nodePools.setSize", [c, p]) => node_pools::set_size(call, at, c, p, body),
        ("clusters.nodePools.setAutoscaling", [c, p]) => {
            node_pools::set_autoscaling(call, at, c, p, body)
        }
        ("clusters.nodePools.setManagement", [c, p]) => {
            node_pools::set_management(call, at, c, p, body)
        }
        ("getServerConfig", []) => Ok(crate::catalogue::server_config()),
        ("operations.list", []) => operations::list(call, at),
        ("operations.get", [o]) => operations::get(call, at, o),
        ("operations.cancel", [o]) => operations::cancel(call, at, o),
        _ => Err(unimplemented(id)),
    }
}

fn unimplemented(id: &str) -> ApiError {
    ApiError::unimplemented(format!(
        "{id} is part of the GKE API but not emulated by gke-emulator."
    ))
}

/// An integer field as clients send it: a JSON number or, for int64, a decimal string.
pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The version GKE picks for `-`, `latest` or nothing; `1.32` style prefixes get a patch level.
pub fn resolve_version(requested: &Value) -> String {
    use crate::catalogue::{DEFAULT_VERSION, VERSIONS};
    match requested.as_str().unwrap_or_default() {
        "" | "-" => DEFAULT_VERSION.to_string(),
        "latest" => VERSIONS[0].to_string(),
        full if full.matches('.').count() >= 2 => full.to_string(),
        minor => VERSIONS
            .iter()
            .find(|v| v.starts_with(&format!("{minor}.")))
            .map_or_else(|| format!("{minor}.5-gke.1162000"), |v| v.to_string()),
    }
}
