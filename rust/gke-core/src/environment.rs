//! What the plugin sees of the DSS host: its own build and, on Google Cloud, the host's project,
//! zone, network and identity that blank connection fields default to.

use serde::Serialize;

use crate::error::Result;
use crate::google::metadata::{HostFacts, MetadataServer};
use crate::html::{Report, ToHtml, Verdict};

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentReport {
    pub version: String,
    /// `arch-os` of the native module.
    pub platform: String,
    /// Always rustls: the module links no OpenSSL.
    pub tls: String,
    pub metadata_host: String,
    /// `None` when no metadata server answered: not on Google Cloud.
    pub gce: Option<HostFacts>,
}

pub async fn check(metadata: &MetadataServer) -> Result<EnvironmentReport> {
    Ok(EnvironmentReport {
        version: crate::VERSION.to_string(),
        platform: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        tls: "rustls".to_string(),
        metadata_host: metadata.host().to_string(),
        gce: metadata.probe().await?,
    })
}

impl ToHtml for EnvironmentReport {
    fn to_html(&self) -> String {
        let plugin = vec![
            row("Plugin version", &self.version),
            row("Native module", &self.platform),
            row("TLS", &self.tls),
            row("Metadata server", &self.metadata_host),
        ];
        let report = Report::new("DSS host environment").table(&["Item", "Value"], plugin);
        match &self.gce {
            None => report
                .verdict(
                    Verdict::Warning,
                    "No GCE metadata server answered: this host does not look like a Google Cloud VM. \
                     Set project, zone and credentials explicitly in the GKE connection preset.",
                )
                .finish(),
            Some(facts) => {
                let none = || "(none)".to_string();
                report
                    .verdict(
                        Verdict::Ok,
                        "Running on Google Cloud: blank connection fields default to this host's values.",
                    )
                    .table(
                        &["Host fact", "Value"],
                        vec![
                            row("Project", &facts.project_id),
                            row("Zone", &facts.zone),
                            row("Region", &facts.region),
                            row("Instance", &facts.instance_name),
                            vec!["Network".into(), facts.network.clone().unwrap_or_else(none)],
                            vec!["IP".into(), facts.ip.clone().unwrap_or_else(none)],
                            vec![
                                "Service account".into(),
                                facts.service_account.clone().unwrap_or_else(none),
                            ],
                        ],
                    )
                    .finish()
            }
        }
    }
}

fn row(name: &str, value: &str) -> Vec<String> {
    vec![name.to_string(), value.to_string()]
}
