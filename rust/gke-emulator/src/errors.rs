//! Google's JSON error body (`{"error": {code, message, status, details}}`) and the rpc codes behind it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answered the way Google's front end answers it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub http: StatusCode,
    pub status: &'static str,
    pub message: String,
    pub details: Vec<Value>,
}

impl ApiError {
    fn new(http: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            http,
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// INVALID_ARGUMENT with a `google.rpc.BadRequest` detail, so clients can show which field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::invalid_argument(message.clone());
        error.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        }));
        error
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }

    pub fn unimplemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "UNIMPLEMENTED", message)
    }

    /// The error an injected fault answers with, for the HTTP statuses tests may ask for.
    pub fn injected(http: u16) -> Self {
        let http = StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (status, message) = match http.as_u16() {
            429 => (
                "RESOURCE_EXHAUSTED",
                "Quota exceeded (injected by gke-emulator).",
            ),
            503 => (
                "UNAVAILABLE",
                "The service is currently unavailable (injected by gke-emulator).",
            ),
            502 | 504 => ("UNAVAILABLE", "Bad gateway (injected by gke-emulator)."),
            403 => (
                "PERMISSION_DENIED",
                "Permission denied (injected by gke-emulator).",
            ),
            404 => ("NOT_FOUND", "Not found (injected by gke-emulator)."),
            400 => (
                "INVALID_ARGUMENT",
                "Invalid argument (injected by gke-emulator).",
            ),
            _ => (
                "INTERNAL",
                "Internal error encountered (injected by gke-emulator).",
            ),
        };
        Self::new(http, status, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.http.as_u16(),
            "message": self.message,
            "status": self.status,
        });
        // Google leaves `details` out when it has none.
        if !self.details.is_empty() {
            error["details"] = Value::from(self.details);
        }
        (self.http, axum::Json(json!({"error": error}))).into_response()
    }
}

/// The numeric `google.rpc.Code` of a status name, as carried by an operation's `error.code`.
pub fn rpc_code(status: &str) -> i64 {
    match status {
        "CANCELLED" => 1,
        "UNKNOWN" => 2,
        "INVALID_ARGUMENT" => 3,
        "DEADLINE_EXCEEDED" => 4,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "ABORTED" => 10,
        "OUT_OF_RANGE" => 11,
        "UNIMPLEMENTED" => 12,
        "UNAVAILABLE" => 14,
        _ => 13,
    }
}

pub type ApiResult<T = Value> = Result<T, ApiError>;
