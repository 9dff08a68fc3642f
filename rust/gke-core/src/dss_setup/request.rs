//! The action's form read and checked: the names of the settings, the buckets, the registry
//! and the push.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::params::{params, DOCKER_SOCKET, PUSH_PARALLELISM};
use crate::config::record::DssCluster;
use crate::error::{GkeError, Result};
use crate::gcs::location::GcsLocation;
use crate::push::artifact_registry::RepositoryRef;
use crate::push::base_images::{BaseImagesRequest, DEFAULT_PATTERNS};

/// The action's form.
pub const FORM: &str = include_str!("../../../../cluster-actions/setup-dss/runnable.json");

/// The action's params (its descriptor's names and defaults; a test ties them).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SetupParams {
    /// Make the changes; unticked, only the plan is shown.
    pub apply: bool,
    /// The containerized-execution config's name; blank: `gke-<cluster id>`.
    pub container_config: String,
    /// The Spark config's name; blank: `gke-<cluster id>-spark`.
    pub spark_config: String,
    /// One GCS connection per bucket.
    pub buckets: Vec<String>,
    /// A bucket's connection is named this prefix and the bucket.
    pub connection_prefix: String,
    /// Also update settings of these names that gke-native did not create.
    pub take_over: bool,
    /// Push the base images once the settings are done.
    pub push_images: bool,
    // The push, as "Push base images" takes it (`BaseImagesRequest` reads these).
    pub repository: String,
    pub region: String,
    pub create_if_missing: bool,
    pub image_patterns: Vec<String>,
    pub docker_socket: String,
    pub service_account_key: String,
    pub parallelism: i64,
}

impl Default for SetupParams {
    fn default() -> Self {
        Self {
            apply: false,
            container_config: String::new(),
            spark_config: String::new(),
            buckets: Vec::new(),
            connection_prefix: "gcs-".into(),
            take_over: false,
            push_images: true,
            repository: String::new(),
            region: String::new(),
            create_if_missing: true,
            image_patterns: DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect(),
            docker_socket: DOCKER_SOCKET.into(),
            service_account_key: String::new(),
            parallelism: PUSH_PARALLELISM as i64,
        }
    }
}

/// What the action will do, checked: names, buckets, the registry and the push.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    pub cluster: String,
    pub apply: bool,
    pub take_over: bool,
    pub push_images: bool,
    pub container_config: String,
    pub spark_config: String,
    /// (connection name, bucket), in the form's order.
    pub connections: Vec<(String, String)>,
    /// The key the GCS connections use: the cluster's connection preset's (JSON or a path on
    /// the DSS host), blank for the DSS host's own credentials.
    pub gcs_key: String,
    pub push: BaseImagesRequest,
}

/// DSS's names of settings: letters, digits, `-`, `_` and `.`, at most 100 characters.
fn check_name(name: &str, field: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(GkeError::validation(
            field,
            format!("{name:?} is not a usable name: use 1 to 100 letters, digits, '-', '_' or '.'"),
        ))
    }
}

impl SetupRequest {
    /// From the action's config and the DSS cluster as DSS resolves it now.
    pub fn from_dss(config: &Value, cluster: &DssCluster) -> Result<Self> {
        let p: SetupParams = params(config, FORM)?;
        let push = BaseImagesRequest::from_dss(config, cluster)?;
        let default_name = format!("gke-{}", cluster.id);
        let pick = |given: &str, default: String| match given.trim() {
            "" => default,
            name => name.to_string(),
        };
        let container_config = pick(&p.container_config, default_name.clone());
        let spark_config = pick(&p.spark_config, format!("{default_name}-spark"));
        let mut problems = Vec::new();
        for (name, field) in [
            (&container_config, "Containerized execution config"),
            (&spark_config, "Spark config"),
        ] {
            if let Err(GkeError::Validation(ps)) = check_name(name, field) {
                problems.extend(ps);
            }
        }
        let mut connections: Vec<(String, String)> = Vec::new();
        for bucket in p.buckets.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
            let bucket = bucket.strip_prefix("gs://").unwrap_or(bucket);
            let bucket = bucket.trim_end_matches('/');
            match GcsLocation::new(bucket, "", "GCS buckets") {
                Err(GkeError::Validation(ps)) => problems.extend(ps),
                Err(e) => return Err(e),
                Ok(_) => {
                    let name = format!("{}{}", p.connection_prefix.trim(), bucket);
                    if let Err(GkeError::Validation(ps)) = check_name(&name, "Connection prefix") {
                        problems.extend(ps);
                    }
                    if !connections.iter().any(|(_, b)| b == bucket) {
                        connections.push((name, bucket.to_string()));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        Ok(Self {
            cluster: cluster.id.clone(),
            apply: p.apply,
            take_over: p.take_over,
            push_images: p.push_images,
            container_config,
            spark_config,
            connections,
            gcs_key: cluster.connection.service_account_key.clone(),
            push,
        })
    }

    /// `REGION-docker.pkg.dev/PROJECT/REPOSITORY`: what the configs name as their registry.
    pub fn registry(&self) -> String {
        self.push.registry_path()
    }

    pub fn repository(&self) -> RepositoryRef {
        RepositoryRef {
            project: self.push.project.clone(),
            location: self.push.region.clone(),
            repository: self.push.repository.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster(key: &str) -> DssCluster {
        DssCluster::from_record(&json!({
            "id": "c1", "type": "pycluster_gke-native_create-gke-cluster",
            "config": {"connection": {"service_account_key": key}}, "plugin_config": {},
            "data": {"version": 2, "project": "dss-prod", "location": "europe-west1-b", "name": "c1"},
        }))
        .unwrap()
    }

    #[test]
    fn the_form_and_the_params_agree() {
        crate::config::params::descriptor_check::check::<SetupParams>(FORM, &[]);
    }

    #[test]
    fn names_default_from_the_cluster_and_buckets_are_checked() {
        let r = SetupRequest::from_dss(
            &json!({"buckets": ["gs://data-eu/", " logs ", "data-eu"]}),
            &cluster(""),
        )
        .unwrap();
        assert_eq!(r.container_config, "gke-c1");
        assert_eq!(r.spark_config, "gke-c1-spark");
        assert_eq!(
            r.connections,
            vec![
                ("gcs-data-eu".to_string(), "data-eu".to_string()),
                ("gcs-logs".to_string(), "logs".to_string())
            ]
        );
        assert_eq!(
            r.registry(),
            "europe-west1-docker.pkg.dev/dss-prod/dss-images"
        );
        assert!(!r.apply, "a plan unless asked");
        let e = SetupRequest::from_dss(
            &json!({"buckets": ["Bad Bucket"], "spark_config": "a/b", "parallelism": 0}),
            &cluster(""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Parallel uploads"), "{e}");
        let e = SetupRequest::from_dss(
            &json!({"buckets": ["Bad Bucket"], "spark_config": "a/b"}),
            &cluster(""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("GCS buckets: bucket name \"Bad Bucket\""), "{e}");
        assert!(
            e.contains("Spark config: \"a/b\" is not a usable name"),
            "{e}"
        );
    }
}
