//! The plugin's own settings (`plugin.json` params an admin sets once, DSS's `plugin_config`).

use serde::Deserialize;
use serde_json::Value;

use crate::config::form::parse;
use crate::error::{GkeError, Problem, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PluginSettings {
    /// Base URL serving the Google APIs (container, compute) instead of Google's public
    /// endpoints: a Private Service Connect endpoint, or gke-emulator.
    pub api_endpoint: String,
    /// Base URL serving the GCS JSON API instead of `https://storage.googleapis.com`: a
    /// Private Service Connect endpoint, or an emulator.
    pub storage_endpoint: String,
    /// Base URL serving the Artifact Registry docker endpoints (`*-docker.pkg.dev`) instead of
    /// `https://HOST`: a private endpoint, or a local registry in tests.
    pub registry_endpoint: String,
}

impl PluginSettings {
    pub fn from_dss(value: &Value) -> Result<Self> {
        let settings: Self =
            parse(value, "plugin settings").map_err(|p| GkeError::Validation(vec![p]))?;
        let is_url = |e: &str| e.starts_with("https://") || e.starts_with("http://");
        let mut problems = Vec::new();
        let endpoint = settings.api_endpoint.trim();
        if !endpoint.is_empty() && !is_url(endpoint) {
            problems.push(Problem::new(
                "plugin settings › Google APIs endpoint",
                format!(
                    "'{endpoint}' is not a URL like https://container-myendpoint.p.googleapis.com"
                ),
            ));
        }
        let storage = settings.storage_endpoint.trim();
        if !storage.is_empty() && !is_url(storage) {
            problems.push(Problem::new(
                "plugin settings › GCS endpoint",
                format!(
                    "'{storage}' is not a URL like https://storage-myendpoint.p.googleapis.com"
                ),
            ));
        }
        let registry = settings.registry_endpoint.trim();
        if !registry.is_empty() && !is_url(registry) {
            problems.push(Problem::new(
                "plugin settings › Artifact Registry endpoint",
                format!("'{registry}' is not a URL like https://europe-west1-docker.pkg.dev"),
            ));
        }
        if !problems.is_empty() {
            return Err(GkeError::Validation(problems));
        }
        Ok(settings)
    }

    /// The GCS endpoint to use: the plugin setting, else `None` (then `STORAGE_EMULATOR_HOST`,
    /// the convention Google's clients follow, else Google's endpoint).
    pub fn storage_endpoint(&self) -> Option<String> {
        Some(
            self.storage_endpoint
                .trim()
                .trim_end_matches('/')
                .to_string(),
        )
        .filter(|e| !e.is_empty())
    }

    /// The docker endpoint for Artifact Registry hosts: the plugin setting, else
    /// `GKE_NATIVE_REGISTRY_ENDPOINT`, else none (each host's own HTTPS endpoint).
    pub fn registry_endpoint(&self) -> Option<String> {
        let configured = self.registry_endpoint.trim();
        if !configured.is_empty() {
            return Some(configured.trim_end_matches('/').to_string());
        }
        std::env::var("GKE_NATIVE_REGISTRY_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
    }

    /// The endpoint to use: the plugin setting, else `GKE_NATIVE_API_ENDPOINT`, else Google's.
    pub fn api_endpoint(&self) -> Option<String> {
        let configured = self.api_endpoint.trim();
        if !configured.is_empty() {
            return Some(configured.trim_end_matches('/').to_string());
        }
        std::env::var("GKE_NATIVE_API_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_must_be_urls() {
        let ok =
            PluginSettings::from_dss(&json!({"api_endpoint": "http://127.0.0.1:8080/"})).unwrap();
        assert_eq!(ok.api_endpoint().as_deref(), Some("http://127.0.0.1:8080"));
        let e = PluginSettings::from_dss(&json!({"api_endpoint": "localhost:80"})).unwrap_err();
        assert!(e.to_string().contains("Google APIs endpoint"), "{e}");
        let e =
            PluginSettings::from_dss(&json!({"storage_endpoint": "127.0.0.1:4443"})).unwrap_err();
        assert!(e.to_string().contains("GCS endpoint"), "{e}");
        let ok = PluginSettings::from_dss(&json!({"storage_endpoint": "http://127.0.0.1:4443/"}))
            .unwrap();
        assert_eq!(
            ok.storage_endpoint().as_deref(),
            Some("http://127.0.0.1:4443")
        );
        assert_eq!(PluginSettings::default().storage_endpoint(), None);
    }
}
