//! The GCS functions of `dss_gke._native`: the access check, the folder ↔ bucket sync, and the
//! bridge that lets the sync stream through DSS's folder API (any object with `get_download_stream`,
//! `upload_stream`, `list_paths_in_partition`, `get_path_details`, `delete_path`).

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt};

use gke_core::gcs::access::AccessReport;
use gke_core::gcs::config::{self, FolderRole};
use gke_core::gcs::folder::{FolderIo, Listing, LocalDir, LocalFile, Unlisted};
use gke_core::gcs::sync::{
    check_parallelism, Given, Progress, SyncOptions, SyncReport, SyncRequest,
};
use gke_core::gcs::{check_access, GcsClient, GcsLocation, GcsOptions};
use gke_core::GkeError as CoreError;

use crate::results::result_class;
use crate::{clusters, convert, errors, logging, runtime};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<GcsAccessReport>()?;
    m.add_class::<GcsSyncReport>()?;
    m.add_function(wrap_pyfunction!(gcs_check_access, m)?)?;
    m.add_function(wrap_pyfunction!(gcs_check_access_action, m)?)?;
    m.add_function(wrap_pyfunction!(gcs_sync, m)?)?;
    m.add_function(wrap_pyfunction!(gcs_sync_recipe, m)?)?;
    Ok(())
}

result_class! {
    /// What "Check GCS access" found, one row per bucket and check.
    GcsAccessReport wraps AccessReport, repr = access_repr,
    fields {
        /// "OK", "Warning" or "Failed": the worst of all rows.
        verdict: &'static str = |r: &AccessReport| r.verdict().label(),
    }
}

fn access_repr(r: &AccessReport) -> String {
    format!(
        "GcsAccessReport(verdict={:?}, buckets={})",
        r.verdict().label(),
        r.buckets.len()
    )
}

result_class! {
    /// What a sync did (or, in a dry run, would do) to every file.
    GcsSyncReport wraps SyncReport, repr = sync_repr,
    fields {
        /// One line: files and bytes per action, and the time taken.
        summary: String = SyncReport::summary,
        /// Number of files that failed to sync.
        failed: usize = |r: &SyncReport| r.failures().len(),
    }

    /// Every file as ``{"path", "action", "bytes", "reason"}``, sorted by path.
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_python(py, &self.inner.entries)
    }

    /// Raises StorageError naming the failed files, if any failed.
    fn check(&self) -> PyResult<()> {
        self.inner.check().map_err(errors::to_py)
    }
}

fn sync_repr(r: &SyncReport) -> String {
    format!("GcsSyncReport({:?})", r.summary())
}

/// Checks, for each bucket (``"bucket"``, ``"bucket/prefix"`` or ``"gs://bucket/prefix"``), that
/// it exists, listing works, a probe object can be written, read back and deleted, and which
/// object permissions the identity holds.
///
/// ``key`` is a service-account key (JSON text or a path; blank: the default chain, or no
/// credentials against an emulator); ``endpoint`` defaults to ``STORAGE_EMULATOR_HOST``, else GCS.
#[pyfunction]
#[pyo3(signature = (buckets, *, key="", endpoint=None))]
fn gcs_check_access(
    py: Python<'_>,
    buckets: Vec<String>,
    key: &str,
    endpoint: Option<String>,
) -> PyResult<GcsAccessReport> {
    access(
        py,
        config::access_options_for(&buckets, key, endpoint).map_err(errors::to_py)?,
    )
}

/// The "Check GCS access" cluster action: its DSS config (the buckets, the "GKE connection"
/// preset as DSS resolved it) and the DSS cluster it runs on, as ``dss_gke.dss.dss_cluster``
/// reads it (its connection preset and plugin settings apply when the action names no preset);
/// the report out.
#[pyfunction]
#[pyo3(signature = (config, record))]
fn gcs_check_access_action(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
) -> PyResult<GcsAccessReport> {
    let config: serde_json::Value = pythonize::depythonize(config)?;
    let cluster = convert::dss_cluster(record)?;
    access(
        py,
        config::access_options_on(&config, &cluster).map_err(errors::to_py)?,
    )
}

