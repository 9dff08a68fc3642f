//! The credential chain users expect: an explicit service-account key (JSON text or a path to
//! it), else Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC
//! file), else the GCE metadata server. Keys and tokens never reach a message or a log line.

use std::fmt;
use std::path::Path;

use google_cloud_auth::credentials::{
    service_account, AccessTokenCredentials, Builder as DefaultBuilder, Credentials,
};
use serde_json::Value;

use crate::error::{GkeError, Result};
use crate::http::install_crypto_provider;

/// What every gke-native call asks for; IAM decides what is actually allowed.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Where the credentials came from, for messages and reports (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSource {
    /// A service-account key given in the connection (inline JSON or a file).
    ServiceAccountKey {
        client_email: String,
        from_file: Option<String>,
    },
    /// Application Default Credentials: the ADC file, or the metadata server.
    ApplicationDefault,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::ServiceAccountKey {
                client_email,
                from_file: Some(path),
            } => {
                write!(f, "service-account key of {client_email} (file {path})")
            }
            CredentialSource::ServiceAccountKey { client_email, .. } => {
                write!(f, "service-account key of {client_email}")
            }
            CredentialSource::ApplicationDefault => {
                write!(
                    f,
                    "application default credentials (ADC file, else the metadata server)"
                )
            }
        }
    }
}

/// Credentials ready for Google's clients and for raw access tokens.
#[derive(Clone)]
pub struct GoogleCredentials {
    inner: AccessTokenCredentials,
    source: CredentialSource,
}

impl fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleCredentials")
            .field("source", &self.source)
            .finish()
    }
}

impl GoogleCredentials {
    /// `key` as the admin gave it in the connection's "Service-account key" field: blank for
    /// the default chain, JSON text, or the path of a JSON key file on the DSS host.
    pub fn from_key_or_default(key: &str, field: &str) -> Result<Self> {
        install_crypto_provider();
        let key = key.trim();
        if key.is_empty() {
            let inner = DefaultBuilder::default()
                .with_scopes([CLOUD_PLATFORM_SCOPE])
                .build_access_token_credentials()
                .map_err(|e| {
                    GkeError::Auth(format!(
                        "application default credentials could not be loaded ({e}); set a service-account key in the connection, or fix GOOGLE_APPLICATION_CREDENTIALS"
                    ))
                })?;
            return Ok(Self {
                inner,
                source: CredentialSource::ApplicationDefault,
            });
        }
        let (text, from_file) = if key.starts_with('{') {
            (key.to_string(), None)
        } else {
            let text = std::fs::read_to_string(Path::new(key)).map_err(|e| {
                GkeError::validation(
                    field,
                    format!("is neither a JSON key nor a readable key file: {key}: {e}"),
                )
            })?;
            (text, Some(key.to_string()))
        };
        let json: Value = serde_json::from_str(&text).map_err(|e| {
            // serde's message quotes no input, only a position: safe to show.
            GkeError::validation(
                field,
                format!(
                    "is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let kind = json.get("type").and_then(Value::as_str).unwrap_or_default();
        let client_email = json
            .get("client_email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != "service_account" || client_email.is_empty() || json.get("private_key").is_none()
        {
            return Err(GkeError::validation(
                field,
                "is not a service-account key: expected the JSON file downloaded from IAM › Service accounts › Keys (with \"type\": \"service_account\", client_email and private_key)",
            ));
        }
        let inner = service_account::Builder::new(json.clone())
            .with_access_specifier(service_account::AccessSpecifier::from_scopes([
                CLOUD_PLATFORM_SCOPE,
            ]))
            .build_access_token_credentials()
            .map_err(|e| {
                GkeError::Auth(format!(
                    "the service-account key of {client_email} is unusable: {e}"
                ))
            })?;
        Ok(Self {
            inner,
            source: CredentialSource::ServiceAccountKey {
                client_email: client_email.to_string(),
                from_file,
            },
        })
    }

    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// The service account's email when the key names it.
    pub fn client_email(&self) -> Option<&str> {
        match &self.source {
            CredentialSource::ServiceAccountKey { client_email, .. } => Some(client_email),
            CredentialSource::ApplicationDefault => None,
        }
    }

    /// For the Google client libraries.
    pub fn for_clients(&self) -> Credentials {
        self.inner.clone().into()
    }

    /// A fresh-enough OAuth access token (cached by the library until shortly before expiry).
    pub async fn access_token(&self) -> Result<String> {
        self.inner
            .access_token()
            .await
            .map(|t| t.token)
            .map_err(|e| GkeError::Auth(format!("no access token from the {}: {e}", self.source)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = "connection 'prod' › Service-account key";

    #[test]
    fn bad_keys_are_validation_errors_without_the_secret() {
        let secret =
            r#"{"type": "service_account", "private_key": "-----BEGIN SECRET-----", oops}"#;
        let e = GoogleCredentials::from_key_or_default(secret, FIELD).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("is not valid JSON"), "{text}");
        assert!(!text.contains("BEGIN SECRET"), "{text}");

        let e = GoogleCredentials::from_key_or_default(r#"{"type": "authorized_user"}"#, FIELD)
            .unwrap_err();
        assert!(
            e.to_string().contains("is not a service-account key"),
            "{e}"
        );

        let e = GoogleCredentials::from_key_or_default("/nonexistent/key.json", FIELD).unwrap_err();
        assert!(
            e.to_string()
                .contains("neither a JSON key nor a readable key file"),
            "{e}"
        );
    }
}
