//! The "Push base images" action: DSS's local base images (container-exec and Spark, found by
//! name pattern in the Docker Engine) pushed to `{region}-docker.pkg.dev/{project}/{repository}`,
//! the project and region those of the cluster.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::config::form;
use crate::config::params::{DOCKER_SOCKET, PUSH_PARALLELISM};
use crate::config::record::DssCluster;
use crate::error::{GkeError, Problem, Result};
use crate::push::copy::{push, Progress, PushOptions, PushProgress};
use crate::push::docker_daemon::{glob_match, list_images};
use crate::push::report::{BatchEntry, PushBatch};

/// The repository when neither the action nor the connection preset names one.
pub const DEFAULT_REPOSITORY: &str = "dss-images";

pub const DEFAULT_PATTERNS: [&str; 2] = ["dku-exec-base-*", "dku-spark-base-*"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActionConfig {
    repository: String,
    region: String,
    create_if_missing: Option<bool>,
    image_patterns: Vec<String>,
    docker_socket: String,
    service_account_key: String,
    parallelism: Option<i64>,
}

/// The action's request, validated.
#[derive(Debug, Clone)]
pub struct BaseImagesRequest {
    pub project: String,
    pub region: String,
    pub repository: String,
    pub patterns: Vec<String>,
    pub options: PushOptions,
}

impl BaseImagesRequest {
    /// From the action's config and the DSS cluster as DSS resolves it now (its connection
    /// preset gives the blanks: repository, region, key).
    pub fn from_dss(config: &Value, dss: &DssCluster) -> Result<Self> {
        let raw: ActionConfig = form::parse(config, "action")?;
        let cluster = dss.recorded()?;
        let connection = &dss.connection;
        let settings = &dss.settings;
        let mut problems = Vec::new();
        let repository = match (raw.repository.trim(), connection.repository.trim()) {
            ("", "") => DEFAULT_REPOSITORY.to_string(),
            ("", r) | (r, _) => r.to_string(),
        };
        if let Err(e) = crate::config::names::check_repository_id(&repository) {
            problems.push(Problem::new("Repository", e));
        }
        let region = match raw.region.trim() {
            "" => match (connection.region.trim(), connection.zone.trim()) {
                ("", "") => region_of(&cluster.location),
                ("", zone) => region_of(zone),
                (region, _) => region.to_string(),
            },
            r => r.to_string(),
        };
        let patterns: Vec<String> = raw
            .image_patterns
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let parallelism = raw.parallelism.unwrap_or(PUSH_PARALLELISM as i64);
        if !(1..=64).contains(&parallelism) {
            problems.push(Problem::new(
                "Parallel uploads",
                format!("{parallelism} is out of range: use 1 to 64"),
            ));
        }
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        let socket = match raw.docker_socket.trim() {
            "" => DOCKER_SOCKET,
            s => s.trim_start_matches("unix://"),
        };
        Ok(Self {
            project: cluster.project.clone(),
            region,
            repository,
            patterns: if patterns.is_empty() {
                DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect()
            } else {
                patterns
            },
            options: PushOptions {
                // Blank: the key of the cluster's connection preset now, else the host's.
                google_key: match raw.service_account_key.trim() {
                    "" => connection.service_account_key.clone(),
                    key => key.to_string(),
                },
                create_repository: raw.create_if_missing.unwrap_or(true),
                parallelism: parallelism as usize,
                docker_socket: PathBuf::from(socket),
                api_endpoint: settings.api_endpoint(),
                registry_endpoint: settings.registry_endpoint(),
                ..PushOptions::default()
            },
        })
    }

    pub fn registry_path(&self) -> String {
        format!(
            "{}-docker.pkg.dev/{}/{}",
            self.region, self.project, self.repository
        )
    }
}

/// `europe-west1-b` → `europe-west1`; a region stays itself.
fn region_of(location: &str) -> String {
    let parts: Vec<&str> = location.split('-').collect();
    if parts.len() == 3 && parts[2].len() == 1 {
        parts[..2].join("-")
    } else {
        location.to_string()
    }
}

/// Pushes every local image whose name matches a pattern; one failing image does not stop the others.
pub async fn push_base_images(
    request: &BaseImagesRequest,
    progress: Option<Progress>,
) -> Result<PushBatch> {
    let socket = &request.options.docker_socket;
    let mut wanted: Vec<(String, String)> = Vec::new();
    for image in list_images(socket).await? {
        for tag in image.tags() {
            let Some((name, version)) = tag.rsplit_once(':') else {
                continue;
            };
            let short = name.rsplit('/').next().unwrap_or(name);
            if request.patterns.iter().any(|p| glob_match(p, short))
                && !wanted.iter().any(|(t, _)| t == tag)
            {
                wanted.push((
                    tag.to_string(),
                    format!("{}/{short}:{version}", request.registry_path()),
                ));
            }
        }
    }
    if wanted.is_empty() {
        return Err(GkeError::registry(format!(
            "no image of the Docker Engine at {} matches {}: build DSS's base images first (DATA_DIR/bin/dssadmin build-base-image --type container-exec, and --type spark), or fix the patterns",
            socket.display(),
            request.patterns.join(", ")
        )));
    }
    wanted.sort();
    let mut images = Vec::new();
    let mut repository_created = false;
    // Bytes of the images done, and the total of the current one, as progress counts them
    // (source bytes): the bar only moves forward across images.
    let before = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    for (tag, destination) in &wanted {
        let per_image: Option<Progress> = progress.clone().map(|cb| {
            let (before, current) = (before.clone(), current.clone());
            Arc::new(move |p: PushProgress| {
                current.store(p.bytes_total, Ordering::Relaxed);
                let base = before.load(Ordering::Relaxed);
                cb(PushProgress {
                    bytes_done: base + p.bytes_done,
                    bytes_total: base + p.bytes_total,
                    layers_done: p.layers_done,
                    layers_total: p.layers_total,
                });
            }) as Progress
        });
        match push(
            &format!("docker-daemon:{tag}"),
            destination,
            &request.options,
            per_image,
        )
        .await
        {
            Ok(report) => {
                repository_created |= report.repository_created;
                images.push(BatchEntry {
                    image: tag.clone(),
                    report: Some(report),
                    error: None,
                });
            }
            Err(GkeError::Interrupted) => return Err(GkeError::Interrupted),
            Err(e) => {
                tracing::warn!("pushing {tag} failed: {e}");
                images.push(BatchEntry {
                    image: tag.clone(),
                    report: None,
                    error: Some(e.to_string()),
                });
            }
        }
        before.fetch_add(current.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }
    Ok(PushBatch {
        repository: request.registry_path(),
        repository_created,
        images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster(connection: Value, data: Value) -> DssCluster {
        DssCluster::from_record(&json!({
            "id": "c", "type": "pycluster_gke-native_create-gke-cluster",
            "config": {"connection": connection}, "plugin_config": {}, "data": data,
        }))
        .unwrap()
    }

    fn running() -> Value {
        json!({"version": 2, "project": "dss-prod", "location": "europe-west1-b", "name": "c"})
    }

    #[test]
    fn region_and_defaults_come_from_the_cluster() {
        let r = BaseImagesRequest::from_dss(
            &json!({"repository": "dss-images"}),
            &cluster(json!({}), running()),
        )
        .unwrap();
        assert_eq!(
            r.registry_path(),
            "europe-west1-docker.pkg.dev/dss-prod/dss-images"
        );
        assert_eq!(r.patterns, vec!["dku-exec-base-*", "dku-spark-base-*"]);
        assert!(r.options.create_repository);
        assert_eq!(
            r.options.docker_socket,
            PathBuf::from("/var/run/docker.sock")
        );
        assert_eq!(r.options.google_key, "");
    }

    #[test]
    fn blanks_come_from_the_connection_preset_as_it_is_now() {
        let r = BaseImagesRequest::from_dss(
            &json!({"repository": ""}),
            &cluster(
                json!({"region": "us-east1", "repository": "team-images",
                       "service_account_key": "{\"type\": \"service_account\"}"}),
                running(),
            ),
        )
        .unwrap();
        assert_eq!(
            r.registry_path(),
            "us-east1-docker.pkg.dev/dss-prod/team-images"
        );
        assert_eq!(r.options.google_key, "{\"type\": \"service_account\"}");
        let r = BaseImagesRequest::from_dss(&json!({}), &cluster(json!({}), running())).unwrap();
        assert_eq!(
            r.registry_path(),
            "europe-west1-docker.pkg.dev/dss-prod/dss-images"
        );
    }

    #[test]
    fn mistakes_are_listed() {
        let e = BaseImagesRequest::from_dss(
            &json!({"repository": "Bad_Repo", "parallelism": 0}),
            &cluster(json!({}), running()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Repository: 'Bad_Repo'") && e.contains("Parallel uploads"),
            "{e}"
        );
        let e = BaseImagesRequest::from_dss(
            &json!({"repository": "r"}),
            &cluster(json!({}), Value::Null),
        )
        .unwrap_err();
        assert!(e.to_string().contains("start it first"), "{e}");
    }
}
