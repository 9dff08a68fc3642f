//! The GCE metadata server (`/computeMetadata/v1/…`, header `Metadata-Flavor: Google`), describing the
//! VM the client runs on; reached through `GCE_METADATA_HOST`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The VM the plugin runs on, as the metadata server and Compute's `instances.get` describe it.
/// Admin calls change it; every field has a default so a bare emulator looks like a GCE VM.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceMetadata {
    pub project_id: String,
    pub project_number: String,
    pub zone: String,
    pub instance_name: String,
    pub instance_id: String,
    pub machine_type: String,
    /// A network name (`default`) or path (`projects/p/global/networks/n`).
    pub network: String,
    /// A subnetwork name or path (`projects/p/regions/r/subnetworks/s`).
    pub subnetwork: String,
    /// The subnetwork's primary range, as Compute's `subnetworks.get` gives it.
    pub subnetwork_cidr: String,
    /// Secondary ranges of the subnetwork, name → CIDR (pods and services of VPC-native clusters).
    pub secondary_ranges: std::collections::BTreeMap<String, String>,
    pub ip: String,
    pub service_account_email: String,
    pub scopes: Vec<String>,
    pub access_token: String,
    pub token_lifetime_seconds: u64,
}

impl Default for InstanceMetadata {
    fn default() -> Self {
        InstanceMetadata {
            project_id: "emulated-project".into(),
            project_number: "123456789012".into(),
            zone: "us-central1-a".into(),
            instance_name: "dss-host".into(),
            instance_id: "4242424242424242424".into(),
            machine_type: "e2-standard-8".into(),
            network: "default".into(),
            subnetwork: "default".into(),
            subnetwork_cidr: "10.128.0.0/20".into(),
            secondary_ranges: [
                ("pods".to_string(), "10.4.0.0/14".to_string()),
                ("services".to_string(), "10.8.0.0/20".to_string()),
            ]
            .into(),
            ip: "10.128.0.2".into(),
            service_account_email: "dss-host@emulated-project.iam.gserviceaccount.com".into(),
            scopes: vec!["https://www.googleapis.com/auth/cloud-platform".into()],
            access_token: "ya29.gke-emulator-token".into(),
            token_lifetime_seconds: 3599,
        }
    }
}

impl InstanceMetadata {
    pub fn region(&self) -> &str {
        self.zone
            .rsplit_once('-')
            .map_or(&self.zone, |(region, _)| region)
    }
}

/// Answers one metadata path; `recursive` is the `recursive=true` query Google's libraries use.
pub fn serve(
    instance: &InstanceMetadata,
    headers: &HeaderMap,
    path: &str,
    recursive: bool,
) -> Response {
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return flavored(
            StatusCode::FORBIDDEN,
            "text/html",
            "Missing required header: Metadata-Flavor: Google\n".into(),
        );
    }
    let path = path.trim_end_matches('/');
    let text = |value: &str| flavored(StatusCode::OK, "application/text", value.to_string());
    let account_json = || {
        json!({
            "aliases": ["default"],
            "email": instance.service_account_email,
            "scopes": instance.scopes,
        })
    };
    match path {
        "" => text("instance/\nproject/\n"),
        "project/project-id" => text(&instance.project_id),
        "project/numeric-project-id" => text(&instance.project_number),
        "instance/zone" => text(&format!(
            "projects/{}/zones/{}",
            instance.project_number, instance.zone
        )),
        "instance/name" | "instance/hostname" => text(&instance.instance_name),
        "instance/id" => text(&instance.instance_id),
        "instance/machine-type" => text(&format!(
            "projects/{}/machineTypes/{}",
            instance.project_number, instance.machine_type
        )),
        "instance/network-interfaces" => text("0/\n"),
        "instance/network-interfaces/0/network" => text(&format!(
            "projects/{}/networks/{}",
            instance.project_number,
            last_segment(&instance.network)
        )),
        "instance/network-interfaces/0/subnetwork" => text(&format!(
            "projects/{}/regions/{}/subnetworks/{}",
            instance.project_number,
            instance.region(),
            last_segment(&instance.subnetwork)
        )),
        "instance/network-interfaces/0/ip" => text(&instance.ip),
        "instance/service-accounts" if recursive => json_response(json!({
            "default": account_json(),
            instance.service_account_email.clone(): account_json(),
        })),
        "instance/service-accounts" => {
            text(&format!("default/\n{}/\n", instance.service_account_email))
        }
        "instance/service-accounts/default" if recursive => json_response(account_json()),
        "instance/service-accounts/default" => text("aliases\nemail\nscopes\ntoken\n"),
        "instance/service-accounts/default/email" => text(&instance.service_account_email),
        "instance/service-accounts/default/aliases" => text("default"),
        "instance/service-accounts/default/scopes" => text(&(instance.scopes.join("\n") + "\n")),
        "instance/service-accounts/default/token" => json_response(json!({
            "access_token": instance.access_token,
            "expires_in": instance.token_lifetime_seconds,
            "token_type": "Bearer",
        })),
        "universe/universe-domain" => text("googleapis.com"),
        _ => flavored(
            StatusCode::NOT_FOUND,
            "text/html",
            format!("Not found: {path}\n"),
        ),
    }
}

/// Google's auth libraries detect the metadata server by this response header on `/`.
pub fn ping() -> Response {
    flavored(StatusCode::OK, "application/text", String::new())
}

fn json_response(value: serde_json::Value) -> Response {
    flavored(StatusCode::OK, "application/json", value.to_string())
}

fn flavored(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [
            ("metadata-flavor", "Google"),
            ("content-type", content_type),
        ],
        body,
    )
        .into_response()
}

pub fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
