//! Planning a cluster: the form validated fully, blanks looked up (metadata server, Compute), the
//! types and versions checked where they will be used, and the create request built; the same
//! plan is what start() sends and what "Plan cluster" shows.

use serde_json::Value;

use crate::auth::credentials::GoogleCredentials;
use google_cloud_container_v1::model;

use crate::config::cluster::{ClusterRequest, ClusterSpec, Network, PlanContext};
use crate::config::connection::Connection;
use crate::config::create_request::readable;
use crate::config::settings::PluginSettings;
use crate::error::{GkeError, Problem, Result};
use crate::google::compute::Compute;
use crate::google::gke::GkeApi;
use crate::google::resolve::default_metadata;

/// A validated configuration with everything looked up: what start() would send.
pub struct Plan {
    pub spec: ClusterSpec,
    pub connection: Connection,
    pub credentials: GoogleCredentials,
    pub context: PlanContext,
    pub request: model::CreateClusterRequest,
}

/// Validates `config` fully, then looks up what blanks need (metadata server, Compute) and
/// builds the create request. Calls nothing that changes anything.
pub async fn plan(config: &Value, settings: &PluginSettings, dss_cluster_id: &str) -> Result<Plan> {
    let request = ClusterRequest::from_dss(config)?;
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
        .filter(|z| crate::config::location::region_of_zone(z) != Some(context.region.as_str()))
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
    let gke = GkeApi::connect(&credentials, settings.api_endpoint()).await?;
    let problems = crate::google::catalogue::problems(&spec, &context, &compute, &gke).await?;
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    let request = spec.create_request(&context)?;
    Ok(Plan {
        spec,
        connection,
        credentials,
        context,
        request,
    })
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
    let request = readable(&plan.request);
    let cluster = &request["cluster"];
    let mut report = crate::html::Report::new(&format!(
        "Plan of GKE cluster {}",
        cluster["name"].as_str().unwrap_or_default()
    ))
    .verdict(
        crate::html::Verdict::Ok,
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
