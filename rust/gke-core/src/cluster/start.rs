//! start() of both cluster types: create (or attach) the cluster, then what every way of reaching
//! a running cluster ends with: the kubeconfig, DSS's admin binding, the settings DSS applies
//! and the plugin data.

use std::path::PathBuf;

use google_cloud_container_v1::model;
use serde_json::Value;

use crate::auth::credentials::GoogleCredentials;
use crate::auth::kubeconfig::{helper_key_file, render, AuthHelper, KubeconfigSpec};
use crate::cluster::create::create_or_resume;
use crate::cluster::handle::{cluster_ca, kube_context};
use crate::cluster::plan::plan;
use crate::config::attach::AttachRequest;
use crate::config::connection::Connection;
use crate::config::credential_helper::CredentialHelper;
use crate::config::form::parse;
use crate::config::host::Host;
use crate::config::location::LocationType;
use crate::config::plugin_data::{DssOverrides, PluginData, PLUGIN_DATA_VERSION};
use crate::config::record::KEY_FIELD;
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Result};
use crate::google::gke::{cluster_path, GkeApi};
use crate::google::resolve::default_metadata;
use crate::kube::client as kubernetes;
use crate::net::private_file::write_private;

/// The kubeconfig for a cluster, written 0600 in the working directory; returns its path.
fn write_kubeconfig(
    host: &Host,
    context: &str,
    server: &str,
    ca: &str,
    key: &str,
    helper: CredentialHelper,
) -> Result<PathBuf> {
    std::fs::create_dir_all(&host.workdir)
        .map_err(|e| GkeError::file("create", &host.workdir, e))?;
    // The key is kept (0600, in the cluster's folder) for the cluster actions, whichever
    // helper kubectl uses.
    let key_file = helper_key_file(key, KEY_FIELD, &host.workdir.join("gke-native-sa-key.json"))?;
    let helper = match helper {
        CredentialHelper::GcloudPlugin => AuthHelper::GcloudPlugin,
        CredentialHelper::DssGke => AuthHelper::DssGke {
            python: host.python.clone(),
            python_path: host.python_path.clone(),
            key_file: key_file.clone(),
            cache_file: host
                .workdir
                .join(".gke-native-token.json")
                .display()
                .to_string(),
        },
    };
    let doc = render(&KubeconfigSpec {
        context,
        server,
        ca_base64: ca,
        helper: &helper,
    });
    let path = host.workdir.join("kubeconfig");
    write_private(
        &path,
        serde_json::to_string_pretty(&doc)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(path)
}

/// A running cluster reached by start or attach, and how.
struct Reached {
    cluster: model::Cluster,
    endpoint: String,
    identity: Option<String>,
    created: bool,
    location_type: LocationType,
    credential_helper: CredentialHelper,
}

/// What every way of getting a running cluster ends with: kubeconfig, admin binding, the
/// settings DSS applies and the data later actions read.
async fn finish(
    host: &Host,
    connection: &Connection,
    credentials: &GoogleCredentials,
    key: &str,
    reached: Reached,
) -> Result<(Value, Value)> {
    let Reached {
        cluster,
        endpoint,
        identity,
        created,
        location_type,
        credential_helper,
    } = reached;
    let (cluster, endpoint) = (&cluster, endpoint.as_str());
    let ca = cluster_ca(cluster);
    let context = kube_context(&connection.project_id, &cluster.location, &cluster.name);
    let kubeconfig = write_kubeconfig(
        host,
        &context,
        &format!("https://{endpoint}"),
        &ca,
        key,
        credential_helper,
    )?;
    tracing::info!("kubeconfig written to {}", kubeconfig.display());
    let binding = match &identity {
        Some(identity) => {
            let token = credentials.access_token().await?;
            let client = kubernetes::client(endpoint, &ca, token)?;
            Some(crate::kube::rbac::ensure_cluster_admin(&client, identity).await?)
        }
        None => {
            tracing::warn!(
                "no Google identity known for these credentials: no cluster-admin binding was made"
            );
            None
        }
    };
    let settings = DssOverrides::new(
        context.clone(),
        kubeconfig.display().to_string(),
        connection.registry_url(),
    );
    let data = PluginData {
        version: PLUGIN_DATA_VERSION,
        project: connection.project_id.clone(),
        location: cluster.location.clone(),
        name: cluster.name.clone(),
        regional: location_type == LocationType::Regional,
        autopilot: cluster.autopilot.as_ref().is_some_and(|a| a.enabled),
        endpoint: endpoint.to_string(),
        kubeconfig_path: kubeconfig.display().to_string(),
        kube_context: context,
        identity,
        admin_binding: binding,
        created_by_plugin: created,
    };
    Ok((
        serde_json::to_value(settings).unwrap_or_default(),
        serde_json::to_value(data).unwrap_or_default(),
    ))
}

/// `start()` of "Create GKE cluster": returns DSS's settings overrides and the plugin data.
pub async fn start(
    config: &Value,
    settings: &PluginSettings,
    host: &Host,
) -> Result<(Value, Value)> {
    let plan = plan(config, settings, &host.dss_cluster_id).await?;
    let gke = GkeApi::connect(&plan.credentials, settings.api_endpoint()).await?;
    let (cluster, created) = create_or_resume(&gke, &plan).await?;
    let key = plan.spec.connection.service_account_key.clone();
    let reached = Reached {
        endpoint: cluster.endpoint.clone(),
        cluster,
        identity: plan.connection.identity.clone(),
        created,
        location_type: plan.spec.location_type,
        credential_helper: plan.spec.credential_helper,
    };
    finish(host, &plan.connection, &plan.credentials, &key, reached).await
}

/// `start()` of "Attach GKE cluster": the existing cluster's kubeconfig and data; nothing created.
pub async fn attach(
    config: &Value,
    settings: &PluginSettings,
    host: &Host,
) -> Result<(Value, Value)> {
    let request: AttachRequest = parse(config, "cluster")?;
    let spec = request.validate()?;
    let (connection, credentials) = spec.connection.resolve(&default_metadata()?).await?;
    let location = spec
        .location_type
        .pick(&connection.zone, &connection.region);
    let parent = format!("projects/{}/locations/{location}", connection.project_id);
    let gke = GkeApi::connect(&credentials, settings.api_endpoint()).await?;
    let name = spec.cluster_name.as_str();
    let Some(cluster) = gke.get_cluster(&cluster_path(&parent, name)).await? else {
        return Err(GkeError::not_found(format!("GET /v1/{}", cluster_path(&parent, name)), format!("no cluster '{name}' in {location} of project {}: check the name and the location type", connection.project_id)));
    };
    let endpoint = if spec.use_dns_endpoint {
        cluster
            .control_plane_endpoints_config
            .as_ref()
            .and_then(|c| c.dns_endpoint_config.as_ref())
            .map(|d| d.endpoint.clone())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| GkeError::validation("Use DNS endpoint", format!("cluster '{name}' has no DNS endpoint: enable it in GKE or untick this option")))?
    } else {
        cluster.endpoint.clone()
    };
    let identity = spec
        .kubernetes_user
        .clone()
        .or_else(|| connection.identity.clone())
        .filter(|_| spec.grant_admin);
    let reached = Reached {
        cluster,
        endpoint,
        identity,
        created: false,
        location_type: spec.location_type,
        credential_helper: spec.credential_helper,
    };
    finish(
        host,
        &connection,
        &credentials,
        &spec.connection.service_account_key,
        reached,
    )
    .await
}
