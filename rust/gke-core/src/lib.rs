//! gke-native's product: everything the DSS plugin does, with no knowledge of Python or DSS objects.
//!
//! Callers hand in typed configuration (deserialized from DSS's JSON) and get typed results or a
//! [`GkeError`] whose message a DSS admin can act on.

pub mod actions;
pub mod catalogue;
pub mod cidr;
pub mod cluster;
pub mod compute;
pub mod connection;
pub mod credentials;
pub mod dss_cluster;
pub mod dss_config;
pub mod environment;
pub mod error;
pub mod gcs;
pub mod gke;
pub mod http;
pub mod kubeconfig;
pub mod kubernetes;
pub mod lifecycle;
pub mod metadata;
pub mod names;
pub mod netcheck;
pub mod node_pool;
pub mod node_pools;
pub mod operation;
pub mod private_file;
pub mod push;
pub mod report;
pub mod retry;
pub mod running;
pub mod settings;
pub mod taint;
pub mod token_cache;

pub use error::{ApiFailure, GkeError, Problem, Result};

/// The plugin's version, shared by the native module, the zip and `plugin.json`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
