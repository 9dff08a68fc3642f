//! The credential chain users expect: an explicit service-account key (JSON text or a path to
//! it), else Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC
//! file), else the GCE metadata server. Keys and tokens never reach a message or a log line.

use std::fmt;
use std::path::Path;

use google_cloud_auth::credentials::{
    mds, service_account, AccessTokenCredentials, Builder as DefaultBuilder, Credentials,
};
use google_cloud_gax::client_builder::ClientBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use serde_json::Value;

use crate::error::{GkeError, Result};
use crate::net::http::install_crypto_provider;
use crate::net::retry::Backoff;

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

/// The longest text taken as a key file's path (Linux's PATH_MAX); longer text is key material.
const MAX_KEY_PATH: usize = 4096;

/// The connection's "Service-account key" field as the admin gave it, told apart once for
/// every reader (credentials, kubeconfig helpers): blank, the key's JSON, or a key file's path.
/// Anything else is refused without showing its text: it may be a pasted key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyInput<'a> {
    Blank,
    /// The key itself (`{…}`), a byte-order mark and surrounding whitespace removed.
    Json(&'a str),
    /// The path of a key file on the DSS host.
    File(&'a str),
}

impl<'a> KeyInput<'a> {
    pub fn parse(raw: &'a str, field: &str) -> Result<Self> {
        let text = without_bom(raw);
        if text.is_empty() {
            return Ok(KeyInput::Blank);
        }
        if text.starts_with('{') {
            return Ok(KeyInput::Json(text));
        }
        if looks_like_key_material(text) {
            return Err(not_a_key(field, ""));
        }
        Ok(KeyInput::File(text))
    }
}

/// `text` without surrounding whitespace and byte-order marks (an editor's UTF-8 BOM is no
/// whitespace to `str::trim`).
fn without_bom(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// What a path never is: a PEM block, JSON, several lines, control characters, too long.
fn looks_like_key_material(text: &str) -> bool {
    text.contains("PRIVATE KEY")
        || text.starts_with('[')
        || text.len() > MAX_KEY_PATH
        || text.chars().any(char::is_control)
}

fn not_a_key(field: &str, why: &str) -> GkeError {
    GkeError::validation(
        field,
        format!("is not a JSON key or a readable key file path (its text is not shown){why}: paste the JSON key file downloaded from IAM › Service accounts › Keys (it starts with {{), or give the path of that file on the DSS host"),
    )
}

/// A key file's text (BOM removed); the path is named in errors only when it reads as one
/// (absolute or `~`/`.`-relative), since other text may be part of a key.
fn read_key_file(path: &str, field: &str) -> Result<String> {
    match std::fs::read_to_string(Path::new(path)) {
        Ok(text) => Ok(without_bom(&text).to_string()),
        Err(e) if path.starts_with(['/', '~', '.']) => Err(GkeError::validation(
            field,
            format!("is not a JSON key or a readable key file path: {path}: {e}"),
        )),
        Err(e) => Err(not_a_key(field, &format!(" ({})", e.kind()))),
    }
}

/// Whether Application Default Credentials come from a file (AIP-4110: the variable, else
/// gcloud's well-known path), as google-cloud-auth decides; else they are the metadata server's.
fn adc_file_exists() -> bool {
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
        return true;
    }
    std::env::var_os("HOME").is_some_and(|home| {
        Path::new(&home)
            .join(".config/gcloud/application_default_credentials.json")
            .is_file()
    })
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
        let (text, from_file) = match KeyInput::parse(key, field)? {
            KeyInput::Blank => return Self::application_default(),
            KeyInput::Json(text) => (text.to_string(), None),
            KeyInput::File(path) => (read_key_file(path, field)?, Some(path.to_string())),
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

    /// The default chain. Off an ADC file it is the metadata server, whose token endpoint can
    /// fail for a moment like any other: its token requests get the project's retry policy.
    /// (google-cloud-auth's default builder has no retry setting, hence the ADC file check.)
    fn application_default() -> Result<Self> {
        let unloadable = |e: &dyn fmt::Display| {
            GkeError::Auth(format!(
                "application default credentials could not be loaded ({e}); set a service-account key in the connection, or fix GOOGLE_APPLICATION_CREDENTIALS"
            ))
        };
        let inner = if adc_file_exists() {
            DefaultBuilder::default()
                .with_scopes([CLOUD_PLATFORM_SCOPE])
                .build_access_token_credentials()
                .map_err(|e| unloadable(&e))?
        } else {
            let backoff = Backoff::default();
            mds::Builder::default()
                .with_scopes([CLOUD_PLATFORM_SCOPE])
                .with_retry_policy(backoff.token_retry_policy())
                .with_backoff_policy(backoff.token_backoff_policy())
                .build_access_token_credentials()
                .map_err(|e| unloadable(&e))?
        };
        Ok(Self {
            inner,
            source: CredentialSource::ApplicationDefault,
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

    /// A Google client's builder set up as every client here is: these credentials, TLS by
    /// ring, no retries of the client's own (ours also cover "operation in progress" and log
    /// what they do), and `endpoint` when the API is not Google's (see `PluginSettings`).
    pub fn configure<F>(
        &self,
        builder: ClientBuilder<F, Credentials>,
        endpoint: Option<String>,
    ) -> ClientBuilder<F, Credentials> {
        install_crypto_provider();
        let builder = builder
            .with_credentials(self.for_clients())
            .with_retry_policy(NeverRetry);
        match endpoint {
            Some(endpoint) => builder.with_endpoint(endpoint),
            None => builder,
        }
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
                .contains("is not a JSON key or a readable key file path: /nonexistent/key.json"),
            "{e}"
        );
    }

    const PEM_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";

    #[test]
    fn key_material_is_never_echoed() {
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n");
        let json = format!(
            r#"{{"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "private_key": "{}"}}"#,
            pem.replace('\n', "\\n")
        );
        for pasted in [
            pem.clone(),
            format!("[{json}]"),
            format!("x{json}"),
            format!("key:\n{PEM_BODY}"),
            PEM_BODY.to_string(),
            PEM_BODY.repeat(100),
        ] {
            let e = GoogleCredentials::from_key_or_default(&pasted, FIELD).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, GkeError::Validation(_)), "{text}");
            assert!(
                text.contains(&format!("{FIELD}: is not a JSON key or a readable key file path (its text is not shown)")),
                "{text}"
            );
            assert!(!text.contains(&PEM_BODY[..20]), "{text}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_key() {
        // Parsed as the JSON it is (then refused for its type), not taken for a path.
        for key in [
            "\u{feff}{\"type\": \"authorized_user\"}",
            "\n \u{feff}{\"type\": \"authorized_user\"}\r\n",
        ] {
            let e = GoogleCredentials::from_key_or_default(key, FIELD).unwrap_err();
            assert!(
                e.to_string().contains("is not a service-account key"),
                "{e}"
            );
        }
        // Also in a key file.
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "\u{feff}{\"type\": \"authorized_user\"}").unwrap();
        let e = GoogleCredentials::from_key_or_default(&file.path().display().to_string(), FIELD)
            .unwrap_err();
        assert!(
            e.to_string().contains("is not a service-account key"),
            "{e}"
        );
    }

    #[test]
    fn key_input_kinds() {
        assert_eq!(
            KeyInput::parse(" \u{feff}\n", FIELD).unwrap(),
            KeyInput::Blank
        );
        assert_eq!(
            KeyInput::parse(" /keys/sa.json\n", FIELD).unwrap(),
            KeyInput::File("/keys/sa.json")
        );
        assert_eq!(
            KeyInput::parse("\u{feff}{\"a\": 1}", FIELD).unwrap(),
            KeyInput::Json("{\"a\": 1}")
        );
    }
}
