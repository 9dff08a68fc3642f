//! Nodes materialised from the cluster's node pools: one Node per VM of each pool's instance
//! groups (the names Compute lists), with GKE's labels, the pool's taints, a Ready condition and
//! the machine type's capacity; kept in step as pools are created, resized, autoscaled or deleted.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::resources::by_plural;
use super::store::{self, k8s_time};
use crate::container::nodes::instance_groups;
use crate::container::{integer, ClusterRecord};

/// Brings the cluster's Node objects in line with its node pools.
pub fn sync(cluster: &mut ClusterRecord, now_ms: u64) {
    let resource = by_plural("nodes");
    let mut wanted = Vec::new();
    let groups = instance_groups(cluster);
    for group in &groups {
        let Some(pool) = cluster.pool(&group.pool) else {
            continue;
        };
        // Nodes register once the pool's VMs are up: not while it is first provisioned.
        if matches!(pool["status"].as_str(), Some("PROVISIONING" | "ERROR")) {
            continue;
        }
        for name in group.node_names() {
            wanted.push(node(cluster, pool, &group.zone, &name, now_ms));
        }
    }
    let names: BTreeSet<String> = wanted
        .iter()
        .map(|n| store::name_of(n).to_string())
        .collect();
    let stale: Vec<String> = cluster
        .kubernetes
        .list(resource, None)
        .filter(|n| !n["metadata"]["labels"]["cloud.google.com/gke-nodepool"].is_null())
        .map(|n| store::name_of(n).to_string())
        .filter(|n| !names.contains(n))
        .collect();
    for name in stale {
        cluster.kubernetes.remove(resource, "", &name);
    }
    for desired in wanted {
        let existing = cluster
            .kubernetes
            .get(resource, "", store::name_of(&desired))
            .cloned();
        match existing {
            None => {
                cluster.kubernetes.create(resource, desired, now_ms);
            }
            Some(mut current) => {
                // Labels set through the API stay; those GKE derives from the pool are refreshed.
                let labels = current["metadata"]["labels"]
                    .as_object_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let mut merged = labels;
                for (k, v) in desired["metadata"]["labels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    merged.insert(k.clone(), v.clone());
                }
                current["metadata"]["labels"] = Value::Object(merged);
                current["spec"]["taints"] = desired["spec"]["taints"].clone();
                let conditions = current["status"]["conditions"].clone();
                current["status"] = desired["status"].clone();
                current["status"]["conditions"] = conditions;
                cluster.kubernetes.update(resource, current);
            }
        }
    }
}

