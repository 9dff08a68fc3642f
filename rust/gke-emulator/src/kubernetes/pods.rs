//! The emulated scheduler and kubelet: a pod is bound to a node that fits (taints, node
//! selector, GPUs), stays Pending a moment, runs, then ends Succeeded (its log echoes its command)
//! or as a test scripted through the admin surface; all timed from persisted wall-clock stamps.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::resources::by_plural;
use super::status::{KubeError, KubeResult};
use super::store::{self, k8s_time, Store};

/// What happens to one pod once it is scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRun {
    pub created_ms: u64,
    /// When the pod was bound to a node; None while no node fits.
    pub scheduled_ms: Option<u64>,
    /// Time from binding to the containers running.
    pub start_ms: u64,
    /// How long the containers run; None runs them until the pod is deleted.
    pub run_ms: Option<u64>,
    /// `Succeeded` or `Failed`, once the run ends.
    pub outcome: String,
    pub exit_code: i64,
    /// The first container's log; None echoes its command and arguments.
    pub log: Option<String>,
}

/// An admin-scripted outcome for the next pod that matches (`POST /_emulator/pods/script`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodScript {
    /// The cluster's name; any when absent.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The pod's name starts with this; any when absent.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// `Succeeded` (default) or `Failed`.
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub log: Option<String>,
    #[serde(default)]
    pub run_seconds: Option<f64>,
    /// Defaults to 0 for Succeeded, 1 for Failed.
    #[serde(default)]
    pub exit_code: Option<i64>,
}

impl PodScript {
    pub fn check(&self) -> Result<(), String> {
        match self.phase.as_deref() {
            None | Some("Succeeded" | "Failed") => {}
            Some(other) => return Err(format!("phase must be Succeeded or Failed, not {other}")),
        }
        if self.run_seconds.is_some_and(|s| !s.is_finite() || s < 0.0) {
            return Err("runSeconds must be zero or more".into());
        }
        Ok(())
    }

    fn matches(&self, cluster: &str, pod: &Value) -> bool {
        self.cluster.as_deref().is_none_or(|c| c == cluster)
            && self
                .namespace
                .as_deref()
                .is_none_or(|n| n == store::namespace_of(pod))
            && self
                .name_prefix
                .as_deref()
                .is_none_or(|p| store::name_of(pod).starts_with(p))
    }
}

/// Timings for pods without a script (admin settings `podStartMs`, `podRunMs`).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub start_ms: u64,
    pub run_ms: u64,
}

/// Decides the fate of a pod just created, consuming the first script that matches it.
pub fn admit(
    store: &mut Store,
    scripts: &mut Vec<PodScript>,
    cluster: &str,
    pod: &Value,
    timing: Timing,
    now_ms: u64,
) {
    let script = scripts
        .iter()
        .position(|s| s.matches(cluster, pod))
        .map(|i| scripts.remove(i));
    let restart_always = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always") == "Always";
    let run = match script {
        Some(script) => {
            let outcome = script.phase.unwrap_or_else(|| "Succeeded".into());
            PodRun {
                created_ms: now_ms,
                scheduled_ms: None,
                start_ms: timing.start_ms,
                run_ms: Some(
                    script
                        .run_seconds
                        .map_or(timing.run_ms, |s| (s * 1000.0) as u64),
                ),
                exit_code: script
                    .exit_code
                    .unwrap_or(if outcome == "Failed" { 1 } else { 0 }),
                outcome,
                log: script.log,
            }
        }
        None => PodRun {
            created_ms: now_ms,
            scheduled_ms: None,
            start_ms: timing.start_ms,
            // A pod that restarts its containers for ever never completes.
            run_ms: (!restart_always).then_some(timing.run_ms),
            outcome: "Succeeded".into(),
            exit_code: 0,
            log: None,
        },
    };
    store.pods.insert(
        store::key(store::namespace_of(pod), store::name_of(pod)),
        run,
    );
}

/// Schedules pods that wait for a node and moves every pod's status along the clock.
pub fn settle(store: &mut Store, now_ms: u64) {
    let resource = by_plural("pods");
    let nodes: Vec<Value> = store.list(by_plural("nodes"), None).cloned().collect();
    let pods: Vec<Value> = store.list(resource, None).cloned().collect();
    for mut pod in pods {
        let key = store::key(store::namespace_of(&pod), store::name_of(&pod));
        let Some(mut run) = store.pods.get(&key).cloned() else {
            continue;
        };
        if run.scheduled_ms.is_none() {
            match pick_node(&pod, &nodes, store) {
                Ok(node) => {
                    pod["spec"]["nodeName"] = Value::from(node);
                    run.scheduled_ms = Some(now_ms);
                }
                Err(reason) => {
                    pod["status"] = json!({
                        "phase": "Pending",
                        "qosClass": qos_class(&pod),
                        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": reason, "lastProbeTime": null,
                                        "lastTransitionTime": k8s_time(run.created_ms)}],
                    });
                    store.update(resource, pod);
                    continue;
                }
            }
            store.pods.insert(key.clone(), run.clone());
        }
        pod["status"] = status(&pod, &run, &nodes, now_ms);
        store.update(resource, pod);
    }
}

