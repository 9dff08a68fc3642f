//! The `kube` crate against a cluster's API: what the plugin does in a cluster (bind its identity
//! as cluster admin, list nodes and pods, run a short-lived pod), and the errors it must handle.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

use crate::cluster_api::*;
use crate::support::*;

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> (u16, String, String) {
    match result {
        Err(kube::Error::Api(status)) => {
            (status.code, status.reason.clone(), status.message.clone())
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_binds_lists_and_runs_a_pod() {
    let emulator = Emulator::start();
    let cluster = running_cluster(&emulator, "kube").await;
    let client = client(&cluster).await;

    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "gke-native-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dss@test-project.iam.gserviceaccount.com"}],
    }))
    .unwrap();
    let apply = PatchParams::apply("gke-native").force();
    let first = bindings
        .patch("gke-native-admin", &apply, &Patch::Apply(&binding))
        .await
        .unwrap();
    let second = bindings
        .patch("gke-native-admin", &apply, &Patch::Apply(&binding))
        .await
        .unwrap();
    assert_eq!(
        first.metadata.resource_version, second.metadata.resource_version,
        "applying again changes nothing"
    );
    assert_eq!(
        second.metadata.managed_fields.unwrap()[0]
            .manager
            .as_deref(),
        Some("gke-native")
    );
    let (code, reason, message) =
        api_error(bindings.create(&PostParams::default(), &binding).await);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"), "{message}");

    let nodes: Api<Node> = Api::all(client.clone());
    let pool = nodes
        .list(&ListParams::default().labels("cloud.google.com/gke-nodepool=pool-1"))
        .await
        .unwrap();
    assert_eq!(pool.items.len(), 2);
    assert!(nodes
        .list(&ListParams::default().labels("cloud.google.com/gke-nodepool=other"))
        .await
        .unwrap()
        .items
        .is_empty());

    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), "kube-system");
    let ds: DaemonSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "busybox"}]}}},
    }))
    .unwrap();
    let created = daemonsets
        .patch("agent", &apply, &Patch::Apply(&ds))
        .await
        .unwrap();
    let again = daemonsets
        .patch("agent", &apply, &Patch::Apply(&ds))
        .await
        .unwrap();
    assert_eq!(created.metadata.uid, again.metadata.uid);
    assert_eq!(again.metadata.generation, Some(1));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "probe-"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "probe", "image": "busybox", "command": ["sh", "-c", "echo ok"]}]},
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    let name = created.metadata.name.clone().unwrap();
    assert!(
        name.starts_with("probe-") && name.len() == "probe-".len() + 5,
        "{name}"
    );
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let watch = pods
        .watch(
            &WatchParams::default().fields(&format!("metadata.name={name}")),
            created.metadata.resource_version.as_deref().unwrap(),
        )
        .await
        .unwrap();
    futures_util::pin_mut!(watch);
    let mut phases = Vec::new();
    while let Some(event) = futures_util::StreamExt::next(&mut watch).await {
        if let WatchEvent::Modified(pod) = event.unwrap() {
            let phase = pod.status.unwrap().phase.unwrap();
            if phases.last() != Some(&phase) {
                phases.push(phase.clone());
            }
            if phase == "Succeeded" {
                break;
            }
        }
    }
    assert_eq!(
        phases.last().map(String::as_str),
        Some("Succeeded"),
        "{phases:?}"
    );
    assert!(phases.contains(&"Running".to_string()), "{phases:?}");
    assert_eq!(
        pods.logs(&name, &LogParams::default()).await.unwrap(),
        "sh -c echo ok\n"
    );
    let done = pods.get(&name).await.unwrap();
    let node = done.spec.unwrap().node_name.unwrap();
    let on_node = pods
        .list(
            &ListParams::default().fields(&format!("spec.nodeName={node},status.phase=Succeeded")),
        )
        .await
        .unwrap();
    assert_eq!(on_node.items.len(), 1);
    assert!(pods
        .list(&ListParams::default().fields("status.phase=Running"))
        .await
        .unwrap()
        .items
        .is_empty());
    pods.delete(&name, &DeleteParams::background())
        .await
        .unwrap();
    let (code, _, message) = api_error(pods.get(&name).await);
    assert_eq!(code, 404);
    assert_eq!(message, format!("pods \"{name}\" not found"));
}

#[tokio::test]
async fn kube_sees_scripted_failures_strict_validation_and_422() {
    let emulator = Emulator::start();
    let cluster = running_cluster(&emulator, "strict").await;
    let client = client(&cluster).await;
    emulator
        .post_admin("pods/script", json!({"cluster": "strict", "namespace": "default", "phase": "Failed", "log": "Traceback: boom\n", "runSeconds": 0}))
        .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "python:3.11"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let failed = eventually("the pod to fail", || async {
        let pod = pods.get("job").await.unwrap();
        (pod.status.as_ref()?.phase.as_deref()? == "Failed").then_some(pod)
    })
    .await;
    let state = failed.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap();
    assert_eq!(state.terminated.unwrap().exit_code, 1);
    assert_eq!(
        pods.logs("job", &LogParams::default()).await.unwrap(),
        "Traceback: boom\n"
    );

    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"));
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let bogus: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}, "dataa": {"x": "y"},
    }))
    .unwrap();
    let (code, _, message) = api_error(dynamic.create(&PostParams::default(), &bogus).await);
    assert_eq!(code, 400);
    assert!(
        message.ends_with("strict decoding error: unknown field \"dataa\""),
        "{message}"
    );

    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let bad: ConfigMap = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}),
    )
    .unwrap();
    let (code, reason, message) = api_error(maps.create(&PostParams::default(), &bad).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"), "{message}");
    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "missing");
    let ok: ConfigMap = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}}),
    )
    .unwrap();
    let (code, _, message) = api_error(elsewhere.create(&PostParams::default(), &ok).await);
    assert_eq!(
        (code, message.as_str()),
        (404, "namespaces \"missing\" not found")
    );
}
