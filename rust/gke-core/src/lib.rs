//! gke-native's product: everything the DSS plugin does, with no knowledge of Python or DSS objects.
//!
//! Callers hand in typed configuration (deserialized from DSS's JSON) and get typed results or a
//! [`GkeError`] whose message a DSS admin can act on.

pub mod error;
pub mod html;

pub mod auth;
pub mod cluster;
pub mod config;
pub mod gcs;
pub mod google;
pub mod kube;
pub mod net;
pub mod push;

pub mod actions;
pub mod dss_setup;
pub mod environment;

pub use error::{ApiFailure, Failure, GkeError, Problem, Result};

/// The plugin's version, shared by the native module, the zip and `plugin.json`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
