//! The log of every API request the emulator received, so tests can assert exactly what a client
//! sent and how many calls it made.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

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
