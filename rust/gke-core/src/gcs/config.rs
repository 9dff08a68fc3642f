//! The DSS configs of the GCS components (the sync recipe, the access check), read and
//! validated once, every problem named by the field the admin sees.

use serde::Deserialize;
use serde_json::Value;

use crate::dss_config;
use crate::error::{GkeError, Problem, Result};
use crate::gcs::client::GcsOptions;
use crate::gcs::location::GcsLocation;
use crate::gcs::sync::{Direction, SyncOptions};

const KEY_FIELD: &str = "Service-account key";

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecipeConfig {
    bucket: String,
    prefix: String,
    direction: String,
    delete_extra: bool,
    dry_run: bool,
    parallelism: Option<i64>,
    service_account_key: String,
    endpoint: String,
}

/// Which of the recipe's folder roles the sync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderRole {
    Input,
    Output,
}

/// The sync recipe's config: what to sync, and where and as whom to reach GCS.
pub fn recipe_options(config: &Value) -> Result<(SyncOptions, GcsOptions)> {
    let raw: RecipeConfig =
        dss_config::parse(config, "recipe").map_err(|p| GkeError::Validation(vec![p]))?;
    let mut problems = Vec::new();
    let location = if raw.bucket.trim().is_empty() {
        problems.push(Problem::new("Bucket", "is required, e.g. my-dss-data"));
        None
    } else {
        GcsLocation::new(&raw.bucket, &raw.prefix, "Bucket")
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
    let parallelism = raw.parallelism.unwrap_or(16);
    if !(1..=64).contains(&parallelism) {
        problems.push(Problem::new(
            "Parallel transfers",
            format!("{parallelism} is out of range: use 1 to 64"),
        ));
    }
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    let (Some(location), Some(direction)) = (location, direction) else {
        unreachable!("problems were reported above");
    };
    Ok((
        SyncOptions {
            location,
            direction,
            delete_extra: raw.delete_extra,
            dry_run: raw.dry_run,
            parallelism: parallelism as usize,
        },
        GcsOptions {
            endpoint: Some(raw.endpoint).filter(|e| !e.trim().is_empty()),
            key: raw.service_account_key,
            key_field: KEY_FIELD.to_string(),
        },
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
    service_account_key: String,
    endpoint: String,
}

/// The access check's config: the buckets (`bucket`, `bucket/prefix` or `gs://…`) and how to
/// reach GCS.
pub fn access_options(config: &Value) -> Result<(Vec<GcsLocation>, GcsOptions)> {
    let raw: AccessConfig =
        dss_config::parse(config, "action").map_err(|p| GkeError::Validation(vec![p]))?;
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
    Ok((
        locations,
        GcsOptions {
            endpoint: Some(raw.endpoint).filter(|e| !e.trim().is_empty()),
            key: raw.service_account_key,
            key_field: KEY_FIELD.to_string(),
        },
    ))
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
        let (sync, gcs) = recipe_options(&json!({
            "bucket": "dss-data", "prefix": "in", "direction": "from_gcs",
            "delete_extra": true, "parallelism": null, "service_account_key": ""
        }))
        .unwrap();
        assert_eq!(sync.location.to_string(), "gs://dss-data/in/");
        assert_eq!(sync.direction, Direction::FromGcs);
        assert!(sync.delete_extra && !sync.dry_run);
        assert_eq!(sync.parallelism, 16);
        assert_eq!(gcs.endpoint, None);
        assert_eq!(
            folder_role(Direction::FromGcs, true, true).unwrap(),
            FolderRole::Output
        );
        assert!(folder_role(Direction::ToGcs, false, true).is_err());
    }

    #[test]
    fn every_problem_is_listed() {
        let e = recipe_options(&json!({"bucket": "", "direction": "up", "parallelism": 0}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("The configuration has 3 problems"), "{e}");
        assert!(e.contains("Bucket: is required") && e.contains("Direction: \"up\""));
        assert!(e.contains("Parallel transfers: 0 is out of range"), "{e}");
        let e = access_options(&json!({"buckets": ["ok-bucket", "Bad"]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Buckets › #2: bucket name \"Bad\""), "{e}");
        let (locs, _) = access_options(&json!({"buckets": ["b1b", "gs://b2b/x"]})).unwrap();
        assert_eq!(locs[1].prefix, "x/");
    }
}
