//! The image push of `dss_gke._native`: `push_image` (any source skopeo names, any registry)
//! and the "Push base images" cluster action.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;

use gke_core::push::base_images::BaseImagesRequest;
use gke_core::push::registry::Credentials;
use gke_core::push::{self, PushBatch, PushOptions, PushProgress};
use gke_core::GkeError as CoreError;

use crate::results::result_class;
use crate::{convert, errors, logging, runtime};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PushReport>()?;
    m.add_class::<PushBatchReport>()?;
    m.add_function(wrap_pyfunction!(push_image, m)?)?;
    m.add_function(wrap_pyfunction!(push_base_images_action, m)?)?;
    Ok(())
}

result_class! {
    /// What a push did: the digest the tag points at, and each layer pushed, already there or
    /// mounted.
    PushReport wraps push::PushReport, repr = push_repr,
    fields {
        /// The manifest digest the destination tag now points at (``sha256:…``).
        digest: String,
        /// Layers uploaded by this push.
        layers_pushed: usize,
        /// Layers the repository already had.
        layers_skipped: usize,
        /// Layers mounted from another repository of the registry.
        layers_mounted: usize,
        /// Bytes uploaded (compressed layers and config).
        bytes_uploaded: u64,
        /// Wall time of the push, in seconds.
        seconds: f64,
        /// One line: layers pushed / already there / mounted, bytes and time.
        summary: String = push::PushReport::summary,
    }
}

fn push_repr(r: &push::PushReport) -> String {
    format!(
        "PushReport(destination={:?}, digest={:?}, {:?})",
        r.destination,
        r.digest,
        r.summary()
    )
}

result_class! {
    /// What "Push base images" did for each matching local image.
    PushBatchReport wraps PushBatch, repr = batch_repr,
    fields {
        /// Number of images that failed to push.
        failed: usize = PushBatch::failed,
    }
}

fn batch_repr(r: &PushBatch) -> String {
    format!(
        "PushBatchReport(images={}, failed={})",
        r.images.len(),
        r.failed()
    )
}

/// ``progress(bytes_done, bytes_total, layers_done, layers_total)``.
pub(crate) fn progress_of(progress: Option<Py<PyAny>>) -> Option<push::Progress> {
    convert::callback(progress).map(|call| {
        Arc::new(move |p: PushProgress| {
            call((p.bytes_done, p.bytes_total, p.layers_done, p.layers_total))
        }) as push::Progress
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
#[pyo3(signature = (source, destination, *, username=None, password=None, key="", insecure=false, create_repository=false, parallelism=None, compression_level=None, docker_socket=None, api_endpoint=None, registry_endpoint=None, cache_file=None, progress=None))]
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
    parallelism: Option<usize>,
    compression_level: Option<u32>,
    docker_socket: Option<PathBuf>,
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
    let defaults = PushOptions::notebook(api_endpoint, registry_endpoint);
    let options = PushOptions {
        credentials,
        google_key: key.to_string(),
        insecure,
        create_repository,
        parallelism: parallelism.unwrap_or(defaults.parallelism),
        compression_level: compression_level.unwrap_or(defaults.compression_level),
        docker_socket: docker_socket.unwrap_or_else(|| defaults.docker_socket.clone()),
        cache_file: cache_file.or_else(|| defaults.cache_file.clone()),
        ..defaults
    };
    let progress = progress_of(progress);
    let inner = runtime::block_on(py, async move {
        push::push(&source, &destination, &options, progress).await
    })?;
    Ok(PushReport { inner })
}

/// The "Push base images" cluster action: its DSS config and the DSS cluster it runs on, as
/// ``dss_gke.dss.dss_cluster`` reads it; ``progress(bytes_done, bytes_total, layers_done,
/// layers_total)``.
#[pyfunction]
#[pyo3(signature = (config, record, progress=None))]
fn push_base_images_action(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PushBatchReport> {
    logging::refresh_level(py);
    let config: serde_json::Value = pythonize::depythonize(config)?;
    let cluster = convert::dss_cluster(record)?;
    let request = BaseImagesRequest::from_dss(&config, &cluster).map_err(errors::to_py)?;
    let progress = progress_of(progress);
    let inner = runtime::block_on(py, async move {
        push::push_base_images(&request, progress).await
    })?;
    Ok(PushBatchReport { inner })
}
