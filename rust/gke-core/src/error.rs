//! The one error hierarchy of gke-native, mirrored one-to-one by the Python exceptions.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = GkeError> = std::result::Result<T, E>;

/// One thing wrong with a configuration: which field (preset and parameter) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What a Google API (or the metadata server) answered when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status, e.g. 409.
    pub status: u16,
    /// Google's status name, e.g. `ALREADY_EXISTS`.
    pub code: String,
    /// The server's message, as it said it.
    pub message: String,
    /// The request that failed: `METHOD path` (no query string: it may carry tokens).
    pub request: String,
}

/// A registry's or GCS's failure: the message an admin reads, with the HTTP status and the
/// server's error code kept when a server refused (never parsed back out of the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed and what to do, as the admin reads it.
    pub message: String,
    /// The HTTP status of the refusal; `None` when no server refused (unreachable, a local
    /// file, an answer that made no sense).
    pub status: Option<u16>,
    /// The server's error code (`PERMISSION_DENIED`, a registry's `DENIED`), when it gave one.
    pub code: Option<String>,
}

impl Failure {
    /// A failure no server answered with a status.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: None,
            code: None,
        }
    }

    /// A refusal: the server answered `status` (0: no answer at all, kept as `None`).
    pub fn refused(message: impl Into<String>, status: u16, code: Option<String>) -> Self {
        Self {
            message: message.into(),
            status: (status != 0).then_some(status),
            code: code.filter(|c| !c.is_empty()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GkeError {
    /// The configuration is wrong; nothing was called.
    #[error("{}", validation_message(.0))]
    Validation(Vec<Problem>),
    #[error("{} {} ({}): {} [{}]", .0.status, .0.code, .0.request, .0.message, hint_for_status(.0.status))]
    Api(ApiFailure),
    /// What the work needs is not there (404): the cluster was deleted, the name is wrong.
    /// The failure's message says what is missing and what to do.
    #[error("{}", .0.message)]
    NotFound(ApiFailure),
    /// `code` is Google's status name of the operation's error (`RESOURCE_EXHAUSTED`), when it
    /// gave one.
    #[error("GKE operation {operation} failed: {message}")]
    OperationFailed {
        operation: String,
        message: String,
        code: Option<String>,
    },
    #[error("GKE operation {operation} still not finished after {}s; it goes on in GKE: run the action again to keep waiting", .waited.as_secs())]
    OperationTimeout { operation: String, waited: Duration },
    /// Credentials are missing, invalid or refused.
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Registry(Failure),
    #[error("{0}")]
    Storage(Failure),
    /// A local file or folder could not be written or created; `message` names `path`.
    #[error("{message}")]
    File { path: PathBuf, message: String },
    /// A client, its TLS or a cluster's CA or endpoint could not be set up: nothing was called.
    #[error("{0}")]
    Setup(String),
    /// DSS's own API refused a call or could not be reached (its message as DSS gave it).
    #[error("DSS: {0}")]
    Dss(String),
    /// The caller (Ctrl-C in a notebook, DSS aborting) interrupted a wait.
    #[error("interrupted")]
    Interrupted,
}

fn validation_message(problems: &[Problem]) -> String {
    let mut out = match problems.len() {
        1 => "The configuration has 1 problem; nothing was changed:".to_string(),
        n => format!("The configuration has {n} problems; nothing was changed:"),
    };
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

/// What a DSS admin can do about an API refusal, by HTTP status.
fn hint_for_status(status: u16) -> &'static str {
    match status {
        400 => "the request was refused as invalid: check the fields named in the message",
        401 => "the credentials were not accepted: check the connection's service-account key",
        403 => "the identity lacks a permission: grant the role named in the message",
        404 => "not found: check project, location and name",
        409 => "it already exists: pick another name or attach the existing one",
        429 => "quota or rate limit reached even after retries: try again later or raise the quota",
        _ if status >= 500 => "Google's service failed even after retries: try again later",
        _ => "see the message",
    }
}

impl From<Problem> for GkeError {
    fn from(problem: Problem) -> Self {
        Self::Validation(vec![problem])
    }
}

impl From<Vec<Problem>> for GkeError {
    fn from(problems: Vec<Problem>) -> Self {
        Self::Validation(problems)
    }
}

impl GkeError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![Problem::new(field, message)])
    }

    /// A storage failure no server answered with a status (see [`Failure::refused`]).
    pub fn storage(message: impl Into<String>) -> Self {
        Self::Storage(Failure::new(message))
    }

    /// A registry failure no server answered with a status (see [`Failure::refused`]).
    pub fn registry(message: impl Into<String>) -> Self {
        Self::Registry(Failure::new(message))
    }

    /// `path` could not be written or created: `what` is `write` or `create`.
    pub fn file(what: &str, path: impl Into<PathBuf>, cause: impl fmt::Display) -> Self {
        let path = path.into();
        let message = format!("cannot {what} {}: {cause}", path.display());
        Self::File { path, message }
    }

    /// A 404 said as what is missing and what to do (`message`); `request` is what was asked.
    pub fn not_found(request: impl Into<String>, message: impl Into<String>) -> Self {
        Self::NotFound(ApiFailure {
            status: 404,
            code: status_code_name(404).to_string(),
            message: message.into(),
            request: request.into(),
        })
    }

    /// The HTTP status a server refused with (`None` when none answered, or the error is not
    /// a server's answer). Callers decide on this, never on the message's text.
    pub fn status(&self) -> Option<u16> {
        match self {
            GkeError::Api(f) | GkeError::NotFound(f) => (f.status != 0).then_some(f.status),
            GkeError::Registry(f) | GkeError::Storage(f) => f.status,
            _ => None,
        }
    }

    /// Errors worth retrying with backoff: throttling, server-side failures and dropped
    /// connections (status 0: no answer at all).
    pub fn is_retryable(&self) -> bool {
        matches!(self, GkeError::Api(f) if f.status == 0 || is_retryable_status(f.status))
    }
}

pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Google's status name for an HTTP status, for servers that send no JSON error body.
pub fn status_code_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "UNKNOWN",
    }
}

impl ApiFailure {
    /// Reads Google's JSON error body (`{"error": {"code", "message", "status"}}`), or falls
    /// back to the HTTP status when the body is something else.
    pub fn from_response(status: u16, request: String, body: &str) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                let text = body.trim();
                if text.is_empty() {
                    "no message".to_string()
                } else {
                    text.chars().take(300).collect()
                }
            });
        let code = error
            .and_then(|e| e.get("status"))
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| status_code_name(status).to_string());
        Self {
            status,
            code,
            message,
            request,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_lists_every_problem() {
        let e = GkeError::Validation(vec![
            Problem::new(
                "node pool 'gpu' › Min nodes",
                "must be at most Max nodes (3)",
            ),
            Problem::new("Cluster name", "must start with a lowercase letter"),
        ]);
        let text = e.to_string();
        assert!(text.starts_with("The configuration has 2 problems"));
        assert!(text.contains("node pool 'gpu' › Min nodes: must be at most"));
        assert!(text.contains("Cluster name: must start"));
    }

    #[test]
    fn google_error_body_is_kept() {
        let body = r#"{"error":{"code":409,"message":"Already exists: projects/p/locations/z/clusters/c.","status":"ALREADY_EXISTS"}}"#;
        let f =
            ApiFailure::from_response(409, "POST /v1/projects/p/locations/z/clusters".into(), body);
        assert_eq!(f.code, "ALREADY_EXISTS");
        assert_eq!(
            f.message,
            "Already exists: projects/p/locations/z/clusters/c."
        );
        let text = GkeError::Api(f).to_string();
        assert!(text.contains("409 ALREADY_EXISTS"), "{text}");
        assert!(text.contains("attach the existing one"), "{text}");
    }

    #[test]
    fn non_json_bodies_fall_back_to_status_names() {
        let f = ApiFailure::from_response(503, "GET /x".into(), "upstream down");
        assert_eq!(f.code, "UNAVAILABLE");
        assert_eq!(f.message, "upstream down");
        assert!(GkeError::Api(f).is_retryable());
        let f = ApiFailure::from_response(403, "GET /x".into(), "");
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("PERMISSION_DENIED", "no message")
        );
        assert!(!GkeError::Api(f).is_retryable());
    }

    #[test]
    fn not_found_says_what_to_do_and_keeps_the_404() {
        let e = GkeError::not_found(
            "GET /v1/projects/p/locations/z/clusters/c",
            "GKE cluster c no longer exists in z: start the DSS cluster again",
        );
        assert_eq!(
            e.to_string(),
            "GKE cluster c no longer exists in z: start the DSS cluster again"
        );
        assert_eq!(e.status(), Some(404));
        let GkeError::NotFound(f) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (f.code.as_str(), f.request.as_str()),
            ("NOT_FOUND", "GET /v1/projects/p/locations/z/clusters/c")
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn storage_and_registry_failures_keep_status_and_code() {
        let e = GkeError::Storage(Failure::refused(
            "uploading gs://b/x: 403 PERMISSION_DENIED: no [hint]",
            403,
            Some("PERMISSION_DENIED".into()),
        ));
        assert_eq!(
            e.to_string(),
            "uploading gs://b/x: 403 PERMISSION_DENIED: no [hint]"
        );
        assert_eq!(e.status(), Some(403));
        // A number in the text is not a status.
        let e = GkeError::storage("the file changed: 403 bytes");
        assert_eq!(
            (e.to_string().as_str(), e.status()),
            ("the file changed: 403 bytes", None)
        );
        let e = GkeError::Registry(Failure::refused("img: refused (401 ...)", 401, None));
        assert_eq!(
            (e.to_string().as_str(), e.status()),
            ("img: refused (401 ...)", Some(401))
        );
        let e = GkeError::Registry(Failure::refused("img: unreachable", 0, Some(String::new())));
        let GkeError::Registry(f) = &e else {
            panic!("{e:?}")
        };
        assert_eq!((f.status, f.code.as_deref()), (None, None));
    }

    #[test]
    fn file_errors_name_the_path() {
        let e = GkeError::file("create", "/srv/dss/x", "Permission denied (os error 13)");
        assert_eq!(
            e.to_string(),
            "cannot create /srv/dss/x: Permission denied (os error 13)"
        );
        assert_eq!(e.status(), None);
        let GkeError::File { path, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path, &PathBuf::from("/srv/dss/x"));
    }

    #[test]
    fn setup_operation_and_other_errors_have_no_status() {
        let e = GkeError::Setup("cannot build the GKE client: no TLS".into());
        assert_eq!(
            (e.to_string().as_str(), e.status()),
            ("cannot build the GKE client: no TLS", None)
        );
        let e = GkeError::OperationFailed {
            operation: "CREATE_CLUSTER op-1".into(),
            message: "quota exceeded".into(),
            code: Some("RESOURCE_EXHAUSTED".into()),
        };
        assert_eq!(
            (e.to_string().as_str(), e.status()),
            (
                "GKE operation CREATE_CLUSTER op-1 failed: quota exceeded",
                None
            )
        );
        let e = GkeError::OperationTimeout {
            operation: "CREATE_CLUSTER op-1".into(),
            waited: Duration::from_secs(90),
        };
        assert!(e.to_string().contains("after 90s"));
        assert_eq!(e.status(), None);
        assert_eq!(GkeError::Auth("no key".into()).status(), None);
        assert_eq!(GkeError::validation("f", "m").status(), None);
        assert_eq!(GkeError::Interrupted.status(), None);
    }

    #[test]
    fn api_status_is_none_when_no_server_answered() {
        let answered = GkeError::Api(ApiFailure::from_response(409, "POST /x".into(), ""));
        assert_eq!(answered.status(), Some(409));
        let silent = GkeError::Api(ApiFailure {
            status: 0,
            code: "UNAVAILABLE".into(),
            message: "no answer".into(),
            request: "GET /x".into(),
        });
        assert_eq!(silent.status(), None);
        assert!(silent.is_retryable());
    }
}