/// A node the pod fits on, spreading pods by name; else the scheduler's reason.
fn pick_node(pod: &Value, nodes: &[Value], store: &Store) -> Result<String, String> {
    if let Some(name) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        return Ok(name.to_string());
    }
    let mut tainted = 0;
    let mut unselected = 0;
    let mut short_of_gpus = 0;
    let mut fitting = Vec::new();
    for node in nodes {
        if node["spec"]["unschedulable"] == true || !tolerates(&pod["spec"], node) {
            tainted += 1;
        } else if !selects(&pod["spec"], node) {
            unselected += 1;
        } else if gpus_requested(pod) > gpus_free(node, store) {
            short_of_gpus += 1;
        } else {
            fitting.push(store::name_of(node).to_string());
        }
    }
    if fitting.is_empty() {
        let mut reasons = Vec::new();
        if tainted > 0 {
            reasons.push(format!("{tainted} node(s) had untolerated taint"));
        }
        if unselected > 0 {
            reasons.push(format!(
                "{unselected} node(s) didn't match Pod's node affinity/selector"
            ));
        }
        if short_of_gpus > 0 {
            reasons.push(format!("{short_of_gpus} Insufficient nvidia.com/gpu"));
        }
        let detail = if reasons.is_empty() {
            String::new()
        } else {
            format!(" {}.", reasons.join(", "))
        };
        return Err(format!(
            "0/{} nodes are available:{detail} preemption: 0/{} nodes are available: {} Preemption is not helpful for scheduling.",
            nodes.len(),
            nodes.len(),
            nodes.len()
        ));
    }
    let spread = store::name_of(pod).bytes().map(usize::from).sum::<usize>() % fitting.len();
    Ok(fitting.swap_remove(spread))
}

/// Whether a pod spec tolerates every NoSchedule and NoExecute taint of the node.
pub fn tolerates(spec: &Value, node: &Value) -> bool {
    let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|taint| {
            taint["effect"] == "PreferNoSchedule"
                || tolerations.iter().any(|t| {
                    let key_ok = t["key"]
                        .as_str()
                        .is_none_or(|k| k.is_empty() || taint["key"] == k);
                    let exists = t["operator"] == "Exists";
                    let value_ok = exists
                        || t["value"].as_str().unwrap_or_default()
                            == taint["value"].as_str().unwrap_or_default();
                    let effect_ok = t["effect"]
                        .as_str()
                        .is_none_or(|e| e.is_empty() || taint["effect"] == e);
                    let any_key = t["key"].as_str().is_none_or(str::is_empty);
                    key_ok && value_ok && effect_ok && (!any_key || exists)
                })
        })
}

/// Whether the node carries every label of the pod spec's node selector.
pub fn selects(spec: &Value, node: &Value) -> bool {
    spec["nodeSelector"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| node["metadata"]["labels"][k] == *v)
}

fn gpus_requested(pod: &Value) -> i64 {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let limits = &c["resources"]["limits"]["nvidia.com/gpu"];
            let requests = &c["resources"]["requests"]["nvidia.com/gpu"];
            let value = if limits.is_null() { requests } else { limits };
            value
                .as_str()
                .and_then(|v| v.parse().ok())
                .or(value.as_i64())
        })
        .sum()
}

fn gpus_free(node: &Value, store: &Store) -> i64 {
    let total: i64 = node["status"]["allocatable"]["nvidia.com/gpu"]
        .as_str()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    let used: i64 = store
        .list(by_plural("pods"), None)
        .filter(|p| p["spec"]["nodeName"] == node["metadata"]["name"])
        .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        .map(gpus_requested)
        .sum();
    total - used
}

fn qos_class(pod: &Value) -> &'static str {
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let any = containers.iter().any(|c| {
        c["resources"]["requests"]
            .as_object()
            .is_some_and(|r| !r.is_empty())
            || c["resources"]["limits"]
                .as_object()
                .is_some_and(|r| !r.is_empty())
    });
    if any {
        "Burstable"
    } else {
        "BestEffort"
    }
}

