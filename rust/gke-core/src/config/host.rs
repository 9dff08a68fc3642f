//! What the DSS process running a cluster type provides: its id, working folder and interpreter.

use std::path::PathBuf;

/// What the DSS process running a cluster type provides.
#[derive(Debug, Clone)]
pub struct Host {
    pub dss_cluster_id: String,
    /// The cluster's working directory (DSS keeps it while the cluster is defined).
    pub workdir: PathBuf,
    /// The code env's interpreter and the folder that makes `dss_gke` importable, for the
    /// kubeconfig's credential helper.
    pub python: String,
    pub python_path: String,
}