/// Checks `locations` with a client of `options`.
fn access(
    py: Python<'_>,
    (locations, options): (Vec<GcsLocation>, GcsOptions),
) -> PyResult<GcsAccessReport> {
    logging::refresh_level(py);
    let inner = runtime::block_on(py, async move {
        let client = GcsClient::connect(&options).await?;
        Ok(check_access(&client, &locations).await)
    })?;
    Ok(GcsAccessReport { inner })
}

/// Syncs a folder with ``gs://bucket/prefix``, either way: ``src`` and ``dst`` are one
/// ``gs://`` URL and one folder (a local directory path, or a DSS ``dataiku.Folder``, streamed
/// through its API).
///
/// Only files whose size or checksum (CRC32C, else MD5) differ move; ``delete_extra`` removes
/// destination files the source lacks; ``dry_run`` only reports. ``progress`` is called with
/// ``(bytes_done, bytes_total)`` a few times per second.
///
/// Files of 16 MiB and more are uploaded through a resumable session, kept (mode 0600) under
/// ``$GKE_NATIVE_STATE_DIR``, else ``$DIP_HOME/caches/gke-native``, else the user's cache
/// directory: a run that was interrupted (even killed) is resumed by the next one from what GCS
/// already holds.
///
/// ``parallelism`` is the transfers at once, 1 to 64. An entry of the folder that cannot be
/// read (a dangling link, a link loop, an unreadable subfolder, a name that is not UTF-8) is a
/// row of the report, ``skipped`` or ``failed`` with why; the sync goes on and never deletes
/// what GCS holds under it. Downloads are written as ``.NAME.PID-RANDOM.gke-native-part`` and
/// renamed once verified; listings skip such files and never delete them.
#[pyfunction]
#[pyo3(signature = (src, dst, *, delete_extra=false, dry_run=false, parallelism=16, key="", endpoint=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn gcs_sync(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    delete_extra: bool,
    dry_run: bool,
    #[pyo3(from_py_with = parallelism_arg)] parallelism: usize,
    key: &str,
    endpoint: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<GcsSyncReport> {
    logging::refresh_level(py);
    let text = |v: &Bound<'_, PyAny>| v.extract::<String>().ok();
    let (src_text, dst_text) = (text(src), text(dst));
    let request =
        SyncRequest::between(src_text.as_deref(), dst_text.as_deref()).map_err(errors::to_py)?;
    let field = request.folder_field();
    let folder = folder_io(if field == "src" { src } else { dst }, field)?;
    let options = request.options(delete_extra, dry_run, parallelism);
    let gcs = GcsOptions {
        endpoint,
        key: key.to_string(),
        key_field: "key".to_string(),
    };
    run_sync(py, folder, options, gcs, progress)
}

/// ``parallelism`` as given: any Python int (-1, 2**70) is checked in core, so that it is a
/// ValidationError naming the argument, never an OverflowError.
fn parallelism_arg(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let shown = value.repr()?.to_string();
    let given = if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        Given::NotWhole
    } else {
        Given::Whole(value.extract::<i64>().ok())
    };
    check_parallelism(given, &shown, "parallelism")
        .map_err(|p| errors::to_py(CoreError::Validation(vec![p])))
}

