//! The kinds each cluster's API serves: group, version, names and scope, the table that
//! discovery, OpenAPI, routing and validation all read.

/// One served resource (`pods`, `daemonsets`, …).
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Subresources served under `{plural}/{name}/{sub}`.
    pub subresources: &'static [&'static str],
}

const fn core(
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> Resource {
    Resource {
        group: "",
        version: "v1",
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        subresources: &[],
    }
}

pub const RBAC: &str = "rbac.authorization.k8s.io";

pub static RESOURCES: &[Resource] = &[
    core("Namespace", "namespaces", "namespace", false, &["ns"]),
    core("Node", "nodes", "node", false, &["no"]),
    Resource {
        subresources: &["log", "status"],
        ..core("Pod", "pods", "pod", true, &["po"])
    },
    core(
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
    ),
    core("Secret", "secrets", "secret", true, &[]),
    core("ConfigMap", "configmaps", "configmap", true, &["cm"]),
    core("Event", "events", "event", true, &["ev"]),
    Resource {
        group: "apps",
        subresources: &["status"],
        ..core("DaemonSet", "daemonsets", "daemonset", true, &["ds"])
    },
    Resource {
        group: RBAC,
        ..core("ClusterRole", "clusterroles", "clusterrole", false, &[])
    },
    Resource {
        group: RBAC,
        ..core(
            "ClusterRoleBinding",
            "clusterrolebindings",
            "clusterrolebinding",
            false,
            &[],
        )
    },
    Resource {
        group: RBAC,
        ..core("Role", "roles", "role", true, &[])
    },
    Resource {
        group: RBAC,
        ..core("RoleBinding", "rolebindings", "rolebinding", true, &[])
    },
];

/// What every served resource allows.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl Resource {
    /// `v1` or `apps/v1`, as objects carry it.
    pub fn api_version(&self) -> String {
        group_version(self.group, self.version)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// `pods` or `daemonsets.apps`, as error messages and `details.group` name the resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn by_plural(plural: &str) -> &'static Resource {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .expect("a resource of the table")
}

/// Groups in the order discovery lists them (the core group is served under `/api`).
pub fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = Vec::new();
    for resource in RESOURCES {
        if !resource.group.is_empty() && !groups.contains(&resource.group) {
            groups.push(resource.group);
        }
    }
    groups
}
