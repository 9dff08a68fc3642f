//! The one error hierarchy of gke-native, mirrored one-to-one by the Python exceptions.

use std::fmt;
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

#[derive(Debug, thiserror::Error)]
pub enum GkeError {
    /// The configuration is wrong; nothing was called.
    #[error("{}", validation_message(.0))]
    Validation(Vec<Problem>),
    #[error("{} {} ({}): {} [{}]", .0.status, .0.code, .0.request, .0.message, hint_for_status(.0.status))]
    Api(ApiFailure),
    #[error("GKE operation {operation} failed: {message}")]
    OperationFailed { operation: String, message: String },
    #[error("GKE operation {operation} still not finished after {}s; it goes on in GKE: run the action again to keep waiting", .waited.as_secs())]
    OperationTimeout { operation: String, waited: Duration },
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Storage(String),
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
}
