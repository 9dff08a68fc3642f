//! Bindings of the cluster lifecycle: plan, start, stop, attach, and the credential helper.

use std::path::PathBuf;

use pyo3::prelude::*;
use pythonize::{depythonize, pythonize};
use serde_json::Value;

use gke_core::auth::credentials::GoogleCredentials;
use gke_core::auth::token_cache;
use gke_core::cluster::{delete, plan, start};
use gke_core::config::host::Host;
use gke_core::config::settings::PluginSettings;

use crate::{errors, logging, runtime};

/// How deep a config from Python may nest: DSS's own are a few levels; far deeper is a
/// mistake (and unbounded depth would exhaust the stack).
const MAX_DEPTH: usize = 64;

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

pub(crate) fn to_json(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut path = what.to_string();
    if let Err(problem) = check_shape(value, &mut path, &mut Vec::new()) {
        let (field, message) = problem.split_once(": ").unwrap_or((what, &problem));
        return Err(errors::to_py(gke_core::GkeError::validation(
            field, message,
        )));
    }
    depythonize(value).map_err(|e| {
        errors::to_py(gke_core::GkeError::validation(
            what,
            format!("is not JSON-like data: {e}"),
        ))
    })
}

/// The plugin settings (DSS's `plugin_config`); `None` is "all defaults".
pub(crate) fn settings(plugin_config: Option<&Bound<'_, PyAny>>) -> PyResult<PluginSettings> {
    let value = match plugin_config {
        Some(v) => to_json(v, "plugin_config")?,
        None => Value::Null,
    };
    PluginSettings::from_dss(&value).map_err(errors::to_py)
}

fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize(py, value)?)
}

/// The create request `start_cluster` would send: `{"parent": ..., "cluster": {...}}`.
///
/// Validates the whole configuration first (`ValidationError` lists every problem) and
/// looks up blanks (metadata server, Compute) but creates nothing. Never contains a secret.
#[pyfunction]
#[pyo3(signature = (config, plugin_config=None, dss_cluster_id="dss-cluster"))]
pub fn plan_cluster<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    plugin_config: Option<&Bound<'py, PyAny>>,
    dss_cluster_id: &str,
) -> PyResult<Bound<'py, PyAny>> {
    logging::refresh_level(py);
    let config = to_json(config, "config")?;
    let settings = settings(plugin_config)?;
    let id = dss_cluster_id.to_string();
    let request = runtime::block_on(py, async move {
        plan::plan(&config, &settings, &id)
            .await
            .map(|p| gke_core::config::create_request::readable(&p.request))
    })?;
    to_py(py, &request)
}

fn host(dss_cluster_id: String, workdir: PathBuf, python: String, python_path: String) -> Host {
    Host {
        dss_cluster_id,
        workdir,
        python,
        python_path,
    }
}

/// Runs start or attach with what both take; `[settings, data]` for DSS.
fn start_like<'py, F, Fut>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    plugin_config: &Bound<'py, PyAny>,
    host: Host,
    run: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(Value, PluginSettings, Host) -> Fut + Send,
    Fut: std::future::Future<Output = gke_core::Result<(Value, Value)>> + Send,
{
    logging::refresh_level(py);
    let config = to_json(config, "config")?;
    let plugin = settings(Some(plugin_config))?;
    let (settings, data) = runtime::block_on(py, run(config, plugin, host))?;
    to_py(py, &Value::Array(vec![settings, data]))
}

/// Creates (or resumes, or adopts) the cluster; returns `[settings, data]` for DSS.
#[pyfunction]
pub fn start_cluster<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    plugin_config: &Bound<'py, PyAny>,
    dss_cluster_id: String,
    workdir: PathBuf,
    python: String,
    python_path: String,
) -> PyResult<Bound<'py, PyAny>> {
    let host = host(dss_cluster_id, workdir, python, python_path);
    start_like(py, config, plugin_config, host, |c, p, h| async move {
        start::start(&c, &p, &h).await
    })
}

/// Attaches an existing cluster; returns `[settings, data]` for DSS. Creates nothing.
#[pyfunction]
pub fn attach_cluster<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    plugin_config: &Bound<'py, PyAny>,
    dss_cluster_id: String,
    workdir: PathBuf,
    python: String,
    python_path: String,
) -> PyResult<Bound<'py, PyAny>> {
    let host = host(dss_cluster_id, workdir, python, python_path);
    start_like(py, config, plugin_config, host, |c, p, h| async move {
        start::attach(&c, &p, &h).await
    })
}

/// Deletes the cluster recorded in `data` and waits; a cluster already gone is success.
#[pyfunction]
pub fn stop_cluster(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    plugin_config: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
) -> PyResult<()> {
    logging::refresh_level(py);
    let config = to_json(config, "config")?;
    let plugin = settings(Some(plugin_config))?;
    let data = to_json(data, "data")?;
    runtime::block_on(
        py,
        async move { delete::stop(&config, &plugin, &data).await },
    )
}

/// An ExecCredential for kubectl: a token from the credential chain (the key file when
/// given), cached 0600 in `cache_file` for a few minutes.
#[pyfunction]
#[pyo3(signature = (cache_file, key_file=None))]
pub fn exec_credential<'py>(
    py: Python<'py>,
    cache_file: PathBuf,
    key_file: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    logging::refresh_level(py);
    let credential = runtime::block_on(py, async move {
        let credentials = GoogleCredentials::from_key_or_default(
            key_file.as_deref().unwrap_or(""),
            "--key-file",
        )?;
        let (token, expires) = token_cache::token(&credentials, &cache_file).await?;
        Ok(token_cache::exec_credential(&token, expires))
    })?;
    to_py(py, &credential)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(plan_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(start_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(attach_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(stop_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(exec_credential, m)?)?;
    Ok(())
}
