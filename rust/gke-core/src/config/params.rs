//! The parameters of the cluster actions and scenario steps, typed as their descriptors declare
//! them, with every default in one place (`Default`, tied to the descriptors by a test).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::form::parse_form;
use crate::error::{GkeError, Result};

/// How long a change may take before `OperationTimeout` (it goes on in GKE).
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The test pod's image when the action leaves it blank.
pub const NETWORK_TEST_IMAGE: &str = "busybox:1.36";

/// The test pod's timeout when the action leaves it blank, in seconds.
pub const NETWORK_TEST_TIMEOUT_SECONDS: i64 = 120;

/// The namespace of the test pod (the action always uses it; a notebook may choose another).
pub const NETWORK_TEST_NAMESPACE: &str = "default";

/// "Push base images": blobs in flight at once when the action leaves it blank.
pub const PUSH_PARALLELISM: usize = 6;

/// The Docker Engine's socket when the action leaves it blank.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Notebook only (`Cluster.wait_ready`): how long to wait by default. The step's default is
/// [`WaitParams::default`] (20 minutes).
pub const NOTEBOOK_WAIT_READY: Duration = Duration::from_secs(600);

/// Notebook only (`Cluster.set_autoscaling`): the limits per zone when none are given. The
/// forms have their own (0 and 3), and the action and step require both.
pub const NOTEBOOK_AUTOSCALING_MIN: i64 = 0;
pub const NOTEBOOK_AUTOSCALING_MAX: i64 = 1;

/// The longest wait a step or action accepts: a day.
pub const MAX_WAIT_MINUTES: f64 = 24.0 * 60.0;

/// The forms of the actions and steps: their labels name the fields in problems.
pub mod forms {
    pub const TEST_NETWORK: &str =
        include_str!("../../../../cluster-actions/test-network/runnable.json");
    pub const ADD_POOL: &str =
        include_str!("../../../../cluster-actions/add-node-pool/runnable.json");
    pub const RESIZE: &str =
        include_str!("../../../../cluster-actions/resize-node-pool/runnable.json");
    pub const AUTOSCALING: &str =
        include_str!("../../../../cluster-actions/set-autoscaling/runnable.json");
    pub const RESIZE_STEP: &str =
        include_str!("../../../../python-steps/resize-node-pool/step.json");
    pub const AUTOSCALING_STEP: &str =
        include_str!("../../../../python-steps/set-autoscaling/step.json");
    pub const WAIT_STEP: &str =
        include_str!("../../../../python-steps/wait-cluster-ready/step.json");
}

/// An action's or step's params from its form (`descriptor`), a wrong type named by its label.
pub fn params<T: DeserializeOwned>(value: &Value, descriptor: &str) -> Result<T> {
    parse_form(value, None, descriptor).map_err(|p| GkeError::Validation(vec![p]))
}

pub fn required(value: Option<i64>, field: &str) -> Result<i64> {
    value.ok_or_else(|| GkeError::validation(field, "is required"))
}

pub fn in_range(value: i64, range: std::ops::RangeInclusive<i64>, field: &str) -> Result<i32> {
    if range.contains(&value) {
        Ok(value as i32)
    } else {
        Err(GkeError::validation(
            field,
            format!(
                "{value} is not between {} and {}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// "Resize node pool" (action and step).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ResizeParams {
    pub pool: String,
    pub node_count: Option<i64>,
    pub delete_pool: bool,
}

impl ResizeParams {
    /// The size asked for (checked against GKE's range by the resize itself).
    pub fn count(&self) -> Result<i64> {
        required(self.node_count, "Number of nodes")
    }
}

/// "Set autoscaling" (action and step).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct AutoscalingParams {
    pub pool: String,
    pub enable: bool,
    pub min_nodes: Option<i64>,
    pub max_nodes: Option<i64>,
}

impl Default for AutoscalingParams {
    fn default() -> Self {
        Self {
            pool: String::new(),
            enable: true,
            min_nodes: None,
            max_nodes: None,
        }
    }
}

impl AutoscalingParams {
    /// The limits (checked by `node_pools::set_autoscaling`), or None to turn it off.
    pub fn limits(&self) -> Result<Option<(i64, i64)>> {
        if !self.enable {
            return Ok(None);
        }
        Ok(Some((
            required(self.min_nodes, "Min nodes")?,
            required(self.max_nodes, "Max nodes")?,
        )))
    }
}

/// "Test network connectivity".
#[derive(Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct NetworkParams {
    pub host: String,
    pub port: Option<i64>,
    pub image: String,
    pub timeout_seconds: i64,
}

impl Default for NetworkParams {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: None,
            image: NETWORK_TEST_IMAGE.into(),
            timeout_seconds: NETWORK_TEST_TIMEOUT_SECONDS,
        }
    }
}

/// "Add node pool".
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AddPoolParams {
    pub node_pool: Value,
}

/// "Wait for GKE cluster ready" (step).
#[derive(Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct WaitParams {
    pub timeout_minutes: f64,
}