/// The status the kubelet reports at `now_ms`.
fn status(pod: &Value, run: &PodRun, nodes: &[Value], now_ms: u64) -> Value {
    let scheduled = run.scheduled_ms.unwrap_or(now_ms);
    let started = scheduled + run.start_ms;
    let ended = run.run_ms.map(|r| started + r);
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let host_ip = nodes
        .iter()
        .find(|n| n["metadata"]["name"] == node_name)
        .and_then(|n| n["status"]["addresses"][0]["address"].as_str())
        .unwrap_or("10.128.0.10")
        .to_string();
    let (phase, ready) = match ended {
        Some(end) if now_ms >= end => (run.outcome.as_str(), false),
        _ if now_ms >= started => ("Running", true),
        _ => ("Pending", false),
    };
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let container_statuses: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let state = match phase {
                "Pending" => json!({"waiting": {"reason": "ContainerCreating"}}),
                "Running" => json!({"running": {"startedAt": k8s_time(started)}}),
                _ => {
                    let code = if index == 0 { run.exit_code } else { 0 };
                    json!({"terminated": {
                        "exitCode": code,
                        "reason": if code == 0 { "Completed" } else { "Error" },
                        "startedAt": k8s_time(started),
                        "finishedAt": k8s_time(ended.unwrap_or(now_ms)),
                        "containerID": format!("containerd://{:064x}", started + index as u64),
                    }})
                }
            };
            let image = c["image"].as_str().unwrap_or_default();
            json!({
                "name": c["name"],
                "image": image,
                "imageID": format!("{image}@sha256:{:064x}", image.len()),
                "ready": ready,
                "started": phase == "Running",
                "restartCount": 0,
                "state": state,
            })
        })
        .collect();
    let transition = |at: u64| k8s_time(at.min(now_ms));
    let condition = |kind: &str, ok: bool, at: u64| {
        let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" },
                           "lastProbeTime": null, "lastTransitionTime": transition(at)});
        if !ok && phase != "Pending" && kind.ends_with("Ready") {
            c["reason"] = Value::from("PodCompleted");
        }
        c
    };
    let ready_since = if ready {
        started
    } else {
        ended.unwrap_or(scheduled)
    };
    let mut status = json!({
        "phase": phase,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "qosClass": qos_class(pod),
        "conditions": [
            condition("PodReadyToStartContainers", phase != "Pending", started),
            condition("Initialized", true, scheduled),
            condition("Ready", ready, ready_since),
            condition("ContainersReady", ready, ready_since),
            condition("PodScheduled", true, scheduled),
        ],
        "containerStatuses": container_statuses,
    });
    if phase != "Pending" {
        status["startTime"] = Value::from(k8s_time(scheduled));
        let ip = format!("10.4.{}.{}", scheduled % 250, run.created_ms % 250 + 2);
        status["podIP"] = Value::from(ip.clone());
        status["podIPs"] = json!([{"ip": ip}]);
    } else {
        status["startTime"] = Value::from(k8s_time(scheduled));
    }
    status
}

/// `pods/{name}/log`: the container's output so far.
pub fn log(
    store: &Store,
    pod: &Value,
    container: Option<&str>,
    tail_lines: Option<usize>,
) -> KubeResult<String> {
    let name = store::name_of(pod);
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let chosen = match container {
        Some(c) if containers.contains(&c) => c,
        Some(c) => {
            return Err(KubeError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )))
        }
        None if containers.len() == 1 => containers[0],
        None => {
            return Err(KubeError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )))
        }
    };
    if pod["status"]["phase"].as_str().unwrap_or("Pending") == "Pending" {
        return Err(KubeError::bad_request(format!(
            "container \"{chosen}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    }
    let run = store.pods.get(&store::key(store::namespace_of(pod), name));
    let index = containers.iter().position(|c| *c == chosen).unwrap_or(0);
    let scripted = run.and_then(|r| r.log.clone()).filter(|_| index == 0);
    let text = scripted.unwrap_or_else(|| echo(&pod["spec"]["containers"][index]));
    Ok(match tail_lines {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let mut tail = lines[lines.len().saturating_sub(n)..].join("\n");
            if !tail.is_empty() && text.ends_with('\n') {
                tail.push('\n');
            }
            tail
        }
        None => text,
    })
}

/// The default log: the container's command and arguments, as `echo` would print them.
fn echo(container: &Value) -> String {
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|f| container[*f].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    if words.is_empty() {
        String::new()
    } else {
        words.join(" ") + "\n"
    }
}

/// Whether the pod's containers have all stopped (what `logs --follow` waits for).
pub fn finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}
