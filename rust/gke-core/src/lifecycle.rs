//! DSS clusters on GKE from start to stop: validate and plan, create (or resume an interrupted
//! creation, or adopt a running twin, or clean up a failed one), wait, write the kubeconfig,
//! make DSS cluster-admin; delete on stop.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use google_cloud_container_v1::model::{self, cluster::Status as ClusterStatus};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cluster::{ClusterRequest, ClusterSpec, Network, PlanContext};
use crate::compute::Compute;
use crate::connection::{default_metadata, Connection, ConnectionRequest};
use crate::credentials::GoogleCredentials;
use crate::dss_cluster::KEY_FIELD;
use crate::dss_config::parse;
use crate::error::{ApiFailure, GkeError, Problem, Result};
use crate::gke::{is_not_found, is_operation_in_progress, Gke};
use crate::kubeconfig::{helper_key_file, render, write_private, AuthHelper, KubeconfigSpec};
use crate::kubernetes;
use crate::operation::{running_operation, wait, wait_running_operations, Polling};
use crate::settings::PluginSettings;

/// What the DSS process running a cluster type provides.
#[derive(Debug, Clone)]
pub struct Host {
    pub dss_cluster_id: String,
    /// The cluster's working directory (DSS keeps it while the cluster is defined).
    pub workdir: PathBuf,
    /// The code env's interpreter and the folder that makes `dss_gke` importable, for the
    /// kubeconfig's credential helper.
    pub python: String,
    pub python_path: String,
}

/// A validated configuration with everything looked up: what start() would send.
pub struct Plan {
    pub spec: ClusterSpec,
    pub connection: Connection,
    pub credentials: GoogleCredentials,
    pub context: PlanContext,
    pub request: Value,
}

fn validation(problem: Problem) -> GkeError {
    GkeError::Validation(vec![problem])
}

