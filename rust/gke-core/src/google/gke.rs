//! The GKE API (container v1, locations form) through Google's official client, with our
//! retries (429, 5xx, dropped connections, "operation in progress") and admin-readable errors.

use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model;

use crate::auth::credentials::GoogleCredentials;
use crate::error::{status_code_name, ApiFailure, GkeError, Result};
use crate::net::retry::Backoff;

/// A GKE client; cheap to clone.
#[derive(Clone, Debug)]
pub struct GkeApi {
    client: ClusterManager,
    backoff: Backoff,
}

/// GKE refuses a second mutation of a cluster with this; waiting and retrying is right.
pub fn is_operation_in_progress(e: &GkeError) -> bool {
    matches!(e, GkeError::Api(f) if f.code == "FAILED_PRECONDITION"
        && f.message.to_ascii_lowercase().contains("operation"))
}

/// A cluster's resource name under its parent (`projects/P/locations/L`).
pub fn cluster_path(parent: &str, name: &str) -> String {
    format!("{parent}/clusters/{name}")
}

pub(crate) fn api_error(e: google_cloud_gax::error::Error, request: String) -> GkeError {
    if e.is_authentication() {
        return GkeError::Auth(format!(
            "no access token for {request}: {e}; check the connection's credentials"
        ));
    }
    let status = e.http_status_code().unwrap_or(0);
    match e.status() {
        Some(s) => GkeError::Api(ApiFailure {
            status,
            code: s.code.name().to_string(),
            message: s.message.clone(),
            request,
        }),
        None => GkeError::Api(ApiFailure {
            status,
            code: if status == 0 {
                "UNAVAILABLE".into()
            } else {
                status_code_name(status).into()
            },
            message: crate::net::http::error_chain(&e),
            request,
        }),
    }
}

impl GkeApi {
    /// `endpoint`: where the container API is, when not Google's (see `PluginSettings`).
    pub async fn connect(
        credentials: &GoogleCredentials,
        endpoint: Option<String>,
    ) -> Result<Self> {
        let builder = credentials.configure(ClusterManager::builder(), endpoint);
        let client = builder
            .build()
            .await
            .map_err(|e| GkeError::Setup(format!("cannot build the GKE client: {e}")))?;
        Ok(Self {
            client,
            backoff: Backoff::default(),
        })
    }

    /// One API call with our retries, its error made admin-readable; `what` names it.
    async fn call<T, F, Fut>(&self, what: String, send: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, google_cloud_gax::error::Error>>,
    {
        self.backoff
            .retry(&what, || async {
                send().await.map_err(|e| api_error(e, what.clone()))
            })
            .await
    }

    /// Sends the planned create request; returns the operation.
    pub async fn create_cluster(
        &self,
        request: &model::CreateClusterRequest,
    ) -> Result<model::Operation> {
        self.call(format!("POST /v1/{}/clusters", request.parent), || {
            self.client
                .create_cluster()
                .with_request(request.clone())
                .send()
        })
        .await
    }

    /// The cluster, or `None` when GKE has none of that name.
    pub async fn get_cluster(&self, name: &str) -> Result<Option<model::Cluster>> {
        let found = self
            .call(format!("GET /v1/{name}"), || {
                self.client.get_cluster().set_name(name).send()
            })
            .await;
        match found {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What GKE offers in a location (`projects/p/locations/l`): versions, image types.
    pub async fn server_config(&self, location: &str) -> Result<model::ServerConfig> {
        self.call(format!("GET /v1/{location}/serverConfig"), || {
            self.client.get_server_config().set_name(location).send()
        })
        .await
    }

    pub async fn delete_cluster(&self, name: &str) -> Result<model::Operation> {
        self.call(format!("DELETE /v1/{name}"), || {
            self.client.delete_cluster().set_name(name).send()
        })
        .await
    }

    /// `name` is `projects/{p}/locations/{l}/operations/{op}`.
    pub async fn get_operation(&self, name: &str) -> Result<model::Operation> {
        self.call(format!("GET /v1/{name}"), || {
            self.client.get_operation().set_name(name).send()
        })
        .await
    }

    /// Adds a node pool (as `NodePoolSpec::to_api` builds it) to the cluster `cluster`.
    pub async fn create_node_pool(
        &self,
        cluster: &str,
        pool: &model::NodePool,
    ) -> Result<model::Operation> {
        self.call(format!("POST /v1/{cluster}/nodePools"), || {
            self.client
                .create_node_pool()
                .set_parent(cluster)
                .set_node_pool(pool.clone())
                .send()
        })
        .await
    }

    /// `pool` is `…/clusters/{c}/nodePools/{p}`.
    pub async fn set_node_pool_size(&self, pool: &str, count: i32) -> Result<model::Operation> {
        self.call(format!("POST /v1/{pool}:setSize"), || {
            self.client
                .set_node_pool_size()
                .set_name(pool)
                .set_node_count(count)
                .send()
        })
        .await
    }

    /// Turns autoscaling of `pool` on (with limits per zone) or off.
    pub async fn set_node_pool_autoscaling(
        &self,
        pool: &str,
        limits: Option<(i32, i32)>,
    ) -> Result<model::Operation> {
        let autoscaling = match limits {
            Some((min, max)) => model::NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(min)
                .set_max_node_count(max),
            None => model::NodePoolAutoscaling::new().set_enabled(false),
        };
        self.call(format!("POST /v1/{pool}:setAutoscaling"), || {
            self.client
                .set_node_pool_autoscaling()
                .set_name(pool)
                .set_autoscaling(autoscaling.clone())
                .send()
        })
        .await
    }

    /// The clusters of a location (`projects/{p}/locations/{l}`; `-` for every location).
    pub async fn list_clusters(&self, parent: &str) -> Result<Vec<model::Cluster>> {
        self.call(format!("GET /v1/{parent}/clusters"), || async {
            self.client
                .list_clusters()
                .set_parent(parent)
                .send()
                .await
                .map(|r| r.clusters)
        })
        .await
    }

    pub async fn delete_node_pool(&self, pool: &str) -> Result<model::Operation> {
        self.call(format!("DELETE /v1/{pool}"), || {
            self.client.delete_node_pool().set_name(pool).send()
        })
        .await
    }

    /// Operations of a location (`projects/{p}/locations/{l}`).
    pub async fn list_operations(&self, parent: &str) -> Result<Vec<model::Operation>> {
        self.call(format!("GET /v1/{parent}/operations"), || async {
            self.client
                .list_operations()
                .set_parent(parent)
                .send()
                .await
                .map(|r| r.operations)
        })
        .await
    }
}

/// The full name of an operation GKE returned, for `operations.get`.
pub fn operation_path(parent: &str, op: &model::Operation) -> String {
    if op.name.starts_with("projects/") {
        op.name.clone()
    } else {
        format!("{parent}/operations/{}", op.name)
    }
}
