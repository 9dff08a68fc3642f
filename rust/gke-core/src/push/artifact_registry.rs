//! Artifact Registry: which registry hosts are its docker endpoints, and making sure the
//! repository an image goes to exists (created in DOCKER format when the caller allows it).

use std::sync::atomic::Ordering;

use google_cloud_artifactregistry_v1::client::ArtifactRegistry;
use google_cloud_artifactregistry_v1::model::{repository, Repository};
use google_cloud_lro::Poller;

use crate::auth::credentials::GoogleCredentials;
use crate::error::{ApiFailure, GkeError, Result};
use crate::google::gke::api_error;
use crate::net::retry::Backoff;
use crate::push::reference::Destination;

/// The registry user name whose password is an OAuth access token.
pub const TOKEN_USER: &str = "oauth2accesstoken";

/// An Artifact Registry repository, as a `{region}-docker.pkg.dev/{project}/{repository}/…` image names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRef {
    pub project: String,
    pub location: String,
    pub repository: String,
}

impl RepositoryRef {
    /// `None` when the destination is not an Artifact Registry docker endpoint.
    pub fn of(destination: &Destination) -> Option<Self> {
        let location = destination.host.strip_suffix("-docker.pkg.dev")?;
        let mut parts = destination.repository.splitn(3, '/');
        let (project, repository) = (parts.next()?, parts.next()?);
        parts.next()?;
        Some(Self {
            project: project.to_string(),
            location: location.to_string(),
            repository: repository.to_string(),
        })
    }

    pub fn name(&self) -> String {
        format!(
            "projects/{}/locations/{}/repositories/{}",
            self.project, self.location, self.repository
        )
    }
}

async fn client(
    credentials: &GoogleCredentials,
    endpoint: Option<String>,
) -> Result<ArtifactRegistry> {
    credentials
        .configure(ArtifactRegistry::builder(), endpoint)
        .build()
        .await
        .map_err(|e| GkeError::Setup(format!("cannot build the Artifact Registry client: {e}")))
}

/// Whether the repository exists (a Docker one: else an error saying so); nothing is created.
pub async fn find_repository(
    credentials: &GoogleCredentials,
    endpoint: Option<String>,
    repo: &RepositoryRef,
) -> Result<bool> {
    let client = client(credentials, endpoint).await?;
    let name = repo.name();
    let found = Backoff::default()
        .retry(&format!("GET v1/{name}"), || get_repository(&client, &name))
        .await?;
    Ok(found.is_some())
}

/// Makes sure the repository exists; returns whether it was created now.
pub async fn ensure_repository(
    credentials: &GoogleCredentials,
    endpoint: Option<String>,
    repo: &RepositoryRef,
    create: bool,
) -> Result<bool> {
    let client = client(credentials, endpoint).await?;
    let name = repo.name();
    let backoff = Backoff::default();
    let found = backoff
        .retry(&format!("GET v1/{name}"), || get_repository(&client, &name))
        .await?;
    if found.is_some() {
        return Ok(false);
    }
    if !create {
        return Err(GkeError::registry(format!(
            "Artifact Registry repository {name} does not exist: create it (gcloud artifacts repositories create {} --repository-format=docker --location={} --project={}), or allow creating it",
            repo.repository, repo.location, repo.project
        )));
    }
    tracing::info!("creating Artifact Registry repository {name}");
    let parent = format!("projects/{}/locations/{}", repo.project, repo.location);
    let what = format!("POST v1/{parent}/repositories");
    let answer_lost = std::sync::atomic::AtomicBool::new(false);
    // A creation whose answer was lost (the connection dropped after the server acted) is
    // tried again; its 409 then means "made, by us or another push": the repository is taken
    // when it is a Docker one, once its creation is done.
    backoff
        .retry(&what, || async {
            let created = client
                .create_repository()
                .set_parent(&parent)
                .set_repository_id(&repo.repository)
                .set_repository(
                    Repository::new()
                        .set_format(repository::Format::Docker)
                        .set_description("DSS base images, pushed by the gke-native plugin"),
                )
                .poller()
                .until_done()
                .await;
            match created.map_err(|e| api_error(e, what.clone())) {
                Ok(_) => Ok(true),
                Err(GkeError::Api(f)) if f.status == 409 => {
                    match get_repository(&client, &name).await? {
                        // Made by our earlier try whose answer was lost, or by another push.
                        Some(()) => Ok(answer_lost.load(Ordering::Relaxed)),
                        None => Err(GkeError::Api(ApiFailure {
                            status: 503,
                            code: "UNAVAILABLE".into(),
                            message: format!("{name} is being created"),
                            request: what.clone(),
                        })),
                    }
                }
                Err(e) => {
                    if e.is_retryable() {
                        answer_lost.store(true, Ordering::Relaxed);
                    }
                    Err(e)
                }
            }
        })
        .await
}

/// `Some` when the repository exists (and is a Docker one: else an error saying so).
async fn get_repository(client: &ArtifactRegistry, name: &str) -> Result<Option<()>> {
    match client.get_repository().set_name(name).send().await {
        Ok(found) if found.format == repository::Format::Docker => Ok(Some(())),
        Ok(found) => Err(GkeError::registry(format!(
            "Artifact Registry repository {name} is not a Docker repository ({:?}): pick another repository",
            found.format
        ))),
        Err(e) => match api_error(e, format!("GET v1/{name}")) {
            GkeError::Api(f) if f.status == 404 => Ok(None),
            e => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_registry_hosts() {
        let d =
            Destination::parse("europe-west1-docker.pkg.dev/dss-prod/dss/dku-exec-base:1").unwrap();
        let r = RepositoryRef::of(&d).unwrap();
        assert_eq!(
            r.name(),
            "projects/dss-prod/locations/europe-west1/repositories/dss"
        );
        let d = Destination::parse("europe-west1-docker.pkg.dev/dss-prod/dss").unwrap();
        assert_eq!(
            RepositoryRef::of(&d),
            None,
            "an image name is needed after the repository"
        );
        let d = Destination::parse("registry.example.com/dss-prod/dss/x").unwrap();
        assert_eq!(RepositoryRef::of(&d), None);
    }
}
