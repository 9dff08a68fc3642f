//! What Compute Engine offers where, and what GKE offers: machine, accelerator and disk types by
//! zone (Compute's `aggregated/{collection}` lists, filtered by name) and GKE's `serverConfig`.
//! A small, realistic subset: common machine families in every emulated zone, GPUs only where
//! Google has them, so that clients can be tested against "not offered here".

use serde_json::{json, Value};

/// The zones the emulator knows, by region.
pub const ZONES: &[&str] = &[
    "europe-west1-b",
    "europe-west1-c",
    "europe-west1-d",
    "europe-west4-a",
    "europe-west4-b",
    "europe-west4-c",
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-central1-f",
    "us-east1-b",
    "us-east1-c",
    "us-east1-d",
];

/// The zones of `region` Compute lists (`regions.get`): the known ones, else `-a`, `-b`, `-c`.
pub fn region_zones(region: &str) -> Vec<String> {
    let known: Vec<String> = ZONES
        .iter()
        .filter(|z| region_of(z) == region)
        .map(|z| z.to_string())
        .collect();
    if known.is_empty() {
        ["a", "b", "c"]
            .iter()
            .map(|z| format!("{region}-{z}"))
            .collect()
    } else {
        known
    }
}

/// Where GKE puts a regional cluster's nodes when the client names no zones: three of the
/// region's zones.
pub fn default_zones(region: &str) -> Vec<String> {
    region_zones(region).into_iter().take(3).collect()
}

/// `GET compute/v1/projects/{p}/regions/{r}`.
pub fn region_json(project: &str, region: &str) -> Value {
    json!({
        "kind": "compute#region",
        "name": region,
        "status": "UP",
        "zones": region_zones(region).iter().map(|z| format!("https://www.googleapis.com/compute/v1/projects/{project}/zones/{z}")).collect::<Vec<_>>(),
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{project}/regions/{region}"),
    })
}

