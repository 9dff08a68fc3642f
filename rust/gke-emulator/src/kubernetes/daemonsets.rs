//! The DaemonSet controller's view: how many nodes each DaemonSet targets, reported as if its pods
//! ran there and were ready (no pods are created), so `kubectl rollout status` completes.

use serde_json::{json, Value};

use super::pods::{selects, tolerates};
use super::resources::by_plural;
use super::store::Store;

pub fn settle(store: &mut Store) {
    let resource = by_plural("daemonsets");
    let nodes: Vec<Value> = store.list(by_plural("nodes"), None).cloned().collect();
    let sets: Vec<Value> = store.list(resource, None).cloned().collect();
    for mut set in sets {
        let template = &set["spec"]["template"]["spec"];
        let wanted = nodes.iter().filter(|n| fits(template, n)).count();
        set["status"] = json!({
            "currentNumberScheduled": wanted,
            "desiredNumberScheduled": wanted,
            "numberAvailable": wanted,
            "numberMisscheduled": 0,
            "numberReady": wanted,
            "updatedNumberScheduled": wanted,
            "observedGeneration": set["metadata"]["generation"],
        });
        if wanted == 0 {
            if let Some(status) = set["status"].as_object_mut() {
                status.remove("numberAvailable");
            }
        }
        store.update(resource, set);
    }
}

/// A node runs the DaemonSet's pod if its selector matches and its taints are tolerated.
fn fits(template: &Value, node: &Value) -> bool {
    selects(template, node) && tolerates(template, node)
}
