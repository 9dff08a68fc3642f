//! A cluster's objects, kept as JSON by resource and `namespace/name`, with the bookkeeping the
//! API server does on every write: resourceVersion, uid, creationTimestamp, generation, and the
//! recent changes that watches replay.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::pods::PodRun;
use super::resources::{self, Resource};

/// How many recent changes a watch can resume from; older resourceVersions get 410 Gone.
const HISTORY: usize = 2000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Store {
    /// The last resourceVersion handed out (one counter per cluster, as etcd's revision).
    pub resource_version: u64,
    /// By resource plural (`pods`), then `namespace/name` (`/name` for cluster-scoped objects).
    pub objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// What the emulated kubelet does with each pod, by `namespace/name`.
    pub pods: BTreeMap<String, PodRun>,
    /// Whether the objects a new cluster starts with were created.
    pub seeded: bool,
    /// Recent changes, oldest first; not persisted (a watch after a restart starts over).
    #[serde(skip)]
    pub events: VecDeque<Event>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub resource: &'static str,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    pub object: Value,
    pub resource_version: u64,
}

pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

pub fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace_of(object: &Value) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

impl Store {
    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(resource.plural)?
            .get(&key(namespace, name))
    }

    /// Objects of a resource, in one namespace or (None) all.
    pub fn list<'a>(
        &'a self,
        resource: &Resource,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .get(resource.plural)
            .into_iter()
            .flat_map(|objects| objects.values())
            .filter(move |o| namespace.is_none_or(|ns| namespace_of(o) == ns))
    }

    fn next_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// Stores a new object, filling what the server assigns; returns it as stored.
    pub fn create(&mut self, resource: &'static Resource, mut object: Value, now_ms: u64) -> Value {
        let version = self.next_version();
        let metadata = &mut object["metadata"];
        metadata["uid"] = Value::from(uid(version, now_ms));
        metadata["resourceVersion"] = Value::from(version.to_string());
        metadata["creationTimestamp"] = Value::from(k8s_time(now_ms));
        if has_generation(resource) {
            metadata["generation"] = Value::from(1);
        }
        if let Some(m) = metadata.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("selfLink");
        }
        object["apiVersion"] = Value::from(resource.api_version());
        object["kind"] = Value::from(resource.kind);
        let key = key(namespace_of(&object), name_of(&object));
        self.objects
            .entry(resource.plural.to_string())
            .or_default()
            .insert(key, object.clone());
        self.record(resource, "ADDED", &object, version);
        object
    }

    /// Replaces a stored object; nothing changes (not even the resourceVersion) when the new
    /// content equals the old, as with the real API server. Bumps `generation` when the spec changes.
    pub fn update(&mut self, resource: &'static Resource, mut object: Value) -> Value {
        let key = key(namespace_of(&object), name_of(&object));
        let Some(old) = self.objects.get(resource.plural).and_then(|o| o.get(&key)) else {
            return object;
        };
        for field in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
            object["metadata"][field] = old["metadata"][field].clone();
        }
        if object["metadata"]["generation"].is_null() {
            object["metadata"]
                .as_object_mut()
                .map(|m| m.remove("generation"));
        }
        object["apiVersion"] = Value::from(resource.api_version());
        object["kind"] = Value::from(resource.kind);
        if &object == old {
            return object;
        }
        if has_generation(resource) && object["spec"] != old["spec"] {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            object["metadata"]["generation"] = Value::from(generation);
        }
        let version = self.next_version();
        object["metadata"]["resourceVersion"] = Value::from(version.to_string());
        self.objects
            .entry(resource.plural.to_string())
            .or_default()
            .insert(key, object.clone());
        self.record(resource, "MODIFIED", &object, version);
        object
    }

    pub fn remove(
        &mut self,
        resource: &'static Resource,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let mut object = self
            .objects
            .get_mut(resource.plural)?
            .remove(&key(namespace, name))?;
        if resource.plural == "pods" {
            self.pods.remove(&key(namespace, name));
        }
        let version = self.next_version();
        object["metadata"]["resourceVersion"] = Value::from(version.to_string());
        self.record(resource, "DELETED", &object, version);
        Some(object)
    }

    fn record(
        &mut self,
        resource: &'static Resource,
        kind: &'static str,
        object: &Value,
        version: u64,
    ) {
        if self.events.len() == HISTORY {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            resource: resource.plural,
            kind,
            object: object.clone(),
            resource_version: version,
        });
    }

    /// Changes after `version` to objects of `resource`, or None when they are no longer all
    /// remembered (the client must list again).
    pub fn events_since(&self, resource: &str, version: u64) -> Option<Vec<Event>> {
        if version < self.resource_version {
            let oldest = self.events.front().map_or(u64::MAX, |e| e.resource_version);
            if oldest > version + 1 {
                return None;
            }
        }
        Some(
            self.events
                .iter()
                .filter(|e| e.resource == resource && e.resource_version > version)
                .cloned()
                .collect(),
        )
    }

    /// Every stored object of every resource, with its resource, for bulk work (namespace deletion).
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<(&'static Resource, String)> {
        let mut found = Vec::new();
        for resource in resources::RESOURCES.iter().filter(|r| r.namespaced) {
            for object in self.list(resource, Some(namespace)) {
                found.push((resource, name_of(object).to_string()));
            }
        }
        found
    }
}

/// Kinds whose `metadata.generation` counts spec changes (pods since Kubernetes 1.33).
fn has_generation(resource: &Resource) -> bool {
    matches!(resource.plural, "pods" | "daemonsets")
}

/// Kubernetes timestamps: RFC 3339 in UTC, whole seconds.
pub fn k8s_time(ms: u64) -> String {
    let full = crate::timeline::rfc3339(ms);
    match full.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => full,
    }
}

/// A version-4-shaped UUID, unique per cluster and stable for a given write.
fn uid(version: u64, now_ms: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in now_ms
        .to_le_bytes()
        .iter()
        .chain(version.to_le_bytes().iter())
    {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let hex = format!("{h:016x}{:016x}", version ^ (now_ms << 16));
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `{"kind": "PodList", …}` of the given items at the store's current version.
pub fn list_object(resource: &Resource, items: Vec<Value>, version: u64) -> Value {
    json!({
        "kind": resource.list_kind(),
        "apiVersion": resource.api_version(),
        "metadata": {"resourceVersion": version.to_string()},
        "items": items,
    })
}