fn node(cluster: &ClusterRecord, pool: &Value, zone: &str, name: &str, now_ms: u64) -> Value {
    let config = &pool["config"];
    let machine_type = config["machineType"].as_str().unwrap_or("e2-medium");
    let (cpus, memory_mib) = machine_capacity(machine_type);
    let region = zone.rsplit_once('-').map_or(zone, |(r, _)| r);
    let pool_name = pool["name"].as_str().unwrap_or_default();
    let mut labels = Map::new();
    for (k, v) in config["labels"].as_object().into_iter().flatten() {
        labels.insert(k.clone(), v.clone());
    }
    let fixed = [
        ("cloud.google.com/gke-nodepool", pool_name),
        ("cloud.google.com/gke-os-distribution", "cos"),
        (
            "cloud.google.com/machine-family",
            machine_type.split('-').next().unwrap_or_default(),
        ),
        ("node.kubernetes.io/instance-type", machine_type),
        ("beta.kubernetes.io/instance-type", machine_type),
        ("topology.kubernetes.io/zone", zone),
        ("topology.kubernetes.io/region", region),
        ("failure-domain.beta.kubernetes.io/zone", zone),
        ("failure-domain.beta.kubernetes.io/region", region),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
    ];
    for (k, v) in fixed {
        labels.insert(k.to_string(), Value::from(v));
    }
    if config["spot"] == true {
        labels.insert("cloud.google.com/gke-spot".into(), "true".into());
    }
    if config["preemptible"] == true {
        labels.insert("cloud.google.com/gke-preemptible".into(), "true".into());
    }
    let mut taints: Vec<Value> = config["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            json!({
                "key": t["key"],
                "value": t["value"],
                "effect": taint_effect(t["effect"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    let mut gpus = 0;
    if let Some(accelerator) = config["accelerators"].as_array().and_then(|a| a.first()) {
        gpus = integer(&accelerator["acceleratorCount"]).unwrap_or(0);
        let kind = accelerator["acceleratorType"].as_str().unwrap_or_default();
        labels.insert("cloud.google.com/gke-accelerator".into(), kind.into());
        labels.insert("cloud.google.com/gke-gpu".into(), "true".into());
        // GKE taints GPU nodes so only pods asking for GPUs land there.
        taints.push(json!({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}));
    }
    let version = format!(
        "v{}",
        pool["version"]
            .as_str()
            .or(cluster.resource["currentNodeVersion"].as_str())
            .unwrap_or("1.33.5-gke.1162000")
    );
    let mut capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", memory_mib * 1024),
        "pods": "110",
        "ephemeral-storage": format!("{}Ki", integer(&config["diskSizeGb"]).unwrap_or(100) * 1024 * 1024),
        "hugepages-2Mi": "0",
    });
    // Allocatable is what is left after GKE's system reservations, roughly as GKE computes it.
    let mut allocatable = json!({
        "cpu": format!("{}m", cpus * 1000 - 60 - cpus.saturating_sub(1) * 10),
        "memory": format!("{}Ki", memory_mib * 1024 * 85 / 100),
        "pods": "110",
        "ephemeral-storage": format!("{}Ki", integer(&config["diskSizeGb"]).unwrap_or(100) * 1024 * 1024 * 90 / 100),
        "hugepages-2Mi": "0",
    });
    if gpus > 0 {
        capacity["nvidia.com/gpu"] = Value::from(gpus.to_string());
        allocatable["nvidia.com/gpu"] = Value::from(gpus.to_string());
    }
    let since = cluster.resource["createTime"]
        .as_str()
        .and_then(|t| t.split_once('.').map(|(s, _)| format!("{s}Z")))
        .unwrap_or_else(|| k8s_time(now_ms));
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": since, "lastTransitionTime": since})
    };
    let index = name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let ip = format!("10.128.{}.{}", (index >> 8) % 250, index % 250 + 2);
    json!({
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "container.googleapis.com/instance_id": format!("{}", u64::from(index) * 7919 + 1_000_000_000_000),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "providerID": format!("gce://{}/{zone}/{name}", cluster.project),
            "podCIDR": format!("10.4.{}.0/24", index % 250),
            "podCIDRs": [format!("10.4.{}.0/24", index % 250)],
            "taints": taints,
        },
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": format!("{index:032x}"),
                "systemUUID": format!("{index:08x}-0000-4000-8000-{index:012x}"),
                "bootID": format!("{index:08x}-1111-4000-8000-{index:012x}"),
                "kernelVersion": "6.6.56+",
                "osImage": "Container-Optimized OS from Google",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    })
}

/// GKE's taint effect names as Kubernetes spells them.
pub fn taint_effect(gke: &str) -> &str {
    match gke {
        "NO_SCHEDULE" => "NoSchedule",
        "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
        "NO_EXECUTE" => "NoExecute",
        other => other,
    }
}

/// vCPUs and memory (MiB) of a Compute machine type; shared-core and unknown types get e2-medium's.
pub fn machine_capacity(machine_type: &str) -> (u64, u64) {
    let parts: Vec<&str> = machine_type.split('-').collect();
    if let Some(at) = parts.iter().position(|p| *p == "custom") {
        let number = |i: usize| parts.get(i).and_then(|c| c.parse().ok());
        return (number(at + 1).unwrap_or(2), number(at + 2).unwrap_or(4096));
    }
    if let [family, class, size] = parts.as_slice() {
        if let Ok(cpus) = size.parse::<u64>() {
            let per_cpu_mib = match (*family, *class) {
                ("n1", "standard") => 3840,
                ("n1", "highmem") => 6656,
                ("n1", "highcpu") => 921,
                (_, "highmem") => 8192,
                (_, "highcpu") => 1024,
                ("a2", _) => 7168,
                ("g2", _) => 4096,
                ("m1" | "m2" | "m3", _) => 15360,
                _ => 4096,
            };
            return (cpus, cpus * per_cpu_mib);
        }
        // GPU-bundled shapes such as a2-highgpu-1g: 12 vCPUs and 85 GB per GPU.
        if let Some(gpus) = size.strip_suffix('g').and_then(|g| g.parse::<u64>().ok()) {
            return (12 * gpus, 87_040 * gpus);
        }
    }
    match machine_type {
        "e2-micro" => (2, 1024),
        "e2-small" => (2, 2048),
        "f1-micro" => (1, 614),
        "g1-small" => (1, 1740),
        _ => (2, 4096),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_types_have_their_capacity() {
        assert_eq!(machine_capacity("e2-standard-4"), (4, 16384));
        assert_eq!(machine_capacity("n1-standard-8"), (8, 30720));
        assert_eq!(machine_capacity("n2-highmem-2"), (2, 16384));
        assert_eq!(machine_capacity("e2-medium"), (2, 4096));
        assert_eq!(machine_capacity("a2-highgpu-1g"), (12, 87040));
        assert_eq!(machine_capacity("n2-custom-6-24576"), (6, 24576));
    }
}
