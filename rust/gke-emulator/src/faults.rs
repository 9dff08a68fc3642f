//! Injected faults: the next N requests matching a method and path fail with an HTTP error, have
//! their connection reset (before or after the server acted on them), or are delayed.

use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// HTTP method to match; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Substring of the request path to match; any when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// How many matching requests the fault applies to.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(flatten)]
    pub action: Action,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Action {
    /// Answer with this HTTP status and Google's error body for it.
    Error { status: u16 },
    /// Close the connection with a TCP reset instead of answering.
    Reset,
    /// Do what the request asks, then reset the connection instead of answering: the client
    /// never learns that the server acted (a lost answer).
    ActThenReset,
    /// Answer normally after this delay.
    Delay {
        #[serde(rename = "delayMs")]
        delay_ms: u64,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Error { .. } => "error",
            Action::Reset => "reset",
            Action::ActThenReset => "actThenReset",
            Action::Delay { .. } => "delay",
        }
    }
}

#[derive(Default)]
pub struct Faults {
    pending: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Adds a fault; one that applies to no request (count 0) is dropped.
    pub fn add(&self, fault: Fault) {
        if fault.count > 0 {
            self.lock().push(fault);
        }
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Consumes one use of the first fault matching the request.
    pub fn take(&self, method: &str, path: &str) -> Option<Action> {
        self.take_where(method, path, false)
    }

    /// Like [`Faults::take`], but only faults that name a path: a catch-all fault is meant for the
    /// Google APIs and is not consumed by a cluster's Kubernetes API.
    pub fn take_with_path(&self, method: &str, path: &str) -> Option<Action> {
        self.take_where(method, path, true)
    }

    fn take_where(&self, method: &str, path: &str, path_required: bool) -> Option<Action> {
        let mut pending = self.lock();
        let index = pending.iter().position(|f| {
            f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path
                    .as_deref()
                    .map_or(!path_required, |p| path.contains(p))
        })?;
        let action = pending[index].action.clone();
        pending[index].count -= 1;
        if pending[index].count == 0 {
            pending.remove(index);
        }
        Some(action)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_matches_method_and_path_count_times() {
        let faults = Faults::default();
        faults.add(serde_json::from_str(r#"{"method": "POST", "path": "/clusters", "count": 2, "kind": "error", "status": 503}"#).unwrap());
        assert!(faults
            .take("GET", "/v1/projects/p/locations/l/clusters")
            .is_none());
        assert!(faults.take("POST", "/v1/other").is_none());
        assert!(matches!(
            faults.take("POST", "/v1/x/clusters"),
            Some(Action::Error { status: 503 })
        ));
        assert!(faults.take("post", "/v1/x/clusters").is_some());
        assert!(faults.take("POST", "/v1/x/clusters").is_none());
    }

    #[test]
    fn act_then_reset_is_a_kind() {
        let faults = Faults::default();
        faults.add(
            serde_json::from_str(r#"{"path": "/nodePools", "kind": "actThenReset"}"#).unwrap(),
        );
        assert!(matches!(
            faults.take("POST", "/v1/x/nodePools"),
            Some(Action::ActThenReset)
        ));
    }
}
