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
    "Every error gke-native raises."
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
    OperationFailed,
    GkeError,
    "A GKE operation ended in error."
);
create_exception!(
    dss_gke._native,
    OperationTimeout,
    GkeError,
    "A GKE operation did not finish in time; it goes on in GKE."
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
    "An image push or registry call failed."
);
create_exception!(
    dss_gke._native,
    StorageError,
    GkeError,
    "A GCS call or transfer failed."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("GkeError", py.get_type::<GkeError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("ApiError", py.get_type::<ApiError>())?;
    m.add("OperationFailed", py.get_type::<OperationFailed>())?;
    m.add("OperationTimeout", py.get_type::<OperationTimeout>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("RegistryError", py.get_type::<RegistryError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    Ok(())
}

/// The Python exception for a core error, with its structured fields as attributes.
pub fn to_py(error: CoreError) -> PyErr {
    let message = error.to_string();
    Python::attach(|py| {
        let err = match &error {
            CoreError::Validation(_) => ValidationError::new_err(message),
            CoreError::Api(_) => ApiError::new_err(message),
            CoreError::OperationFailed { .. } => OperationFailed::new_err(message),
            CoreError::OperationTimeout { .. } => OperationTimeout::new_err(message),
            CoreError::Auth(_) => AuthError::new_err(message),
            CoreError::Registry(_) => RegistryError::new_err(message),
            CoreError::Storage(_) => StorageError::new_err(message),
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
        CoreError::Api(f) => {
            value.setattr("status", f.status)?;
            value.setattr("code", &f.code)?;
            value.setattr("message", &f.message)?;
            value.setattr("request", &f.request)
        }
        _ => Ok(()),
    }
}