impl Default for WaitParams {
    fn default() -> Self {
        Self {
            timeout_minutes: 20.0,
        }
    }
}

impl WaitParams {
    pub fn timeout(&self) -> Result<Duration> {
        let minutes = self.timeout_minutes;
        if !(minutes.is_finite() && minutes > 0.0 && minutes <= MAX_WAIT_MINUTES) {
            return Err(GkeError::validation(
                "Timeout",
                format!("{minutes:?} minutes is not between 0 and {MAX_WAIT_MINUTES} (a day)"),
            ));
        }
        Ok(Duration::from_secs_f64(minutes * 60.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_whole_bounded_and_named() {
        let p: ResizeParams = params(&json!({"node_count": 3.0}), forms::RESIZE).unwrap();
        assert_eq!(p.node_count, Some(3));
        let e = params::<ResizeParams>(&json!({"node_count": 2.5}), forms::RESIZE).unwrap_err();
        assert!(
            e.to_string()
                .contains("Number of nodes: has the wrong type"),
            "{e}"
        );
        let e = required(None, "Number of nodes").unwrap_err();
        assert!(
            e.to_string().contains("Number of nodes: is required"),
            "{e}"
        );
        let e = in_range(1i64 << 31, 1..=65535, "DSS port").unwrap_err();
        assert!(e
            .to_string()
            .contains("2147483648 is not between 1 and 65535"));
        let off: AutoscalingParams = params(&json!({"enable": false}), forms::AUTOSCALING).unwrap();
        assert_eq!(off.limits().unwrap(), None);
        let on: AutoscalingParams = params(
            &json!({"min_nodes": 0, "max_nodes": 4.0}),
            forms::AUTOSCALING,
        )
        .unwrap();
        assert_eq!(on.limits().unwrap(), Some((0, 4)));
        for minutes in [1e300, f64::NAN, -1.0, 0.0] {
            let e = WaitParams {
                timeout_minutes: minutes,
            }
            .timeout()
            .unwrap_err();
            assert!(
                matches!(&e, GkeError::Validation(ps) if ps[0].field == "Timeout"),
                "{e}"
            );
            assert!(e.to_string().len() < 200, "{e}");
        }
    }
}

/// Each action's and step's form and the struct reading it agree on names and defaults.
#[cfg(test)]
pub(crate) mod descriptor_check {
    use super::*;

    fn form(descriptor: &str) -> (Vec<String>, serde_json::Map<String, Value>) {
        let d: Value = serde_json::from_str(descriptor).unwrap();
        let mut names = Vec::new();
        let mut defaults = serde_json::Map::new();
        for p in d["params"].as_array().unwrap() {
            if p["type"] == "SEPARATOR" {
                continue;
            }
            let name = p["name"].as_str().unwrap().to_string();
            if name == "clusterId" || name == "cluster" {
                continue; // which DSS cluster: read by the shim, not an action param
            }
            if let Some(v) = p.get("defaultValue") {
                defaults.insert(name.clone(), v.clone());
            }
            names.push(name);
        }
        names.sort();
        (names, defaults)
    }

    /// The struct's `Default` is what the form's defaults parse to, and its fields are the
    /// form's names (`mandatory`: the params without a Rust default).
    pub(crate) fn check<T: DeserializeOwned + Default + Serialize>(
        descriptor: &str,
        mandatory: &[&str],
    ) {
        let (names, mut defaults) = form(descriptor);
        for m in mandatory {
            defaults.remove(*m); // no Rust default: "is required" when DSS sends none
        }
        let from_form: Value =
            serde_json::to_value(params::<T>(&Value::Object(defaults), descriptor).unwrap())
                .unwrap();
        let rust: Value = serde_json::to_value(T::default()).unwrap();
        assert_eq!(from_form, rust, "defaults differ: {descriptor}");
        let fields: Vec<&String> = rust.as_object().unwrap().keys().collect();
        let mut fields: Vec<String> = fields.into_iter().cloned().collect();
        fields.sort();
        assert_eq!(fields, names);
    }

    #[test]
    fn forms_and_structs_agree() {
        let root = "../../";
        let read = |p: &str| std::fs::read_to_string(format!("{root}{p}")).unwrap();
        check::<ResizeParams>(
            &read("cluster-actions/resize-node-pool/runnable.json"),
            &["node_count"],
        );
        check::<AutoscalingParams>(
            &read("cluster-actions/set-autoscaling/runnable.json"),
            &["min_nodes", "max_nodes"],
        );
        check::<NetworkParams>(&read("cluster-actions/test-network/runnable.json"), &[]);
        check::<AddPoolParams>(&read("cluster-actions/add-node-pool/runnable.json"), &[]);
        check::<WaitParams>(&read("python-steps/wait-cluster-ready/step.json"), &[]);
        check::<AutoscalingParams>(
            &read("python-steps/set-autoscaling/step.json"),
            &["min_nodes", "max_nodes"],
        );
    }
}
