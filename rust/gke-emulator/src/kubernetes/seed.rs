//! What a new cluster's API holds before anyone writes to it: the system namespaces, their
//! `default` service accounts, and the built-in cluster roles and bindings.

use serde_json::{json, Value};

use super::resources::by_plural;
use super::store::Store;

pub fn seed(store: &mut Store, now_ms: u64) {
    if store.seeded {
        return;
    }
    store.seeded = true;
    for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        store.create(by_plural("namespaces"), namespace_object(namespace), now_ms);
        service_account_for(store, namespace, now_ms);
    }
    let all = json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                     {"nonResourceURLs": ["*"], "verbs": ["*"]}]);
    let read = json!([{"apiGroups": ["", "apps", "batch"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]);
    let edit = json!([{"apiGroups": ["", "apps", "batch"], "resources": ["*"],
                       "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}]);
    for (name, rules) in [
        ("cluster-admin", all),
        ("admin", edit.clone()),
        ("edit", edit),
        ("view", read),
    ] {
        let role = json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules,
        });
        store.create(by_plural("clusterroles"), role, now_ms);
    }
    let binding = json!({
        "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}],
    });
    store.create(by_plural("clusterrolebindings"), binding, now_ms);
}

pub fn namespace_object(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// The `default` service account the controller manager creates in every namespace.
pub fn service_account_for(store: &mut Store, namespace: &str, now_ms: u64) {
    let resource = by_plural("serviceaccounts");
    if store.get(resource, namespace, "default").is_none() {
        let account = json!({"metadata": {"name": "default", "namespace": namespace}});
        store.create(resource, account, now_ms);
    }
}
