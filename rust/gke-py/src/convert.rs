//! Values across the boundary: Rust results to Python data, Python data to JSON, callbacks.

use pyo3::call::PyCallArgs;
use pyo3::prelude::*;
use serde_json::Value;

use gke_core::config::record::DssCluster;

use crate::errors;

/// A result as plain Python data (JSON types only).
pub fn to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(pythonize::pythonize(py, &json)?)
}

/// How deep a config from Python may nest: DSS's own are a few levels; far deeper is a
/// mistake (and unbounded depth would exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Python data as JSON; what JSON cannot hold is a `ValidationError` naming where, `what` being
/// the argument's name (e.g. `config.a[2]`).
pub fn from_python(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut path = what.to_string();
    if let Err(problem) = check_shape(value, &mut path, &mut Vec::new()) {
        let (field, message) = problem.split_once(": ").unwrap_or((what, &problem));
        return Err(errors::to_py(gke_core::GkeError::validation(
            field, message,
        )));
    }
    pythonize::depythonize(value).map_err(|e| {
        errors::to_py(gke_core::GkeError::validation(
            what,
            format!("is not JSON-like data: {e}"),
        ))
    })
}

/// Refuses what JSON cannot hold before converting: nesting deeper than [`MAX_DEPTH`], a
/// container inside itself, a float that is not finite. `path` names where, e.g. `config.a[2]`.
fn check_shape(
    value: &Bound<'_, PyAny>,
    path: &mut String,
    ancestors: &mut Vec<usize>,
) -> Result<(), String> {
    use pyo3::types::{PyDict, PyFloat, PyList, PyTuple};
    let is_container = value.is_instance_of::<PyDict>()
        || value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>();
    if !is_container {
        if let Ok(f) = value.cast::<PyFloat>() {
            if !f.value().is_finite() {
                return Err(format!(
                    "{path}: {} is not a number JSON can hold",
                    f.value()
                ));
            }
        }
        let huge = value.is_instance_of::<pyo3::types::PyInt>()
            && value.extract::<i64>().is_err()
            && value.extract::<u64>().is_err();
        if huge {
            return Err(format!("{path}: {value} is far out of range"));
        }
        return Ok(());
    }
    let id = value.as_ptr() as usize;
    if ancestors.contains(&id) {
        return Err(format!(
            "{path}: contains itself; a configuration is plain data"
        ));
    }
    if ancestors.len() >= MAX_DEPTH {
        return Err(format!("{path}: nested more than {MAX_DEPTH} levels deep"));
    }
    ancestors.push(id);
    let len = path.len();
    let outcome = (|| {
        if let Ok(dict) = value.cast::<PyDict>() {
            for (k, v) in dict.iter() {
                path.push_str(&format!(
                    ".{}",
                    k.str().map(|s| s.to_string()).unwrap_or_default()
                ));
                check_shape(&v, path, ancestors)?;
                path.truncate(len);
            }
        } else {
            for (i, v) in value.try_iter().map_err(|e| e.to_string())?.enumerate() {
                let v = v.map_err(|e| e.to_string())?;
                path.push_str(&format!("[{i}]"));
                check_shape(&v, path, ancestors)?;
                path.truncate(len);
            }
        }
        Ok(())
    })();
    path.truncate(len);
    ancestors.pop();
    outcome
}

/// A Python progress callback as a Rust one, called with the argument tuple `A`: only the call
/// holds the GIL, and a failing callback is logged, never raised (it must not stop the work).
pub fn callback<A>(progress: Option<Py<PyAny>>) -> Option<impl Fn(A) + Send + Sync + 'static>
where
    A: for<'py> PyCallArgs<'py>,
{
    progress.map(|callback| {
        move |args: A| {
            Python::attach(|py| {
                if let Err(e) = callback.call1(py, args) {
                    tracing::warn!("the progress callback failed: {e}");
                }
            })
        }
    })
}

/// A DSS cluster from its record as `dss_gke.dss.dss_cluster` returns it
/// (`{"id", "type", "config", "plugin_config", "data"}`).
pub fn dss_cluster(record: &Bound<'_, PyAny>) -> PyResult<DssCluster> {
    let record = from_python(record, "DSS cluster")?;
    DssCluster::from_record(&record).map_err(errors::to_py)
}
