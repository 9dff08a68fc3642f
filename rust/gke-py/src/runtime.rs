//! The module's one tokio runtime, and waiting on it with the GIL released and Ctrl-C honoured.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("dss-gke")
            .enable_all()
            .build()
            .expect("the tokio runtime starts")
    })
}

/// How often a wait looks for a pending Ctrl-C (Python only delivers it to the main thread).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `future` to completion without holding the GIL, so other Python threads (and the
/// forwarding of log records) go on; a KeyboardInterrupt cancels the future and is raised.
pub fn block_on<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = gke_core::Result<T>> + Send,
    T: Send,
{
    let outcome = py.detach(|| {
        runtime().block_on(async {
            tokio::pin!(future);
            let mut ticks = tokio::time::interval(SIGNAL_CHECK);
            loop {
                tokio::select! {
                    out = &mut future => return Ok::<_, PyErr>(out),
                    _ = ticks.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    });
    outcome?.map_err(errors::to_py)
}
