//! `dss_gke._native`: the PyO3 face of gke-core. Conversions only — no product logic lives here.

mod clusters;
mod convert;
mod dss_setup;
mod errors;
mod gcs;
mod logging;
mod push;
mod results;
mod running;
mod runtime;

use std::time::Duration;

use pyo3::prelude::*;

use gke_core::environment::{self, EnvironmentReport as CoreEnvironmentReport};
use gke_core::google::metadata::MetadataServer;

use crate::results::result_class;

result_class! {
    /// What the plugin sees of the host it runs on (see `environment_report`).
    EnvironmentReport wraps CoreEnvironmentReport, repr = environment_repr,
    fields {
        /// The plugin's version.
        version: String,
        /// `True` when a GCE metadata server answered: the host is a Google Cloud VM.
        on_gce: bool = |r: &CoreEnvironmentReport| r.gce.is_some(),
    }
}

fn environment_repr(r: &CoreEnvironmentReport) -> String {
    match &r.gce {
        Some(gce) => format!(
            "EnvironmentReport(version={:?}, project={:?}, zone={:?})",
            r.version, gce.project_id, gce.zone
        ),
        None => format!("EnvironmentReport(version={:?}, on_gce=False)", r.version),
    }
}

/// Checks the DSS host: the plugin's build and, on Google Cloud, the host's project, zone,
/// network and service account from the metadata server.
///
/// `metadata_host` is `host[:port]` (default: `GCE_METADATA_HOST`, else
/// metadata.google.internal); `timeout` bounds each request, in seconds.
#[pyfunction]
#[pyo3(signature = (metadata_host=None, timeout=2.0))]
fn environment_report(
    py: Python<'_>,
    metadata_host: Option<String>,
    timeout: f64,
) -> PyResult<EnvironmentReport> {
    logging::refresh_level(py);
    let timeout = seconds("timeout", timeout)?;
    let server = match metadata_host {
        Some(host) => MetadataServer::new(&host, timeout),
        None => MetadataServer::from_env(timeout),
    }
    .map_err(errors::to_py)?;
    let inner = runtime::block_on(py, async move { environment::check(&server).await })?;
    Ok(EnvironmentReport { inner })
}

fn seconds(field: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        errors::to_py(gke_core::GkeError::validation(
            field,
            format!("{value} is not a number of seconds"),
        ))
    })
}

/// A whole number from Python, whatever its size: beyond i64 it is a ValidationError naming
/// `field` (not an OverflowError); not an int at all, a ValidationError too.
fn whole(field: &str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    use pyo3::types::{PyBool, PyInt};
    let problem = |message: String| errors::to_py(gke_core::GkeError::validation(field, message));
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(problem(format!(
            "{} is not a whole number",
            value.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    value
        .extract::<i64>()
        .map_err(|_| problem(format!("{value} is far out of range")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", gke_core::VERSION)?;
    errors::register(m)?;
    logging::install(py)?;
    m.add_class::<EnvironmentReport>()?;
    m.add_function(wrap_pyfunction!(environment_report, m)?)?;
    clusters::register(m)?;
    gcs::register(m)?;
    running::register(m)?;
    push::register(m)?;
    dss_setup::register(m)?;
    Ok(())
}
