//! gke-core's `GkeError` raised as the Python exception hierarchy `GkeError` and its subclasses.

use pyo3::create_exception;
use pyo3::exceptions::{PyBaseException, PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use gke_core::GkeError as CoreError;

create_exception!(
    dss_gke._native,
    GkeError,
    PyException,
    "Every error gke-native raises. Raised as itself when a client, its TLS or a cluster's CA or endpoint cannot be set up."
);
create_exception!(
    dss_gke._native,
    ValidationError,
    GkeError,
    "The configuration is wrong; nothing was called. `.problems` lists every problem."
);
create_exception!(
    dss_gke._native,
    ApiError,
    GkeError,
    "A Google API refused a request: `.status`, `.code`, `.message`, `.request`."
);
create_exception!(
    dss_gke._native,
    NotFoundError,
    ApiError,
    "What the work needs is not there (HTTP 404), e.g. the cluster was deleted: the message says what to do."
);
create_exception!(
    dss_gke._native,
    OperationFailed,
    GkeError,
    "A GKE operation ended in error: `.operation`, `.message`, `.code`."
);
create_exception!(
    dss_gke._native,
    OperationTimeout,
    GkeError,
    "A GKE operation did not finish in time; it goes on in GKE: `.operation`, `.waited` (seconds)."
);
create_exception!(
    dss_gke._native,
    AuthError,
    GkeError,
    "Credentials are missing, invalid or refused."
);
create_exception!(
    dss_gke._native,
    RegistryError,
    GkeError,
    "An image push or registry call failed: `.status` and `.code` when the registry refused."
);
create_exception!(
    dss_gke._native,
    StorageError,
    GkeError,
    "A GCS call or transfer failed: `.status` and `.code` when GCS refused."
);
create_exception!(
    dss_gke._native,
    FileError,
    GkeError,
    "A local file or folder could not be written or created: `.path`."
);

create_exception!(
    dss_gke._native,
    DssError,
    GkeError,
    "DSS's own API refused a call or could not be reached (e.g. the action needs a DSS administrator)."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("GkeError", py.get_type::<GkeError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("ApiError", py.get_type::<ApiError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("OperationFailed", py.get_type::<OperationFailed>())?;
    m.add("OperationTimeout", py.get_type::<OperationTimeout>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("RegistryError", py.get_type::<RegistryError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("DssError", py.get_type::<DssError>())?;
    m.add_function(wrap_pyfunction!(validation_error, m)?)?;
    Ok(())
}

/// A ValidationError naming `field`, as gke-native raises them (with `.problems`), for the
/// checks Python makes itself.
#[pyfunction]
fn validation_error(field: &str, message: &str) -> PyErr {
    to_py(CoreError::validation(field, message))
}

/// The Python exception for a core error, with its structured fields as attributes.
pub fn to_py(error: CoreError) -> PyErr {
    let message = error.to_string();
    Python::attach(|py| {
        let err = match &error {
            CoreError::Validation(_) => ValidationError::new_err(message),
            CoreError::Api(_) => ApiError::new_err(message),
            CoreError::NotFound(_) => NotFoundError::new_err(message),
            CoreError::OperationFailed { .. } => OperationFailed::new_err(message),
            CoreError::OperationTimeout { .. } => OperationTimeout::new_err(message),
            CoreError::Auth(_) => AuthError::new_err(message),
            CoreError::Registry(_) => RegistryError::new_err(message),
            CoreError::Storage(_) => StorageError::new_err(message),
            CoreError::File { .. } => FileError::new_err(message),
            CoreError::Setup(_) => GkeError::new_err(message),
            CoreError::Dss(_) => DssError::new_err(message),
            CoreError::Interrupted => PyKeyboardInterrupt::new_err(message),
        };
        match set_fields(err.value(py), &error) {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

fn set_fields(value: &Bound<'_, PyBaseException>, error: &CoreError) -> PyResult<()> {
    match error {
        CoreError::Validation(problems) => {
            let list = PyList::empty(value.py());
            for p in problems {
                let d = PyDict::new(value.py());
                d.set_item("field", &p.field)?;
                d.set_item("message", &p.message)?;
                list.append(d)?;
            }
            value.setattr("problems", list)
        }
        CoreError::Api(f) | CoreError::NotFound(f) => {
            value.setattr("status", f.status)?;
            value.setattr("code", &f.code)?;
            value.setattr("message", &f.message)?;
            value.setattr("request", &f.request)
        }
        CoreError::OperationFailed {
            operation,
            message,
            code,
        } => {
            value.setattr("operation", operation)?;
            value.setattr("message", message)?;
            value.setattr("code", code)
        }
        CoreError::OperationTimeout { operation, waited } => {
            value.setattr("operation", operation)?;
            value.setattr("waited", waited.as_secs_f64())
        }
        CoreError::Registry(f) | CoreError::Storage(f) => {
            value.setattr("status", f.status)?;
            value.setattr("code", &f.code)
        }
        CoreError::File { path, .. } => value.setattr("path", path.to_string_lossy().as_ref()),
        CoreError::Auth(_) | CoreError::Setup(_) | CoreError::Dss(_) | CoreError::Interrupted => {
            Ok(())
        }
    }
}