/// The "Sync folder with GCS" recipe: its DSS config, the plugin settings and its folders in
/// (a local path, or a ``dataiku.Folder`` streamed through its API; ``None`` for an unused
/// role), the report out.
#[pyfunction]
#[pyo3(signature = (config, plugin_config=None, input_folder=None, output_folder=None, progress=None))]
fn gcs_sync_recipe(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    plugin_config: Option<&Bound<'_, PyAny>>,
    input_folder: Option<&Bound<'_, PyAny>>,
    output_folder: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<GcsSyncReport> {
    logging::refresh_level(py);
    let settings = clusters::settings(plugin_config)?;
    let config: serde_json::Value = pythonize::depythonize(config)?;
    let (options, gcs) = config::recipe_options(&config, &settings).map_err(errors::to_py)?;
    let role = config::folder_role(
        options.direction,
        input_folder.is_some(),
        output_folder.is_some(),
    )
    .map_err(errors::to_py)?;
    let folder = match role {
        FolderRole::Input => input_folder,
        FolderRole::Output => output_folder,
    }
    .expect("folder_role checked the role is filled");
    let folder = folder_io(folder, "folder")?;
    run_sync(py, folder, options, gcs, progress)
}

fn run_sync(
    py: Python<'_>,
    folder: Arc<dyn FolderIo>,
    options: SyncOptions,
    gcs: GcsOptions,
    progress: Option<Py<PyAny>>,
) -> PyResult<GcsSyncReport> {
    let progress = convert::callback(progress)
        .map(|call| Arc::new(move |done: u64, total: u64| call((done, total))) as Progress);
    let inner = runtime::block_on(py, async move {
        let client = GcsClient::connect(&gcs).await?;
        gke_core::gcs::sync(&client, folder, &options, progress).await
    })?;
    Ok(GcsSyncReport { inner })
}

/// A path (str or os.PathLike) becomes a local directory; anything with the folder API is
/// streamed through it.
fn folder_io(value: &Bound<'_, PyAny>, field: &str) -> PyResult<Arc<dyn FolderIo>> {
    if value.hasattr("upload_stream")? && value.hasattr("get_download_stream")? {
        let name = value
            .getattr("name")
            .and_then(|n| n.extract::<String>())
            .unwrap_or_else(|_| "?".to_string());
        return Ok(Arc::new(PyFolder {
            folder: value.clone().unbind(),
            name,
        }));
    }
    let path: std::path::PathBuf = value.extract().map_err(|_| {
        errors::to_py(CoreError::validation(
            field,
            "must be a directory path or a dataiku.Folder",
        ))
    })?;
    Ok(Arc::new(LocalDir::new(path, field).map_err(errors::to_py)?))
}

/// A DSS managed folder reached through its Python API (non-local folders: GCS, S3, HDFS...).
struct PyFolder {
    folder: Py<PyAny>,
    name: String,
}

impl PyFolder {
    fn fail(&self, what: &str, path: &str, e: PyErr) -> CoreError {
        CoreError::storage(format!(
            "managed folder '{}': {what} {path}: {e}",
            self.name
        ))
    }

    fn details(&self, py: Python<'_>, path: &str) -> PyResult<Option<LocalFile>> {
        let d = self
            .folder
            .call_method1(py, "get_path_details", (format!("/{path}"),))?;
        let d = d.bind(py);
        let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            match d.cast::<PyDict>() {
                Ok(dict) => dict.get_item(k),
                Err(_) => Ok(None),
            }
        };
        let exists = get("exists")?.map_or(Ok(true), |v| v.is_truthy())?;
        let directory = get("directory")?.map_or(Ok(false), |v| v.is_truthy())?;
        if !exists || directory {
            return Ok(None);
        }
        let size = get("size")?.map_or(Ok(0), |v| v.extract::<u64>())?;
        let modified = get("lastModified")?
            .and_then(|v| v.extract::<u64>().ok())
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        Ok(Some(LocalFile {
            path: path.to_string(),
            size,
            modified,
        }))
    }
}

impl FolderIo for PyFolder {
    fn describe(&self) -> String {
        format!("managed folder '{}'", self.name)
    }