/// Validates `config` fully, then looks up what blanks need (metadata server, Compute) and
/// builds the create request. Calls nothing that changes anything.
pub async fn plan(config: &Value, settings: &PluginSettings, dss_cluster_id: &str) -> Result<Plan> {
    let request = ClusterRequest::from_dss(config).map_err(validation)?;
    let spec = request.validate(dss_cluster_id)?;
    let metadata = default_metadata()?;
    let (connection, credentials) = spec.connection.resolve(&metadata).await?;
    let needs_host = spec.network == Network::Inherit
        || spec
            .authorized_networks
            .as_ref()
            .is_some_and(|(_, dss)| *dss);
    let host = if needs_host {
        metadata.probe().await?
    } else {
        None
    };
    let mut context = PlanContext {
        project_id: connection.project_id.clone(),
        zone: connection.zone.clone(),
        region: connection.region.clone(),
        host_network: None,
        host_ip: host.as_ref().and_then(|h| h.ip.clone()),
        dss_service_account: connection.identity.clone(),
    };
    if spec.network == Network::Inherit {
        let Some(h) = &host else {
            return Err(GkeError::validation(
                "Network",
                "'inherit from the DSS host' needs DSS on a GCE VM, and no metadata server answered: choose an explicit network or GKE's default",
            ));
        };
        let compute = Compute::new(&credentials, settings.api_endpoint())?;
        context.host_network = Some(
            compute
                .instance_network(&h.project_id, &h.zone, &h.instance_name)
                .await?,
        );
    }
    // Ranges are checked against the subnetwork they will live in, before anything is created.
    if let Some(subnet) = spec.subnetwork_path(&context) {
        if spec.vpc_native {
            let compute = Compute::new(&credentials, settings.api_endpoint())?;
            let problems = match compute.subnetwork(&subnet).await? {
                Some((primary, secondary)) => spec.subnet_problems(&subnet, &primary, &secondary),
                None => vec![Problem::new(
                    "Subnetwork",
                    format!("{subnet} does not exist: check its name and the connection's region"),
                )],
            };
            if !problems.is_empty() {
                return Err(GkeError::Validation(problems));
            }
        }
    }
    if spec
        .authorized_networks
        .as_ref()
        .is_some_and(|(_, dss)| *dss)
        && context.host_ip.is_none()
    {
        return Err(GkeError::validation(
            "Authorized networks",
            "\"DSS host IP\" needs the host's IP from the metadata server, and none answered: list DSS's address as a range instead",
        ));
    }
    // Node locations must be zones of the region the connection resolved to.
    let outside: Vec<&String> = spec
        .node_locations
        .iter()
        .filter(|z| crate::metadata::region_of_zone(z) != Some(context.region.as_str()))
        .collect();
    if !outside.is_empty() {
        return Err(GkeError::validation(
            "Node locations",
            format!(
                "{} not in the cluster's region {}: list zones of {} (e.g. {}-b)",
                outside
                    .iter()
                    .map(|z| format!("'{z}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                context.region,
                context.region,
                context.region
            ),
        ));
    }
    // Whether the types and version exist where they will be used: read-only calls.
    let compute = Compute::new(&credentials, settings.api_endpoint())?;
    let gke = Gke::connect(&credentials, settings.api_endpoint()).await?;
    let problems = crate::catalogue::problems(&spec, &context, &compute, &gke).await?;
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    let request = spec.create_request(&context);
    Ok(Plan {
        spec,
        connection,
        credentials,
        context,
        request,
    })
}

fn full_name(parent: &str, name: &str) -> String {
    format!("{parent}/clusters/{name}")
}

fn pool_names(cluster: &model::Cluster) -> BTreeSet<String> {
    cluster.node_pools.iter().map(|p| p.name.clone()).collect()
}

/// Deletes a cluster whose creation failed, so it does not keep costing money.
async fn clean_up_failed(
    gke: &Gke,
    parent: &str,
    name: &str,
    keep: bool,
    timeout: Duration,
    why: String,
) -> GkeError {
    if keep {
        return GkeError::OperationFailed {
            operation: format!("creation of {name}"),
            message: format!("{why}. The cluster was kept (\"keep failed clusters\" is set): delete it yourself when done"),
        };
    }
    tracing::warn!("creation of {name} failed ({why}); deleting it");
    let outcome = async {
        wait_running_operations(gke, parent, name, timeout).await?;
        let op = gke.delete_cluster(&full_name(parent, name)).await?;
        wait(gke, parent, op, timeout, Polling::default(), |_| {}).await
    }
    .await;
    let after = match outcome {
        Ok(_) => "it was deleted, so it costs nothing".to_string(),
        Err(e) if is_not_found(&e) => "it is gone".to_string(),
        Err(e) => format!("deleting it failed too ({e}): delete it in the console"),
    };
    GkeError::OperationFailed {
        operation: format!("creation of {name}"),
        message: format!("{why}; {after}"),
    }
}

/// Waits for a creation; when it fails, the cluster is cleaned up (unless kept) and GKE's
/// message is the error.
async fn wait_creation(
    gke: &Gke,
    parent: &str,
    name: &str,
    op: model::Operation,
    keep: bool,
    timeout: Duration,
) -> Result<()> {
    match wait(gke, parent, op, timeout, Polling::default(), |_| {}).await {
        Ok(_) => Ok(()),
        Err(GkeError::OperationFailed { message, .. }) => {
            let why = format!("GKE said: {message}");
            Err(clean_up_failed(gke, parent, name, keep, timeout, why).await)
        }
        Err(other) => Err(other),
    }
}

/// Creates the planned cluster, or resumes / adopts / replaces what already exists under its
/// name; returns the running cluster and whether this call created it.
pub async fn create_or_resume(gke: &Gke, plan: &Plan) -> Result<(model::Cluster, bool)> {
    let parent = plan.request["parent"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = plan.spec.name.clone();
    let path = full_name(&parent, &name);
    let timeout = Duration::from_secs(plan.spec.operation_timeout_minutes as u64 * 60);
    let keep = plan.spec.keep_failed;
    let mut created = false;
    let mut conflicts = 0;
    let started = std::time::Instant::now();
    for round in 0..MAX_ROUNDS {
        if round > 0 {
            // Each round follows a wait or a refusal: a pause keeps a misbehaving answer from
            // becoming a flood of calls.
            tokio::time::sleep(ROUND_PAUSE).await;
        }
        match gke.get_cluster(&path).await? {
            None => {
                tracing::info!(
                    "creating GKE cluster {name} in {}",
                    plan.spec.location(&plan.context)
                );
                match gke.create_cluster(&plan.request).await {
                    Ok(op) => {
                        created = true;
                        wait_creation(gke, &parent, &name, op, keep, timeout).await?;
                    }
                    // Someone (an earlier start, or this one whose answer was lost) created
                    // it meanwhile: look again, a few times.
                    Err(GkeError::Api(f)) if f.status == 409 => {
                        conflicts += 1;
                        if conflicts > MAX_CONFLICTS {
                            return Err(GkeError::Api(ApiFailure {
                                message: format!("GKE says a cluster named '{name}' already exists, yet reading it finds none ({}): check that the credentials may read clusters of this project", f.message),
                                ..f
                            }));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(c) if c.status == ClusterStatus::Provisioning => {
                tracing::info!("{name} is already being created (an earlier start was interrupted): waiting for it");
                created = true;
                match running_operation(gke, &parent, &name).await? {
                    Some(op) => {
                        wait_creation(gke, &parent, &name, op, keep, timeout).await?;
                    }
                    None => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
            Some(c) if c.status == ClusterStatus::Error => {
                // GKE explains an ERROR cluster in its conditions (status_message is deprecated).
                let why = match c
                    .conditions
                    .iter()
                    .map(|c| c.message.as_str())
                    .find(|m| !m.is_empty())
                {
                    Some(message) => format!("GKE said: {message}"),
                    None => "the cluster is in ERROR".to_string(),
                };
                return Err(clean_up_failed(gke, &parent, &name, keep, timeout, why).await);
            }
            Some(c) if c.status == ClusterStatus::Stopping => {
                tracing::info!("{name} is being deleted: waiting before creating it again");
                wait_running_operations(gke, &parent, &name, timeout).await?;
            }
            Some(c) if c.status == ClusterStatus::Reconciling => {
                wait_running_operations(gke, &parent, &name, timeout).await?;
            }
            Some(c) => {
                if !created {
                    let wanted: BTreeSet<String> =
                        plan.spec.pools.iter().map(|(n, _)| n.clone()).collect();
                    let autopilot = c.autopilot.as_ref().is_some_and(|a| a.enabled);
                    let same =
                        autopilot == plan.spec.autopilot && (autopilot || pool_names(&c) == wanted);
                    if !same {
                        return Err(GkeError::validation(
                            "GKE cluster name",
                            format!(
                                "a cluster named '{name}' already runs in {} with another configuration (node pools {:?}, Autopilot {autopilot}): choose another name, or use \"Attach GKE cluster\"",
                                plan.spec.location(&plan.context),
                                pool_names(&c)
                            ),
                        ));
                    }
                    tracing::info!("{name} already runs with the same configuration: adopting it");
                }
                return Ok((c, created));
            }
        }
    }
    Err(GkeError::OperationTimeout {
        operation: format!("creation of {name}"),
        waited: started.elapsed(),
    })
}

/// How many times create_or_resume looks at the cluster (each look follows a wait or a pause).
const MAX_ROUNDS: u32 = 60;
/// The pause between two looks.
const ROUND_PAUSE: Duration = Duration::from_secs(1);
/// 409s on create tolerated while the cluster cannot be read.
const MAX_CONFLICTS: u32 = 3;

/// The kubeconfig for a cluster, written 0600 in the working directory; returns its path.
fn write_kubeconfig(
    host: &Host,
    context: &str,
    server: &str,
    ca: &str,
    key: &str,
    gcloud_plugin: bool,
) -> Result<PathBuf> {
    std::fs::create_dir_all(&host.workdir)
        .map_err(|e| GkeError::Auth(format!("cannot create {}: {e}", host.workdir.display())))?;
    // The key is kept (0600, in the cluster's folder) for the cluster actions, whichever
    // helper kubectl uses.
    let key_file = helper_key_file(key, KEY_FIELD, &host.workdir.join("gke-native-sa-key.json"))?;
    let helper = if gcloud_plugin {
        AuthHelper::GcloudPlugin
    } else {
        AuthHelper::DssGke {
            python: host.python.clone(),
            python_path: host.python_path.clone(),
            key_file: key_file.clone(),
            cache_file: host
                .workdir
                .join(".gke-native-token.json")
                .display()
                .to_string(),
        }
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

/// What every way of getting a running cluster ends with: kubeconfig, admin binding, the
/// settings DSS applies and the data later actions read.
/// A running cluster reached by start or attach, and how.
struct Reached {
    cluster: model::Cluster,
    endpoint: String,
    identity: Option<String>,
    created: bool,
    regional: bool,
    /// Google's `gke-gcloud-auth-plugin` in the kubeconfig instead of ours.
    gcloud_plugin: bool,
}

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
        regional,
        gcloud_plugin,
    } = reached;
    let (cluster, endpoint) = (&cluster, endpoint.as_str());
    let ca = crate::running::cluster_ca(cluster);
    let context =
        crate::running::kube_context(&connection.project_id, &cluster.location, &cluster.name);
    let kubeconfig = write_kubeconfig(
        host,
        &context,
        &format!("https://{endpoint}"),
        &ca,
        key,
        gcloud_plugin,
    )?;
    tracing::info!("kubeconfig written to {}", kubeconfig.display());
    let binding = match &identity {
        Some(identity) => {
            let token = credentials.access_token().await?;
            let client = kubernetes::client(endpoint, &ca, token)?;
            Some(kubernetes::ensure_cluster_admin(&client, identity).await?)
        }
        None => {
            tracing::warn!(
                "no Google identity known for these credentials: no cluster-admin binding was made"
            );
            None
        }
    };
    let mut overrides = json!({
        "kubeCtlContext": context,
        "kubeConfigPath": kubeconfig.display().to_string(),
    });
    if let Some(url) = connection.registry_url() {
        overrides["repositoryURL"] = json!(url);
    }
    let settings = json!({
        "container": {"executionConfigsGenericOverrides": overrides},
        "spark": {"sparkEnabled": true},
    });
    let data = PluginData {
        version: PLUGIN_DATA_VERSION,
        project: connection.project_id.clone(),
        location: cluster.location.clone(),
        name: cluster.name.clone(),
        regional,
        autopilot: cluster.autopilot.as_ref().is_some_and(|a| a.enabled),
        endpoint: endpoint.to_string(),
        kubeconfig_path: kubeconfig.display().to_string(),
        kube_context: context,
        identity,
        admin_binding: binding,
        created_by_plugin: created,
    };
    Ok((settings, serde_json::to_value(data).unwrap_or_default()))
}

/// The version of [`PluginData`] start() writes now. Version 1 (no `version` field) also kept
/// the key file's path, the resolved connection and GKE's description; actions now resolve the
/// connection preset on every run, so those are ignored when read.
pub const PLUGIN_DATA_VERSION: u32 = 2;

/// What start() returns as the DSS cluster's data: where the GKE cluster is and how DSS
/// reaches it. Never a key, never a path to one: actions take credentials from the cluster's
/// connection preset as DSS resolves it when they run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginData {
    pub version: u32,
    pub project: String,
    pub location: String,
    pub name: String,
    pub regional: bool,
    pub autopilot: bool,
    pub endpoint: String,
    pub kubeconfig_path: String,
    pub kube_context: String,
    /// The Google identity made cluster-admin, when known.
    pub identity: Option<String>,
    pub admin_binding: Option<String>,
    /// Whether start() created the cluster (stop() deletes only what "Create" clusters made).
    pub created_by_plugin: bool,
}

/// `start()` of "Create GKE cluster": returns DSS's settings overrides and the plugin data.
pub async fn start(
    config: &Value,
    settings: &PluginSettings,
    host: &Host,
) -> Result<(Value, Value)> {
    let plan = plan(config, settings, &host.dss_cluster_id).await?;
    let gke = Gke::connect(&plan.credentials, settings.api_endpoint()).await?;
    let (cluster, created) = create_or_resume(&gke, &plan).await?;
    let key = plan.spec.connection.service_account_key.clone();
    let reached = Reached {
        endpoint: cluster.endpoint.clone(),
        cluster,
        identity: plan.connection.identity.clone(),
        created,
        regional: plan.spec.regional,
        gcloud_plugin: plan.spec.gcloud_auth_plugin,
    };
    finish(host, &plan.connection, &plan.credentials, &key, reached).await
}

/// A GKE client with the credentials of a cluster's configuration (its connection preset).
pub async fn connect(config: &Value, settings: &PluginSettings) -> Result<Gke> {
    let connection = ConnectionRequest::from_dss(&config["connection"]).map_err(validation)?;
    let credentials =
        GoogleCredentials::from_key_or_default(&connection.service_account_key, KEY_FIELD)?;
    Gke::connect(&credentials, settings.api_endpoint()).await
}

/// `stop()` of "Create GKE cluster": deletes the cluster and waits; gone already is success.
pub async fn stop(config: &Value, settings: &PluginSettings, data: &Value) -> Result<()> {
    let recorded = ["project", "location", "name"].map(|k| data.get(k).filter(|v| !v.is_null()));
    if recorded.iter().all(Option::is_none) {
        tracing::info!("no GKE cluster recorded for this DSS cluster: nothing to delete");
        return Ok(());
    }
    let target = crate::node_pools::ClusterRef::from_data(data)
        .ok()
        .filter(|t| {
            crate::names::check_resource_name(&t.name).is_ok()
                && crate::names::check_resource_name(&t.project).is_ok()
                && crate::names::check_resource_name(&t.location).is_ok()
        })
        .ok_or_else(|| {
            GkeError::validation(
                "Cluster data",
                "is malformed (project, location and name are not all there as names), so which GKE cluster to delete is unknown: it may still run, delete it in the Google Cloud console",
            )
        })?;
    let (project, location, name) = (&target.project, &target.location, target.name.as_str());
    let gke = connect(config, settings).await?;
    let parent = format!("projects/{project}/locations/{location}");
    delete_cluster(&gke, &parent, name, Duration::from_secs(30 * 60)).await
}

/// Deletes a cluster and waits, waiting out an operation in progress first; already gone (or
/// being deleted by someone else, waited for) is success.
pub async fn delete_cluster(gke: &Gke, parent: &str, name: &str, timeout: Duration) -> Result<()> {
    let path = full_name(parent, name);
    for round in 0..MAX_ROUNDS {
        if round > 0 {
            tokio::time::sleep(ROUND_PAUSE).await;
        }
        match gke.delete_cluster(&path).await {
            Ok(op) => {
                tracing::info!("deleting GKE cluster {name}");
                return match wait(gke, parent, op, timeout, Polling::default(), |_| {}).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_not_found(&e) => Ok(()),
                    Err(e) => Err(e),
                };
            }
            Err(e) if is_not_found(&e) => {
                tracing::info!("GKE cluster {name} is already gone");
                return Ok(());
            }
            Err(e) if is_operation_in_progress(&e) => {
                tracing::info!("an operation runs on {name}: waiting for it before deleting");
                match running_operation(gke, parent, name).await? {
                    Some(op) if op.operation_type == model::operation::Type::DeleteCluster => {
                        return wait(gke, parent, op, timeout, Polling::default(), |_| {})
                            .await
                            .map(|_| ());
                    }
                    Some(_) => wait_running_operations(gke, parent, name, timeout).await?,
                    None => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(GkeError::OperationTimeout {
        operation: format!("deletion of {name}"),
        waited: Duration::from_secs(u64::from(MAX_ROUNDS) * ROUND_PAUSE.as_secs()),
    })
}

/// The `attach-gke-cluster` cluster type's parameters.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct AttachRequest {
    pub connection: Value,
    pub cluster_name: String,
    pub location_type: String,
    pub use_dns_endpoint: bool,
    pub kubernetes_user: String,
    pub grant_admin: bool,
    pub credential_helper: String,
    pub log_level: String,
}

/// `start()` of "Attach GKE cluster": the existing cluster's kubeconfig and data; nothing created.
pub async fn attach(
    config: &Value,
    settings: &PluginSettings,
    host: &Host,
) -> Result<(Value, Value)> {
    let request: AttachRequest = parse(config, "cluster").map_err(validation)?;
    let mut problems = Vec::new();
    if let Err(e) = crate::names::check_resource_name(request.cluster_name.trim()) {
        problems.push(Problem::new("GKE cluster name", e));
    }
    if !matches!(request.location_type.as_str(), "zonal" | "regional") {
        problems.push(Problem::new(
            "Location type",
            format!("'{}' is not zonal or regional", request.location_type),
        ));
    }
    if !matches!(
        request.credential_helper.as_str(),
        "dss-gke" | "gke-gcloud-auth-plugin"
    ) {
        problems.push(Problem::new(
            "Kubernetes credentials",
            format!(
                "'{}' is not dss-gke or gke-gcloud-auth-plugin",
                request.credential_helper
            ),
        ));
    }
    let connection_request = match ConnectionRequest::from_dss(&request.connection) {
        Ok(c) => {
            problems.extend(c.problems());
            c
        }
        Err(p) => {
            problems.push(p);
            ConnectionRequest::default()
        }
    };
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    let (connection, credentials) = connection_request.resolve(&default_metadata()?).await?;
    let regional = request.location_type == "regional";
    let location = if regional {
        &connection.region
    } else {
        &connection.zone
    };
    let parent = format!("projects/{}/locations/{location}", connection.project_id);
    let gke = Gke::connect(&credentials, settings.api_endpoint()).await?;
    let name = request.cluster_name.trim();
    let Some(cluster) = gke.get_cluster(&full_name(&parent, name)).await? else {
        return Err(GkeError::validation("GKE cluster name", format!("no cluster '{name}' in {location} of project {}: check the name and the location type", connection.project_id)));
    };
    let endpoint = if request.use_dns_endpoint {
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
    let identity = if !request.kubernetes_user.trim().is_empty() {
        Some(request.kubernetes_user.trim().to_string())
    } else {
        connection.identity.clone()
    };
    let identity = identity.filter(|_| request.grant_admin);
    let reached = Reached {
        cluster,
        endpoint,
        identity,
        created: false,
        regional,
        gcloud_plugin: request.credential_helper == "gke-gcloud-auth-plugin",
    };
    finish(
        host,
        &connection,
        &credentials,
        &connection_request.service_account_key,
        reached,
    )
    .await
}

/// Where a running cluster's operations live, from plugin data.
pub fn parent_of(data: &Value) -> Option<String> {
    Some(format!(
        "projects/{}/locations/{}",
        data["project"].as_str()?,
        data["location"].as_str()?
    ))
}

/// `a.b[0].c = value` lines of a JSON object, in order, for reading a request.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_string(), text.join(", ")));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The plan as a person reads it: where, the cluster's settings, one table per node pool.
pub fn plan_html(plan: &Plan) -> String {
    let request = &plan.request;
    let cluster = &request["cluster"];
    let mut report = crate::report::Report::new(&format!(
        "Plan of GKE cluster {}",
        cluster["name"].as_str().unwrap_or_default()
    ))
    .verdict(
        crate::report::Verdict::Ok,
        "the configuration is valid; nothing was created",
    )
    .table(
        &["Project and location", "Credentials", "Node pools"],
        [vec![
            request["parent"].as_str().unwrap_or_default().to_string(),
            plan.connection.credentials.clone(),
            match cluster["nodePools"].as_array() {
                Some(pools) => pools
                    .iter()
                    .map(|p| p["name"].as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "none: Autopilot manages the nodes".to_string(),
            },
        ]],
    );
    let mut settings = cluster.clone();
    if let Some(map) = settings.as_object_mut() {
        map.remove("nodePools");
    }
    let mut rows = Vec::new();
    flatten("", &settings, &mut rows);
    report = report.table(
        &["Cluster setting", "Value"],
        rows.into_iter().map(|(k, v)| vec![k, v]),
    );
    for pool in cluster["nodePools"].as_array().into_iter().flatten() {
        let mut rows = Vec::new();
        flatten("", pool, &mut rows);
        report = report.table(
            &[
                &format!(
                    "Node pool {} setting",
                    pool["name"].as_str().unwrap_or_default()
                ),
                "Value",
            ],
            rows.into_iter().map(|(k, v)| vec![k, v]),
        );
    }
    report.finish()
}
