//! The image push of `dss_gke._native`: `push_image` (any source skopeo names, any registry)
//! and the "Push base images" cluster action.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;

use gke_core::config::settings::PluginSettings;
use gke_core::push::base_images::BaseImagesRequest;
use gke_core::push::registry::Credentials;
use gke_core::push::{self, Progress, PushBatch, PushOptions, PushProgress};
use gke_core::GkeError as CoreError;

use crate::{errors, logging, runtime};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PushReport>()?;
    m.add_class::<PushBatchReport>()?;
    m.add_function(wrap_pyfunction!(push_image, m)?)?;
    m.add_function(wrap_pyfunction!(push_base_images_action, m)?)?;
    Ok(())
}

fn to_python<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(pythonize::pythonize(py, &json)?)
}

/// What a push did: the digest the tag points at, and each layer pushed, already there or mounted.
#[pyclass(module = "dss_gke._native", frozen)]
struct PushReport {
    inner: push::PushReport,
}

#[pymethods]
impl PushReport {
    /// The manifest digest the destination tag now points at (``sha256:…``).
    #[getter]
    fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// Layers uploaded by this push.
    #[getter]
    fn layers_pushed(&self) -> usize {
        self.inner.layers_pushed
    }

    /// Layers the repository already had.
    #[getter]
    fn layers_skipped(&self) -> usize {
        self.inner.layers_skipped
    }

    /// Layers mounted from another repository of the registry.
    #[getter]
    fn layers_mounted(&self) -> usize {
        self.inner.layers_mounted
    }

    /// Bytes uploaded (compressed layers and config).
    #[getter]
    fn bytes_uploaded(&self) -> u64 {
        self.inner.bytes_uploaded
    }

    /// Wall time of the push, in seconds.
    #[getter]
    fn seconds(&self) -> f64 {
        self.inner.seconds
    }

    /// One line: layers pushed / already there / mounted, bytes and time.
    #[getter]
    fn summary(&self) -> String {
        self.inner.summary()
    }

    /// The report as plain data (JSON types only).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }

    /// The report as an HTML fragment.
    fn to_html(&self) -> String {
        self.inner.to_html()
    }

    fn _repr_html_(&self) -> String {
        self.inner.to_html()
    }

    fn __repr__(&self) -> String {
        format!(
            "PushReport(destination={:?}, digest={:?}, {:?})",
            self.inner.destination,
            self.inner.digest,
            self.inner.summary()
        )
    }
}

/// What "Push base images" did for each matching local image.
#[pyclass(module = "dss_gke._native", frozen)]
struct PushBatchReport {
    inner: PushBatch,
}

#[pymethods]
impl PushBatchReport {
    /// Number of images that failed to push.
    #[getter]
    fn failed(&self) -> usize {
        self.inner.failed()
    }

    /// The report as plain data (JSON types only).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }

    /// The report as an HTML table, as the DSS action shows it.
    fn to_html(&self) -> String {
        self.inner.to_html()
    }

    fn _repr_html_(&self) -> String {
        self.inner.to_html()
    }

    fn __repr__(&self) -> String {
        format!(
            "PushBatchReport(images={}, failed={})",
            self.inner.images.len(),
            self.inner.failed()
        )
    }
}

fn progress_of(callback: Option<Py<PyAny>>) -> Option<Progress> {
    callback.map(|callback| {
        Arc::new(move |p: PushProgress| {
            // Only the call itself holds the GIL; a failing callback must not stop the push.
            Python::attach(|py| {
                if let Err(e) = callback.call1(
                    py,
                    (p.bytes_done, p.bytes_total, p.layers_done, p.layers_total),
                ) {
                    tracing::warn!("the progress callback failed: {e}");
                }
            })
        }) as Progress
    })
}

/// Pushes an image to a registry, without docker.
///
/// ``source`` as skopeo names it: ``docker-daemon:NAME[:TAG]`` (the Docker Engine at
/// ``docker_socket``), ``docker-archive:PATH`` (``docker save`` output) or ``oci:DIR[:TAG]``;
/// ``destination`` is ``HOST/REPOSITORY[:TAG]``. Registries on loopback (and all when
/// ``insecure``) are reached over plain HTTP, others over HTTPS. For Artifact Registry hosts
/// (``REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE``) the credentials are ``oauth2accesstoken``
/// and an access token of ``key`` (a service-account key, JSON text or path; blank: the default
/// chain), and the repository is created when missing if ``create_repository``.
/// ``progress`` is called with ``(bytes_done, bytes_total, layers_done, layers_total)``.
/// Raises ``RegistryError`` naming the image and what to do; nothing is tagged then.
#[pyfunction]
#[pyo3(signature = (source, destination, *, username=None, password=None, key="", insecure=false, create_repository=false, parallelism=6, compression_level=1, docker_socket=PathBuf::from("/var/run/docker.sock"), api_endpoint=None, registry_endpoint=None, cache_file=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn push_image(
    py: Python<'_>,
    source: String,
    destination: String,
    username: Option<String>,
    password: Option<String>,
    key: &str,
    insecure: bool,
    create_repository: bool,
    parallelism: usize,
    compression_level: u32,
    docker_socket: PathBuf,
    api_endpoint: Option<String>,
    registry_endpoint: Option<String>,
    cache_file: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PushReport> {
    logging::refresh_level(py);
    let credentials = match (username, password) {
        (Some(username), Some(password)) => Some(Credentials {
            username,
            password: password.into(),
        }),
        (None, None) => None,
        _ => {
            return Err(errors::to_py(CoreError::validation(
                "username, password",
                "give both or neither",
            )))
        }
    };
    let settings = PluginSettings {
        api_endpoint: api_endpoint.unwrap_or_default(),
        registry_endpoint: registry_endpoint.unwrap_or_default(),
        ..PluginSettings::default()
    };
    let defaults = PushOptions::default();
    let options = PushOptions {
        credentials,
        google_key: key.to_string(),
        insecure,
        create_repository,
        parallelism,
        compression_level,
        docker_socket,
        api_endpoint: settings.api_endpoint(),
        registry_endpoint: settings.registry_endpoint(),
        cache_file: cache_file.or(defaults.cache_file),
    };
    let progress = progress_of(progress);
    let inner = runtime::block_on(py, async move {
        push::push(&source, &destination, &options, progress).await
    })?;
    Ok(PushReport { inner })
}

/// The "Push base images" cluster action: its DSS config and the DSS cluster it runs on (as
/// DSS resolves it now); ``progress(bytes_done, bytes_total, layers_done, layers_total)``.
#[pyfunction]
#[pyo3(signature = (config, cluster_id, progress=None))]
fn push_base_images_action(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    cluster_id: Option<&str>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PushBatchReport> {
    logging::refresh_level(py);
    let config: serde_json::Value = pythonize::depythonize(config)?;
    let cluster = crate::running::dss_cluster(py, cluster_id)?;
    let request = BaseImagesRequest::from_dss(&config, &cluster).map_err(errors::to_py)?;
    let progress = progress_of(progress);
    let inner = runtime::block_on(py, async move {
        push::push_base_images(&request, progress).await
    })?;
    Ok(PushBatchReport { inner })
}
