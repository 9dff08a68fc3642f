//! Defaults the API server fills in on create, so objects read back as they do from GKE.

use serde_json::{json, Value};

use crate::json_path::set_default;

pub fn apply(kind: &str, object: &mut Value) {
    match kind {
        "Pod" => {
            pod_spec(&mut object["spec"]);
            set_default(
                &mut object["spec"],
                "/serviceAccountName",
                Value::from("default"),
            );
            let account = object["spec"]["serviceAccountName"].clone();
            set_default(&mut object["spec"], "/serviceAccount", account);
            set_default(
                &mut object["spec"],
                "/enableServiceLinks",
                Value::from(true),
            );
            set_default(
                &mut object["spec"],
                "/preemptionPolicy",
                Value::from("PreemptLowerPriority"),
            );
            set_default(&mut object["spec"], "/priority", Value::from(0));
            // The DefaultTolerationSeconds admission plugin adds these to every pod.
            if object["spec"]["tolerations"].is_null() {
                object["spec"]["tolerations"] = json!([
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                ]);
            }
            set_default(object, "/status/phase", Value::from("Pending"));
            set_default(object, "/status/qosClass", Value::from("BestEffort"));
        }
        "DaemonSet" => {
            let spec = &mut object["spec"];
            pod_spec(&mut spec["template"]["spec"]);
            set_default(spec, "/revisionHistoryLimit", Value::from(10));
            set_default(
                spec,
                "/updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
        }
        "Secret" => {
            set_default(object, "/type", Value::from("Opaque"));
            // stringData is write-only: the server merges it into data, base64-encoded.
            if let Some(Value::Object(strings)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                use base64::Engine;
                for (key, value) in strings {
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(value.as_str().unwrap_or_default());
                    object["data"][key] = Value::from(encoded);
                }
            }
        }
        "Namespace" => {
            let name = object["metadata"]["name"].clone();
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            set_default(object, "/spec/finalizers", json!(["kubernetes"]));
            object["status"] = json!({"phase": "Active"});
        }
        _ => {}
    }
}

fn pod_spec(spec: &mut Value) {
    set_default(spec, "/restartPolicy", Value::from("Always"));
    set_default(spec, "/terminationGracePeriodSeconds", Value::from(30));
    set_default(spec, "/dnsPolicy", Value::from("ClusterFirst"));
    set_default(spec, "/securityContext", json!({}));
    set_default(spec, "/schedulerName", Value::from("default-scheduler"));
    for field in ["containers", "initContainers"] {
        for container in spec[field].as_array_mut().into_iter().flatten() {
            let image = container["image"].as_str().unwrap_or_default();
            let tagged = image
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':') || last.contains('@'));
            let pull = if !tagged || image.ends_with(":latest") {
                "Always"
            } else {
                "IfNotPresent"
            };
            set_default(container, "/imagePullPolicy", Value::from(pull));
            set_default(
                container,
                "/terminationMessagePath",
                Value::from("/dev/termination-log"),
            );
            set_default(container, "/terminationMessagePolicy", Value::from("File"));
            set_default(container, "/resources", json!({}));
        }
    }
}
