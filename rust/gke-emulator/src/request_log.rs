//! The log of every API request the emulator received, so tests can assert exactly what a client
//! sent and how many calls it made.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::Serialize;
use serde_json::Value;

use crate::timeline::{now_ms, rfc3339};

/// What stands for a secret in the log.
pub const REDACTED: &str = "[redacted]";

/// Headers as logged: credentials are secrets, so only their scheme is kept
/// (`Bearer [redacted]`, `Basic [redacted]`).
pub fn logged_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = if k == header::AUTHORIZATION || k == header::PROXY_AUTHORIZATION {
                let text = String::from_utf8_lossy(v.as_bytes());
                match text.trim().split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                    None => REDACTED.to_string(),
                }
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (k.to_string(), value)
        })
        .collect()
}

/// A token request's form fields that are credentials (a signed JWT grant, a refresh token,
/// a client secret), redacted in its logged body.
pub fn redact_form(body: &str) -> String {
    const SECRET_FIELDS: [&str; 4] = [
        "assertion",
        "refresh_token",
        "client_secret",
        "subject_token",
    ];
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_FIELDS.contains(&k) => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub time: String,
    pub method: String,
    pub path: String,
    /// The raw query string, empty when there was none.
    pub query: String,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON when it parses, else as text; null when empty.
    pub body: Value,
    /// The HTTP status answered; null when a fault reset the connection.
    pub status: Option<u16>,
    /// The injected fault that answered, if any (`error`, `reset`, `delay`).
    pub fault: Option<String>,
    /// For a cluster's Kubernetes API: the cluster (`projects/…/clusters/…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// For a cluster's Kubernetes API: who the bearer token stands for (null when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

impl LoggedRequest {
    /// The entry for a request received now, not yet answered.
    pub fn new(parts: &Parts, body: Value) -> Self {
        LoggedRequest {
            time: rfc3339(now_ms()),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers: logged_headers(&parts.headers),
            body,
            status: None,
            fault: None,
            cluster: None,
            identity: None,
        }
    }
}

/// A body as logged: JSON when it parses, else text; null when empty.
pub fn logged_body(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(bytes).into_owned()))
}

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<LoggedRequest>>,
}

impl RequestLog {
    /// Appends an entry and returns its index, to record the answer later.
    pub fn push(&self, entry: LoggedRequest) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push(entry);
        entries.len() - 1
    }

    pub fn answered(&self, index: usize, status: Option<u16>, fault: Option<&str>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(index) {
            entry.status = status;
            entry.fault = fault.map(str::to_string);
        }
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Bearer ya29.secret-token".parse().unwrap(),
        );
        headers.insert(
            header::PROXY_AUTHORIZATION,
            "Basic dXNlcjpwYXNz".parse().unwrap(),
        );
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let logged = logged_headers(&headers);
        assert_eq!(logged["authorization"], "Bearer [redacted]");
        assert_eq!(logged["proxy-authorization"], "Basic [redacted]");
        assert_eq!(logged["content-type"], "application/json");
        assert_eq!(
            redact_form("grant_type=urn%3Ajwt-bearer&assertion=eyJhbGciOi.x.y"),
            "grant_type=urn%3Ajwt-bearer&assertion=[redacted]"
        );
    }
}
