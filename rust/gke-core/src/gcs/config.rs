//! The DSS configs of the GCS components (the sync recipe, the access check), read and
//! validated once, every problem named by the field the admin sees. Both reach GCS as the
//! cluster lifecycle reaches GKE: the "GKE connection" preset's service-account key, else the
//! DSS host's default credentials; the endpoint comes from the plugin settings.

use serde::Deserialize;
use serde_json::Value;

use crate::config::connection::ConnectionRequest;
use crate::config::form;
use crate::config::record::DssCluster;
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Problem, Result};
use crate::gcs::client::GcsOptions;
use crate::gcs::location::GcsLocation;
use crate::gcs::resumable;
use crate::gcs::sync::{check_parallelism, Direction, Given, SyncOptions, DEFAULT_PARALLELISM};

const KEY_FIELD: &str = "GKE connection › Service-account key";

/// How to reach GCS: the connection preset's key (blank or no preset: the default chain) and
/// the plugin settings' endpoint.
fn gcs_options(connection: &Value, settings: &PluginSettings) -> Result<GcsOptions> {
    let connection = if connection.is_null() {
        ConnectionRequest::default()
    } else {
        ConnectionRequest::from_dss(connection).map_err(|p| GkeError::Validation(vec![p]))?
    };
    Ok(GcsOptions {
        endpoint: settings.storage_endpoint(),
        key: connection.service_account_key,
        key_field: KEY_FIELD.to_string(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecipeConfig {
    bucket: String,
    prefix: String,
    direction: String,
    delete_extra: bool,
    dry_run: bool,
    parallelism: Option<i64>,
    connection: Value,
}

/// Which of the recipe's folder roles the sync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderRole {
    Input,
    Output,
}

/// The sync recipe's config and the plugin settings: what to sync, and where and as whom to
/// reach GCS.
pub fn recipe_options(
    config: &Value,
    settings: &PluginSettings,
) -> Result<(SyncOptions, GcsOptions)> {
    let raw: RecipeConfig = form::parse(config, "recipe")?;
    let mut problems = Vec::new();
    let location = if raw.bucket.trim().is_empty() {
        problems.push(Problem::new("Bucket", "is required, e.g. my-dss-data"));
        None
    } else {
        GcsLocation::from_fields(&raw.bucket, "Bucket", &raw.prefix, "Prefix")
            .map_err(|e| collect(e, &mut problems))
            .ok()
    };
    let direction = Direction::parse(
        if raw.direction.is_empty() {
            "to_gcs"
        } else {
            &raw.direction
        },
        "Direction",
    )
    .map_err(|e| collect(e, &mut problems))
    .ok();
    let parallelism = raw.parallelism.unwrap_or(DEFAULT_PARALLELISM as i64);
    let parallelism = check_parallelism(
        Given::Whole(Some(parallelism)),
        &parallelism,
        "Parallel transfers",
    )
    .map_err(|p| problems.push(p))
    .ok();
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    let (Some(location), Some(direction), Some(parallelism)) = (location, direction, parallelism)
    else {
        unreachable!("problems were reported above");
    };
    let gcs = gcs_options(&raw.connection, settings)?;
    Ok((
        SyncOptions {
            location,
            direction,
            delete_extra: raw.delete_extra,
            dry_run: raw.dry_run,
            parallelism,
            state_dir: resumable::default_state_dir(),
        },
        gcs,
    ))
}

/// The folder a direction needs: the input folder to upload, the output folder to download.
pub fn folder_role(direction: Direction, has_input: bool, has_output: bool) -> Result<FolderRole> {
    match (direction, has_input, has_output) {
        (Direction::ToGcs, true, _) => Ok(FolderRole::Input),
        (Direction::FromGcs, _, true) => Ok(FolderRole::Output),
        (Direction::ToGcs, false, _) => Err(GkeError::validation(
            "Direction",
            "\"folder → GCS\" needs a managed folder as the recipe's input",
        )),
        (Direction::FromGcs, _, false) => Err(GkeError::validation(
            "Direction",
            "\"GCS → folder\" needs a managed folder as the recipe's output",
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AccessConfig {
    buckets: Vec<String>,
    connection: Value,
}

/// The access check's config and the plugin settings: the buckets (`bucket`, `bucket/prefix`
/// or `gs://…`) and how to reach GCS.
pub fn access_options(
    config: &Value,
    settings: &PluginSettings,
) -> Result<(Vec<GcsLocation>, GcsOptions)> {
    let raw: AccessConfig = form::parse(config, "action")?;
    let mut problems = Vec::new();
    let mut locations = Vec::new();
    for (i, entry) in raw.buckets.iter().enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let field = format!("Buckets › #{}", i + 1);
        let url = if entry.starts_with("gs://") {
            entry.to_string()
        } else {
            format!("gs://{entry}")
        };
        match GcsLocation::parse(&url, &field) {
            Ok(l) => locations.push(l),
            Err(e) => collect(e, &mut problems),
        }
    }
    if locations.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            "Buckets",
            "list at least one bucket, e.g. my-dss-data or gs://my-dss-data/managed",
        ));
    }
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    Ok((locations, gcs_options(&raw.connection, settings)?))
}

/// The access check as a notebook calls it: the buckets, a key (JSON text or a path; blank: the
/// default chain) and an endpoint (`None`: `STORAGE_EMULATOR_HOST`, else GCS); a bad key is
/// named `key`.
pub fn access_options_for(
    buckets: &[String],
    key: &str,
    endpoint: Option<String>,
) -> Result<(Vec<GcsLocation>, GcsOptions)> {
    let config = serde_json::json!({
        "buckets": buckets, "connection": {"service_account_key": key}
    });
    let (locations, options) = access_options(&config, &PluginSettings::default())?;
    let options = GcsOptions {
        endpoint,
        key_field: "key".to_string(),
        ..options
    };
    Ok((locations, options))
}

/// "Check GCS access" run on a DSS cluster: the action's connection preset, else the cluster's
/// (as DSS resolves it now), with the cluster's plugin settings.
pub fn access_options_on(
    config: &Value,
    cluster: &DssCluster,
) -> Result<(Vec<GcsLocation>, GcsOptions)> {
    let mut config = config.clone();
    if let Some(map) = config.as_object_mut() {
        let chosen = match map.get("connection") {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => !m.is_empty(),
            Some(_) => true,
        };
        if !chosen {
            map.insert("connection".into(), cluster.config["connection"].clone());
        }
    }
    access_options(&config, &cluster.settings)
}

fn collect(e: GkeError, problems: &mut Vec<Problem>) {
    match e {
        GkeError::Validation(ps) => problems.extend(ps),
        other => problems.push(Problem::new("", other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recipe_config_with_defaults() {
        let settings =
            PluginSettings::from_dss(&json!({"storage_endpoint": "http://h:1"})).unwrap();
        let (sync, gcs) = recipe_options(
            &json!({
                "bucket": "dss-data", "prefix": "in", "direction": "from_gcs",
                "delete_extra": true, "parallelism": null,
                "connection": {"project_id": "", "service_account_key": "/keys/sa.json"}
            }),
            &settings,
        )
        .unwrap();
        assert_eq!(sync.location.to_string(), "gs://dss-data/in/");
        assert_eq!(sync.direction, Direction::FromGcs);
        assert!(sync.delete_extra && !sync.dry_run);
        assert_eq!(sync.parallelism, 16);
        assert_eq!(gcs.endpoint.as_deref(), Some("http://h:1"));
        assert_eq!(gcs.key, "/keys/sa.json");
        assert_eq!(gcs.key_field, "GKE connection › Service-account key");
        assert_eq!(
            folder_role(Direction::FromGcs, true, true).unwrap(),
            FolderRole::Output
        );
        assert!(folder_role(Direction::ToGcs, false, true).is_err());
    }

    #[test]
    fn every_problem_is_listed() {
        let none = PluginSettings::default();
        let e = recipe_options(
            &json!({"bucket": "", "direction": "up", "parallelism": 0}),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("The configuration has 3 problems"), "{e}");
        assert!(e.contains("Bucket: is required") && e.contains("Direction: \"up\""));
        assert!(e.contains("Parallel transfers: 0 is out of range"), "{e}");
        let e = recipe_options(&json!({"bucket": "ok-bucket", "prefix": "in\0x"}), &none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Prefix: prefix \"in\\0x\" contains"), "{e}");
        let e = access_options(&json!({"buckets": ["ok-bucket", "Bad"]}), &none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Buckets › #2: bucket name \"Bad\""), "{e}");
        let (locs, gcs) =
            access_options(&json!({"buckets": ["b1b", "gs://b2b/x"]}), &none).unwrap();
        assert_eq!(locs[1].prefix, "x/");
        assert_eq!((gcs.endpoint, gcs.key.as_str()), (None, ""));
    }
}
