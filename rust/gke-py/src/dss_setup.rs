//! "Set up DSS for this cluster" in `dss_gke._native`: DSS reached through the shim's object
//! (`dss_gke.dss.DssAdmin`, built on `dataikuapi`), everything else in gke-core.

use pyo3::prelude::*;
use serde_json::Value;

use gke_core::dss_setup::{self, DssAdmin, SetupReport, SetupRequest};
use gke_core::{GkeError as CoreError, Result as CoreResult};

use crate::results::result_class;
use crate::{convert, errors, logging, push, runtime};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DssSetupReport>()?;
    m.add_function(wrap_pyfunction!(setup_dss_action, m)?)?;
    Ok(())
}

result_class! {
    /// What "Set up DSS for this cluster" planned or did: each DSS setting with its outcome
    /// (``steps``: ``what``, ``name``, ``outcome``, ``why``, ``changes`` before → after), the
    /// settings to make by hand, and the push of the base images.
    DssSetupReport wraps SetupReport, repr = setup_repr,
    fields {
        /// Whether the changes were made (else this is the plan).
        applied: bool,
        /// The image registry the configs name: ``REGION-docker.pkg.dev/PROJECT/REPOSITORY``.
        registry: String,
        /// Steps that failed, and images that failed to push.
        failed: usize = SetupReport::failed,
        /// The verdict line.
        summary: String = SetupReport::summary,
    }
}

fn setup_repr(r: &SetupReport) -> String {
    format!("DssSetupReport(cluster={:?}, {:?})", r.cluster, r.summary())
}

/// DSS as the shim's object reaches it; what it raises is DSS's answer.
struct PyAdmin(Py<PyAny>);

impl PyAdmin {
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> CoreResult<Bound<'py, PyAny>> {
        self.0
            .bind(py)
            .call_method1(method, args)
            .map_err(|e| CoreError::Dss(e.value(py).to_string()))
    }

    fn read(
        &self,
        method: &str,
        args: impl for<'py> pyo3::call::PyCallArgs<'py>,
    ) -> CoreResult<Value> {
        Python::attach(|py| {
            let answer = self.call(py, method, args)?;
            pythonize::depythonize(&answer)
                .map_err(|e| CoreError::Dss(format!("{method} answered no JSON: {e}")))
        })
    }

    fn write(&self, method: &str, name: Option<&str>, body: &Value) -> CoreResult<()> {
        Python::attach(|py| {
            let body = convert::to_python(py, body).map_err(|e| CoreError::Dss(e.to_string()))?;
            match name {
                Some(name) => self.call(py, method, (name, body)),
                None => self.call(py, method, (body,)),
            }
            .map(|_| ())
        })
    }
}

impl DssAdmin for PyAdmin {
    fn general_settings(&self) -> CoreResult<Value> {
        self.read("general_settings", ())
    }

    fn save_general_settings(&self, settings: &Value) -> CoreResult<()> {
        self.write("save_general_settings", None, settings)
    }

    fn connection(&self, name: &str) -> CoreResult<Option<Value>> {
        Ok(match self.read("connection", (name,))? {
            Value::Null => None,
            v => Some(v),
        })
    }

    fn create_connection(&self, body: &Value) -> CoreResult<()> {
        self.write("create_connection", None, body)
    }

    fn save_connection(&self, name: &str, settings: &Value) -> CoreResult<()> {
        self.write("save_connection", Some(name), settings)
    }
}

/// The "Set up DSS for this cluster" action: its DSS config, the DSS cluster as
/// ``dss_gke.dss.dss_cluster`` reads it, ``admin`` the DSS it writes to (``dss_gke.dss.DssAdmin``),
/// ``progress(bytes_done, bytes_total, layers_done, layers_total)`` of the push.
#[pyfunction]
#[pyo3(signature = (config, record, admin, progress=None))]
fn setup_dss_action(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
    admin: Py<PyAny>,
    progress: Option<Py<PyAny>>,
) -> PyResult<DssSetupReport> {
    logging::refresh_level(py);
    let config = convert::from_python(config, "config")?;
    let cluster = convert::dss_cluster(record)?;
    let request = SetupRequest::from_dss(&config, &cluster).map_err(errors::to_py)?;
    let admin = PyAdmin(admin);
    let progress = push::progress_of(progress);
    let inner = runtime::block_on(py, async move {
        dss_setup::run(&request, &admin, progress).await
    })?;
    Ok(DssSetupReport { inner })
}
