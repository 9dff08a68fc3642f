//! Rust `tracing` events (ours and our dependencies') forwarded to Python `logging`, under
//! logger names beginning with `dss_gke`, so DSS's log configuration applies to them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyModule;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The `dss_gke` logger's effective level, refreshed on each call into the module; events
/// below it are dropped without taking the GIL.
static THRESHOLD: AtomicU32 = AtomicU32::new(logging_level(Level::WARN));

const fn logging_level(level: Level) -> u32 {
    match level {
        Level::TRACE => 5,
        Level::DEBUG => 10,
        Level::INFO => 20,
        Level::WARN => 30,
        Level::ERROR => 40,
    }
}

/// Python logger name for a tracing target: `gke_core::google::metadata` → `dss_gke.google.metadata`,
/// dependencies under `dss_gke.lib`, e.g. `hyper_util::client` → `dss_gke.lib.hyper_util.client`.
fn logger_name(target: &str) -> String {
    let dotted = target.replace("::", ".");
    match dotted.split_once('.') {
        Some(("gke_core" | "_native", rest)) => format!("dss_gke.{rest}"),
        None if dotted == "gke_core" || dotted == "_native" => "dss_gke".to_string(),
        _ => format!("dss_gke.lib.{dotted}"),
    }
}

struct PythonLogging;

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Python's levels can change at any time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        logging_level(*metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        // Records of the `log` crate arrive with target "log"; their own target is in a field.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let level = logging_level(*metadata.level());
        let mut text = Message::default();
        event.record(&mut text);
        let name = logger_name(metadata.target());
        // During interpreter shutdown there is no Python to log to; the event is dropped.
        let _ = Python::try_attach(|py| {
            let _ = forward(py, &name, level, &text.0);
        });
    }
}

fn forward(py: Python<'_>, name: &str, level: u32, message: &str) -> PyResult<()> {
    let logger = PyModule::import(py, "logging")?.call_method1("getLogger", (name,))?;
    if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        logger.call_method1("log", (level, "%s", message))?;
    }
    Ok(())
}

/// The event's message followed by its other fields as `key=value`.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else if !field.name().starts_with("log.") {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }
}

/// Reads the `dss_gke` logger's effective level so that this call's events are filtered by it.
pub fn refresh_level(py: Python<'_>) {
    let level = PyModule::import(py, "logging")
        .and_then(|logging| logging.call_method1("getLogger", ("dss_gke",)))
        .and_then(|logger| logger.call_method0("getEffectiveLevel"))
        .and_then(|level| level.extract::<u32>());
    if let Ok(level) = level {
        THRESHOLD.store(level, Ordering::Relaxed);
    }
}

pub fn install(py: Python<'_>) -> PyResult<()> {
    refresh_level(py);
    let subscriber = tracing_subscriber::registry().with(PythonLogging);
    // A second import in the same process (e.g. from another path) keeps the first subscriber.
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let _ = tracing_log::LogTracer::init();
    }
    Ok(())
}