    fn list(&self) -> gke_core::Result<Listing> {
        Python::attach(|py| {
            let paths: Vec<String> = self
                .folder
                .call_method0(py, "list_paths_in_partition")
                .and_then(|p| p.extract(py))
                .map_err(|e| self.fail("listing", "/", e))?;
            let mut out = Listing::default();
            for p in paths {
                let rel = p.trim_start_matches('/').to_string();
                match self.details(py, &rel) {
                    Ok(Some(f)) => out.files.push(f),
                    Ok(None) => {}
                    // One path the folder cannot describe is named in the report, not fatal.
                    Err(e) => out.unlisted.push(Unlisted {
                        reason: format!("cannot be read: {e}"),
                        path: rel,
                        holds_data: true,
                    }),
                }
            }
            Ok(out)
        })
    }

    fn stat(&self, path: &str) -> gke_core::Result<Option<LocalFile>> {
        Python::attach(|py| {
            self.details(py, path)
                .map_err(|e| self.fail("reading", path, e))
        })
    }

    fn open(&self, path: &str) -> gke_core::Result<Box<dyn Read + Send>> {
        Python::attach(|py| {
            let stream = self
                .folder
                .call_method1(py, "get_download_stream", (format!("/{path}"),))
                .map_err(|e| self.fail("opening", path, e))?;
            Ok(Box::new(PyReader { stream }) as Box<dyn Read + Send>)
        })
    }

    fn write(&self, path: &str, content: Box<dyn Read + Send>) -> gke_core::Result<()> {
        Python::attach(|py| {
            let upload = Py::new(
                py,
                FolderUpload {
                    inner: Mutex::new(content),
                },
            )
            .map_err(|e| self.fail("writing", path, e))?;
            self.folder
                .call_method1(py, "upload_stream", (format!("/{path}"), upload))
                .map(|_| ())
                .map_err(|e| self.fail("writing", path, e))
        })
    }

    fn delete(&self, path: &str) -> gke_core::Result<()> {
        Python::attach(|py| {
            self.folder
                .call_method1(py, "delete_path", (format!("/{path}"),))
                .map(|_| ())
                .map_err(|e| self.fail("deleting", path, e))
        })
    }
}

/// A Python binary stream (what `get_download_stream` returns) read from Rust.
struct PyReader {
    stream: Py<PyAny>,
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let chunk = self
                .stream
                .call_method1(py, "read", (buf.len(),))
                .map_err(|e| io::Error::other(e.to_string()))?;
            let chunk = chunk.bind(py);
            let bytes = chunk
                .cast::<PyBytes>()
                .map_err(|e| io::Error::other(e.to_string()))?
                .as_bytes();
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        })
    }
}

impl Drop for PyReader {
    fn drop(&mut self) {
        let _ = Python::try_attach(|py| {
            let _ = self.stream.call_method0(py, "close");
        });
    }
}

/// The file-like object a download hands to ``Folder.upload_stream``: ``read()`` gives the
/// object's bytes as they arrive and raises ``OSError`` instead of ending if the download was
/// cut short or its checksum did not match.
#[pyclass(module = "dss_gke._native", name = "_FolderUpload")]
struct FolderUpload {
    inner: Mutex<Box<dyn Read + Send>>,
}

#[pymethods]
impl FolderUpload {
    #[pyo3(signature = (size=-1))]
    fn read<'py>(&self, py: Python<'py>, size: isize) -> PyResult<Bound<'py, PyBytes>> {
        let data = py.detach(|| {
            let mut reader = self.inner.lock().expect("no panics while held");
            let mut out = Vec::new();
            if size < 0 {
                reader.read_to_end(&mut out)?;
            } else {
                out.resize(size as usize, 0);
                let mut filled = 0;
                // One read may give less than asked; fill what is available without waiting
                // for more than one chunk of the download.
                while filled == 0 && !out.is_empty() {
                    let n = reader.read(&mut out[filled..])?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                out.truncate(filled);
            }
            Ok::<_, io::Error>(out)
        });
        let data = data.map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &data))
    }

    fn readable(&self) -> bool {
        true
    }
}
