//! Real kubectl against a cluster created through the GKE surface.

use serde_json::{json, Value};

use crate::cluster_api::*;
use crate::support::*;

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-setup
  namespace: kube-system
  labels: {app: node-setup}
spec:
  selector:
    matchLabels: {app: node-setup}
  template:
    metadata:
      labels: {app: node-setup}
    spec:
      tolerations:
      - operator: Exists
      containers:
      - name: main
        image: busybox:1.36
        args: [sleep, infinity]
        env:
        - {name: MODE, value: one}
";

#[tokio::test]
async fn kubectl_reads_nodes_applies_binds_runs_and_reads_logs() {
    let emulator = Emulator::start();
    let cluster = running_cluster(&emulator, "kubectl").await;
    let dir = TempDir::new("kubectl");
    let kubectl = Kubectl::new(&dir.0, &cluster);

    let nodes: Value =
        serde_json::from_str(&kubectl.ok(&["get", "nodes", "-o", "json"], None)).unwrap();
    let items = nodes["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for node in items {
        assert_eq!(
            node["metadata"]["labels"]["cloud.google.com/gke-nodepool"],
            "pool-1"
        );
        assert_eq!(
            node["metadata"]["labels"]["node.kubernetes.io/instance-type"],
            "e2-standard-4"
        );
        let ready = node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(node["status"]["capacity"]["cpu"], "4");
    }

    assert!(kubectl
        .ok(&["apply", "-f", "-"], Some(DAEMONSET))
        .contains("daemonset.apps/node-setup created"));
    assert!(kubectl
        .ok(&["apply", "-f", "-"], Some(DAEMONSET))
        .contains("daemonset.apps/node-setup unchanged"));
    let changed = DAEMONSET.replace("value: one", "value: two");
    assert!(kubectl
        .ok(&["apply", "-f", "-"], Some(&changed))
        .contains("configured"));
    let ds: Value = serde_json::from_str(&kubectl.ok(
        &["get", "ds", "node-setup", "-n", "kube-system", "-o", "json"],
        None,
    ))
    .unwrap();
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "MODE", "value": "two"}])
    );
    assert_eq!(ds["metadata"]["generation"], 2);
    assert_eq!(ds["status"]["desiredNumberScheduled"], 2);
    kubectl.ok(
        &[
            "rollout",
            "status",
            "ds/node-setup",
            "-n",
            "kube-system",
            "--timeout=10s",
        ],
        None,
    );
    let (ok, _, err) = kubectl.run(
        &["apply", "-f", "-"],
        Some(&DAEMONSET.replace("  selector:", "  selectr: {}\n  selector:")),
    );
    assert!(
        !ok && err.contains("strict decoding error: unknown field \"spec.selectr\""),
        "{err}"
    );

    let user = "dss@test-project.iam.gserviceaccount.com";
    let binding = format!("--user={user}");
    kubectl.ok(
        &[
            "create",
            "clusterrolebinding",
            "dss-admin",
            "--clusterrole=cluster-admin",
            &binding,
        ],
        None,
    );
    let (ok, _, err) = kubectl.run(
        &[
            "create",
            "clusterrolebinding",
            "dss-admin",
            "--clusterrole=cluster-admin",
            &binding,
        ],
        None,
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let crb: Value = serde_json::from_str(&kubectl.ok(
        &["get", "clusterrolebinding", "dss-admin", "-o", "json"],
        None,
    ))
    .unwrap();
    assert_eq!(crb["subjects"][0]["name"], user);
    assert_eq!(crb["roleRef"]["name"], "cluster-admin");

    kubectl.ok(
        &[
            "run",
            "hello",
            "--image=busybox",
            "--restart=Never",
            "--",
            "echo",
            "hello",
            "world",
        ],
        None,
    );
    let phase = eventually("the pod to succeed", || async {
        let phase = kubectl.ok(
            &["get", "pod", "hello", "-o", "jsonpath={.status.phase}"],
            None,
        );
        (phase == "Succeeded").then_some(phase)
    })
    .await;
    assert_eq!(phase, "Succeeded");
    assert_eq!(kubectl.ok(&["logs", "hello"], None), "echo hello world\n");
    emulator
        .post_admin("pods/script", json!({"namePrefix": "doomed", "phase": "Failed", "log": "boom\n", "exitCode": 3, "runSeconds": 0.1}))
        .await;
    kubectl.ok(
        &[
            "run",
            "doomed",
            "--image=busybox",
            "--restart=Never",
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(kubectl.ok(&["logs", "-f", "doomed"], None), "boom\n");
    let pod: Value =
        serde_json::from_str(&kubectl.ok(&["get", "pod", "doomed", "-o", "json"], None)).unwrap();
    assert_eq!(pod["status"]["phase"], "Failed");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
    kubectl.ok(&["delete", "pod", "hello", "doomed"], None);
    let (ok, _, err) = kubectl.run(&["get", "pod", "hello"], None);
    assert!(!ok && err.contains("pods \"hello\" not found"), "{err}");

    let calls = api_calls(&emulator).await;
    assert!(calls
        .iter()
        .all(|c| c["identity"] == "test-admin@gke-emulator.local"));
    assert!(calls
        .iter()
        .all(|c| c["headers"]["authorization"] == "Bearer [redacted]"));
}