/// Machine families and their sizes (vCPUs), offered in every zone above.
const MACHINE_FAMILIES: &[(&str, &[u32])] = &[
    ("e2-standard", &[2, 4, 8, 16, 32]),
    ("e2-highmem", &[2, 4, 8, 16]),
    ("e2-highcpu", &[2, 4, 8, 16, 32]),
    ("n1-standard", &[1, 2, 4, 8, 16, 32, 64, 96]),
    ("n1-highmem", &[2, 4, 8, 16, 32, 64, 96]),
    ("n2-standard", &[2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
    ("n2-highmem", &[2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
    ("n2-highcpu", &[2, 4, 8, 16, 32, 48, 64, 80, 96]),
    ("n2d-standard", &[2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224]),
    ("c3-standard", &[4, 8, 22, 44, 88, 176]),
];
const SMALL_MACHINES: &[&str] = &["e2-micro", "e2-small", "e2-medium"];

/// GPUs and where they are (a subset of Google's regions): the regions that have one, and the
/// zones of those regions that lack it.
const ACCELERATORS: &[(&str, &[&str], &[&str])] = &[
    (
        "nvidia-tesla-t4",
        &["europe-west1", "europe-west4", "us-central1", "us-east1"],
        &["us-east1-b"],
    ),
    (
        "nvidia-l4",
        &["europe-west1", "europe-west4", "us-central1", "us-east1"],
        &["europe-west1-d", "us-central1-f"],
    ),
    (
        "nvidia-tesla-a100",
        &["europe-west4", "us-central1"],
        &["europe-west4-c"],
    ),
    ("nvidia-tesla-v100", &["europe-west4", "us-central1"], &[]),
];

fn region_of(zone: &str) -> &str {
    zone.rsplit_once('-').map_or(zone, |(region, _)| region)
}

fn accelerator_in(name: &str, zone: &str) -> bool {
    ACCELERATORS.iter().any(|(n, regions, lacking)| {
        *n == name && regions.contains(&region_of(zone)) && !lacking.contains(&zone)
    })
}

const DISK_TYPES: &[&str] = &[
    "pd-standard",
    "pd-balanced",
    "pd-ssd",
    "pd-extreme",
    "hyperdisk-balanced",
];

fn is_machine_type(name: &str) -> bool {
    SMALL_MACHINES.contains(&name)
        || MACHINE_FAMILIES.iter().any(|(family, sizes)| {
            name.strip_prefix(family)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| sizes.contains(&n))
        })
}

/// The zones where `name` of `collection` exists (empty: nowhere, or an unknown collection).
pub fn zones_of(collection: &str, name: &str) -> Vec<&'static str> {
    match collection {
        "machineTypes" if is_machine_type(name) => ZONES.to_vec(),
        "acceleratorTypes" => ZONES
            .iter()
            .copied()
            .filter(|z| accelerator_in(name, z))
            .collect(),
        "diskTypes" if DISK_TYPES.contains(&name) => ZONES.to_vec(),
        _ => Vec::new(),
    }
}

/// Whether Compute offers `name` of `collection` in `zone`; custom machine types (made to
/// order) always are.
pub fn offered(collection: &str, name: &str, zone: &str) -> bool {
    (collection == "machineTypes" && (name.starts_with("custom-") || name.contains("-custom-")))
        || zones_of(collection, name).contains(&zone)
}

/// The name a Compute list filter asks for: `name = "x"`, `name = x`, `name eq x`.
fn filtered_name(filter: &str) -> Option<String> {
    let rest = filter.trim().strip_prefix("name")?.trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix("eq "))?
        .trim();
    Some(rest.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// `GET compute/v1/projects/{p}/aggregated/{collection}?filter=...`, as Compute answers it:
/// every zone as `zones/{zone}`, with the matching entries or a "no results" warning.
pub fn aggregated(project: &str, collection: &str, filter: Option<&str>) -> Option<Value> {
    if !matches!(
        collection,
        "machineTypes" | "acceleratorTypes" | "diskTypes"
    ) {
        return None;
    }
    let name = filter.and_then(filtered_name);
    let mut items = serde_json::Map::new();
    for zone in ZONES {
        let names: Vec<String> = match &name {
            Some(n) if zones_of(collection, n).contains(zone) => vec![n.clone()],
            Some(_) => Vec::new(),
            None => all_names(collection, zone),
        };
        let entry = if names.is_empty() {
            json!({"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'zones/".to_string() + zone + "' on this page."}})
        } else {
            json!({collection: names.iter().map(|n| entry_json(project, collection, zone, n)).collect::<Vec<_>>()})
        };
        items.insert(format!("zones/{zone}"), entry);
    }
    Some(json!({
        "kind": format!("compute#{}AggregatedList", singular(collection)),
        "id": format!("projects/{project}/aggregated/{collection}"),
        "items": items,
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{project}/aggregated/{collection}"),
    }))
}

fn singular(collection: &str) -> &str {
    collection.strip_suffix('s').unwrap_or(collection)
}

fn all_names(collection: &str, zone: &str) -> Vec<String> {
    match collection {
        "machineTypes" => SMALL_MACHINES
            .iter()
            .map(|s| s.to_string())
            .chain(
                MACHINE_FAMILIES
                    .iter()
                    .flat_map(|(family, sizes)| sizes.iter().map(move |n| format!("{family}-{n}"))),
            )
            .collect(),
        "acceleratorTypes" => ACCELERATORS
            .iter()
            .filter(|(n, _, _)| accelerator_in(n, zone))
            .map(|(n, _, _)| n.to_string())
            .collect(),
        _ => DISK_TYPES.iter().map(|s| s.to_string()).collect(),
    }
}

fn entry_json(project: &str, collection: &str, zone: &str, name: &str) -> Value {
    json!({
        "kind": format!("compute#{}", singular(collection)),
        "name": name,
        "zone": zone,
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}/{collection}/{name}"),
    })
}

/// The versions GKE offers (newest first), the default one included.
pub const VERSIONS: &[&str] = &[
    "1.34.1-gke.1431000",
    "1.33.5-gke.1162000",
    "1.32.9-gke.1108000",
    "1.31.13-gke.1023000",
    "1.30.14-gke.1304000",
];
pub const DEFAULT_VERSION: &str = "1.33.5-gke.1162000";
pub const IMAGE_TYPES: &[&str] = &[
    "COS_CONTAINERD",
    "UBUNTU_CONTAINERD",
    "WINDOWS_LTSC_CONTAINERD",
];

/// `GET v1/projects/{p}/locations/{l}/serverConfig`.
pub fn server_config() -> Value {
    let channel = |name: &str, versions: &[&str]| json!({"channel": name, "defaultVersion": versions[0], "validVersions": versions});
    json!({
        "defaultClusterVersion": DEFAULT_VERSION,
        "validNodeVersions": VERSIONS,
        "defaultImageType": "COS_CONTAINERD",
        "validImageTypes": IMAGE_TYPES,
        "validMasterVersions": VERSIONS,
        "channels": [
            channel("RAPID", &VERSIONS[..1]),
            channel("REGULAR", &VERSIONS[1..3]),
            channel("STABLE", &VERSIONS[2..4]),
            channel("EXTENDED", &VERSIONS[3..]),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_zones() {
        assert_eq!(
            filtered_name("name = \"e2-standard-4\"").as_deref(),
            Some("e2-standard-4")
        );
        assert_eq!(
            filtered_name("name eq nvidia-l4").as_deref(),
            Some("nvidia-l4")
        );
        assert!(offered("machineTypes", "n2-highmem-8", "us-east1-b"));
        assert!(!offered("machineTypes", "e2-standard-3", "us-east1-b"));
        assert!(offered("machineTypes", "n2-custom-8-32768", "us-east1-b"));
        assert!(!offered("acceleratorTypes", "nvidia-l4", "europe-west1-d"));
        assert!(offered(
            "acceleratorTypes",
            "nvidia-tesla-t4",
            "europe-west1-d"
        ));
        let list = aggregated("p", "acceleratorTypes", Some("name = \"nvidia-l4\"")).unwrap();
        assert_eq!(
            list["items"]["zones/europe-west1-b"]["acceleratorTypes"][0]["name"],
            "nvidia-l4"
        );
        assert!(list["items"]["zones/europe-west1-d"]["warning"].is_object());
    }
}
