//! A running GKE cluster and the clients to reach it: the cluster as plugin data records it
//! (`ClusterRef`), a `Session` of GKE and Compute clients with one credential, the cluster as GKE
//! reads it now.

use google_cloud_container_v1::model;

use crate::auth::credentials::GoogleCredentials;
use crate::config::plugin_data::PluginData;
use crate::config::record::{DssCluster, KEY_FIELD};
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Problem, Result};
use crate::google::compute::Compute;
use crate::google::gke::GkeApi;
use crate::kube::client as kubernetes;

/// Clients for one project and location, with one set of credentials.
#[derive(Clone)]
pub struct Session {
    pub gke: GkeApi,
    pub compute: Compute,
    pub credentials: GoogleCredentials,
    pub project: String,
    pub location: String,
}

/// What is wrong with a project and location given by hand (a notebook's `Gke(...)`).
fn target_problems(project: &str, location: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if project.trim().is_empty() {
        problems.push(Problem::new(
            "project",
            "is blank: give the project ID, e.g. dss-prod-1234",
        ));
    }
    if location.trim().is_empty() {
        problems.push(Problem::new(
            "location",
            "is blank: give a zone (e.g. europe-west1-b) or a region (e.g. europe-west1)",
        ));
    }
    let zonal = crate::config::location::region_of_zone(location.trim()).is_some();
    let as_connection = crate::config::connection::ConnectionRequest {
        project_id: project.to_string(),
        zone: if zonal {
            location.to_string()
        } else {
            String::new()
        },
        region: if zonal {
            String::new()
        } else {
            location.to_string()
        },
        ..Default::default()
    };
    problems.extend(as_connection.problems().into_iter().map(|p| {
        let field = if p.field.ends_with("GCP project") {
            "project"
        } else {
            "location"
        };
        Problem::new(field, p.message)
    }));
    problems
}

impl Session {
    pub async fn open(
        credentials: GoogleCredentials,
        settings: &PluginSettings,
        project: &str,
        location: &str,
    ) -> Result<Self> {
        let problems = target_problems(project, location);
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        let gke = GkeApi::connect(&credentials, settings.api_endpoint()).await?;
        let compute = Compute::new(&credentials, settings.api_endpoint())?;
        Ok(Self {
            gke,
            compute,
            credentials,
            project: project.to_string(),
            location: location.to_string(),
        })
    }

    /// The session of a DSS cluster: its GKE cluster as start() recorded it, with the
    /// credentials of its connection preset as DSS resolves it now.
    pub async fn for_record(cluster: &DssCluster) -> Result<(Self, ClusterRef)> {
        let target = ClusterRef::of_record(cluster)?;
        let credentials = GoogleCredentials::from_key_or_default(
            &cluster.connection.service_account_key,
            KEY_FIELD,
        )?;
        let session = Self::open(
            credentials,
            &cluster.settings,
            &target.project,
            &target.location,
        )
        .await?;
        Ok((session, target))
    }

    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// A cluster of the session's location by name (a clear error when there is none).
    pub async fn cluster(&self, name: &str) -> Result<ClusterRef> {
        let mut target = ClusterRef {
            project: self.project.clone(),
            location: self.location.clone(),
            name: name.to_string(),
            autopilot: false,
            endpoint: None,
        };
        let found = current(self, &target).await?;
        target.autopilot = is_autopilot(&found);
        Ok(target)
    }

    /// A Kubernetes client of the running cluster as GKE describes it now.
    pub async fn kube_client(&self, cluster: &ClusterRef) -> Result<kube::Client> {
        let found = current(self, cluster).await?;
        self.kube(cluster, &found).await
    }

    /// A Kubernetes client of a running cluster, with a token from the session's credentials.
    pub async fn kube(&self, cluster: &ClusterRef, found: &model::Cluster) -> Result<kube::Client> {
        let endpoint = cluster.endpoint.clone().unwrap_or(found.endpoint.clone());
        kubernetes::client(
            &endpoint,
            &cluster_ca(found),
            self.credentials.access_token().await?,
        )
    }
}

/// The cluster's CA certificate (base64 PEM, as GKE gives it).
pub fn cluster_ca(c: &model::Cluster) -> String {
    c.master_auth
        .as_ref()
        .map(|m| m.cluster_ca_certificate.clone())
        .unwrap_or_default()
}

/// The kubeconfig context name gcloud would give the cluster.
pub fn kube_context(project: &str, location: &str, name: &str) -> String {
    format!("gke_{project}_{location}_{name}")
}

pub fn is_autopilot(c: &model::Cluster) -> bool {
    c.autopilot.as_ref().is_some_and(|a| a.enabled)
}

pub fn enum_name(name: Option<&str>) -> String {
    name.unwrap_or("UNKNOWN").to_string()
}

/// A running cluster as plugin data records it.
#[derive(Debug, Clone)]
pub struct ClusterRef {
    pub project: String,
    pub location: String,
    pub name: String,
    pub autopilot: bool,
    /// The Kubernetes API endpoint DSS uses (the DNS endpoint when attached through it).
    pub endpoint: Option<String>,
}

impl From<&PluginData> for ClusterRef {
    fn from(data: &PluginData) -> Self {
        Self {
            project: data.project.clone(),
            location: data.location.clone(),
            name: data.name.clone(),
            autopilot: data.autopilot,
            endpoint: Some(data.endpoint.clone()).filter(|e| !e.is_empty()),
        }
    }
}

impl ClusterRef {
    /// The GKE cluster a DSS cluster's data records, or a clear error when there is none.
    pub fn of_record(cluster: &DssCluster) -> Result<Self> {
        Ok(Self::from(cluster.recorded()?))
    }

    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    pub fn path(&self) -> String {
        format!("{}/clusters/{}", self.parent(), self.name)
    }

    pub fn refuse_on_autopilot(&self, what: &str) -> Result<()> {
        if self.autopilot {
            return Err(GkeError::validation(
                "cluster",
                format!("{} is an Autopilot cluster: GKE manages its nodes, so it has no node pools to {what}", self.name),
            ));
        }
        Ok(())
    }
}

/// The running cluster, or a clear error when it is gone.
pub async fn current(session: &Session, cluster: &ClusterRef) -> Result<model::Cluster> {
    session
        .gke
        .get_cluster(&cluster.path())
        .await?
        .ok_or_else(|| {
            GkeError::not_found(
                format!("GET /v1/{}", cluster.path()),
                format!(
                    "GKE cluster {} no longer exists in {}: start the DSS cluster again",
                    cluster.name, cluster.location
                ),
            )
        })
}
