//! Bindings of the cluster lifecycle: plan, start, stop, attach, and the credential helper.

use std::path::PathBuf;

use pyo3::prelude::*;
use serde_json::Value;

use gke_core::auth::credentials::GoogleCredentials;
use gke_core::auth::token_cache;
use gke_core::cluster::{delete, plan, start};
use gke_core::config::host::Host;
use gke_core::config::settings::PluginSettings;

use crate::{convert, errors, logging, runtime};

/// The plugin settings (DSS's `plugin_config`); `None` is "all defaults".
pub(crate) fn settings(plugin_config: Option<&Bound<'_, PyAny>>) -> PyResult<PluginSettings> {
    let value = match plugin_config {
        Some(v) => convert::from_python(v, "plugin_config")?,
        None => Value::Null,
    };
    PluginSettings::from_dss(&value).map_err(errors::to_py)
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
    let config = convert::from_python(config, "config")?;
    let settings = settings(plugin_config)?;
    let id = dss_cluster_id.to_string();
    let request = runtime::block_on(py, async move {
        plan::plan(&config, &settings, &id)
            .await
            .map(|p| gke_core::config::create_request::readable(&p.request))
    })?;
    convert::to_python(py, &request)
}

/// A start of the cluster lifecycle (start, attach): the component's config, the plugin
/// settings and what only the component's process knows; `[settings, data]` for DSS.
macro_rules! start_function {
    ($(#[$doc:meta])* $name:ident => $run:path) => {
        $(#[$doc])*
        #[pyfunction]
        pub fn $name<'py>(
            py: Python<'py>,
            config: &Bound<'py, PyAny>,
            plugin_config: &Bound<'py, PyAny>,
            dss_cluster_id: String,
            workdir: PathBuf,
            python: String,
            python_path: String,
        ) -> PyResult<Bound<'py, PyAny>> {
            logging::refresh_level(py);
            let config = convert::from_python(config, "config")?;
            let plugin = settings(Some(plugin_config))?;
            let host = Host {
                dss_cluster_id,
                workdir,
                python,
                python_path,
            };
            let (settings, data) = runtime::block_on(py, async move {
                $run(&config, &plugin, &host).await
            })?;
            convert::to_python(py, &Value::Array(vec![settings, data]))
        }
    };
}

start_function! {
    /// Creates (or resumes, or adopts) the cluster; returns `[settings, data]` for DSS.
    start_cluster => start::start
}

start_function! {
    /// Attaches an existing cluster; returns `[settings, data]` for DSS. Creates nothing.
    attach_cluster => start::attach
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
    let config = convert::from_python(config, "config")?;
    let plugin = settings(Some(plugin_config))?;
    let data = convert::from_python(data, "data")?;
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
    convert::to_python(py, &credential)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(plan_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(start_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(attach_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(stop_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(exec_credential, m)?)?;
    Ok(())
}
