//! Deleting a GKE cluster: stop() of "Create GKE cluster", the notebook's delete, and the clean-up
//! of a failed creation; an operation in progress is waited out first; gone already is success.

use std::time::Duration;

use google_cloud_container_v1::model;
use serde_json::Value;

use crate::auth::credentials::GoogleCredentials;
use crate::cluster::handle::{ClusterRef, Session};
use crate::config::connection::ConnectionRequest;
use crate::config::plugin_data::PluginData;
use crate::config::record::KEY_FIELD;
use crate::config::settings::PluginSettings;
use crate::error::Result;
use crate::google::gke::{cluster_path, GkeApi};
use crate::google::operation::{submit_when_idle, wait, Polling};
use crate::net::retry::CLUSTER_ROUNDS;

/// How long stop() waits for GKE to delete a cluster.
const STOP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Deletes the cluster and waits; already gone is success.
pub async fn delete(session: &Session, cluster: &ClusterRef, timeout: Duration) -> Result<()> {
    delete_cluster(&session.gke, &cluster.parent(), &cluster.name, timeout).await
}

/// A GKE client with the credentials of a cluster's configuration (its connection preset).
pub async fn connect(config: &Value, settings: &PluginSettings) -> Result<GkeApi> {
    let connection = ConnectionRequest::from_dss(&config["connection"])?;
    let credentials =
        GoogleCredentials::from_key_or_default(&connection.service_account_key, KEY_FIELD)?;
    GkeApi::connect(&credentials, settings.api_endpoint()).await
}

/// `stop()` of "Create GKE cluster": deletes the cluster and waits; gone already is success.
pub async fn stop(config: &Value, settings: &PluginSettings, data: &Value) -> Result<()> {
    let Some(target) = PluginData::read(data)? else {
        tracing::info!("no GKE cluster recorded for this DSS cluster: nothing to delete");
        return Ok(());
    };
    let gke = connect(config, settings).await?;
    delete_cluster(&gke, &target.parent(), &target.name, STOP_TIMEOUT).await
}

/// Deletes a cluster and waits, waiting out an operation in progress first; already gone (or
/// being deleted by someone else, waited for) is success.
pub async fn delete_cluster(
    gke: &GkeApi,
    parent: &str,
    name: &str,
    timeout: Duration,
) -> Result<()> {
    let path = cluster_path(parent, name);
    let deletion =
        |op: &model::Operation| op.operation_type == model::operation::Type::DeleteCluster;
    let submitted = submit_when_idle(
        gke,
        parent,
        name,
        "deletion",
        timeout,
        CLUSTER_ROUNDS,
        deletion,
        || gke.delete_cluster(&path),
    )
    .await;
    let outcome = match submitted {
        Ok(op) => {
            tracing::info!("deleting GKE cluster {name}");
            wait(gke, parent, op, timeout, Polling::default(), |_| {})
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match outcome {
        Err(e) if e.status() == Some(404) => {
            tracing::info!("GKE cluster {name} is gone");
            Ok(())
        }
        other => other,
    }
}
