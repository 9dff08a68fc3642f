//! Running clusters from Python: the notebook API (`Gke`, `Cluster` and typed results) and the
//! entry points of cluster actions and scenario steps. Conversions only; logic is in gke-core.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyType;

use gke_core::actions;
use gke_core::auth::credentials::GoogleCredentials;
use gke_core::cluster::handle::{current, ClusterRef, Session};
use gke_core::cluster::health::{self, Health as CoreHealth};
use gke_core::cluster::inventory::{
    self, ClusterSummary as CoreSummary, NodePools as CoreNodePools, PoolInfo,
};
use gke_core::cluster::node_pool_changes::{self as node_pools, Change as CoreChange};
use gke_core::cluster::{delete, kubeconfig};
use gke_core::config::params::{
    NETWORK_TEST_IMAGE, NETWORK_TEST_NAMESPACE, NETWORK_TEST_TIMEOUT_SECONDS,
    NOTEBOOK_AUTOSCALING_MAX, NOTEBOOK_AUTOSCALING_MIN, NOTEBOOK_WAIT_READY,
};
use gke_core::config::record::DssCluster;
use gke_core::config::settings::PluginSettings;
use gke_core::kube::netcheck::{self, NetworkTest as CoreNetworkTest};
use gke_core::GkeError;

use crate::results::result_class;
use crate::{convert, errors, logging, runtime};

result_class! {
    /// One GKE cluster of a location, as `Gke.clusters()` lists it.
    ClusterSummary wraps CoreSummary,
    fields {
        /// The cluster's name.
        name: String,
        /// Its zone or region.
        location: String,
        /// GKE's status: RUNNING, PROVISIONING, RECONCILING, STOPPING, ERROR, DEGRADED.
        status: String,
        /// The control plane's Kubernetes version.
        version: String,
        /// Whether it is an Autopilot cluster.
        autopilot: bool,
        /// Names of its node pools.
        node_pools: Vec<String>,
        /// The Kubernetes API's address.
        endpoint: String,
    }
}

result_class! {
    /// A node pool as admins check it: GKE's settings, Compute's instance groups and the
    /// Kubernetes nodes.
    NodePool wraps PoolInfo,
    fields {
        /// The pool's name.
        name: String,
        /// GKE's status: RUNNING, PROVISIONING, RECONCILING, STOPPING, ERROR.
        status: String,
        /// The nodes' Kubernetes version.
        version: String,
        /// e.g. e2-standard-4.
        machine_type: String,
        /// Nodes now: the sum of its instance groups' sizes.
        nodes: i64,
        /// Autoscaling's minimum per zone, when autoscaling is on.
        min_nodes: Option<i32>,
        /// Autoscaling's maximum per zone, when autoscaling is on.
        max_nodes: Option<i32>,
        /// Whether autoscaling is on.
        autoscaling: bool,
        /// Whether the nodes are Spot (or preemptible) VMs.
        spot: bool,
        /// The GPUs per node, e.g. "1 × nvidia-tesla-t4", or None.
        gpu: Option<String>,
        /// Kubernetes nodes that are Ready (None when the Kubernetes API could not be read).
        ready: Option<usize>,
        /// Kubernetes nodes that are not Ready (None when the Kubernetes API could not be read).
        not_ready: Option<usize>,
    }

    /// Its instance groups (one per zone) as ``(name, size)``.
    #[getter]
    fn instance_groups(&self) -> Vec<(String, i64)> {
        self.inner.instance_groups.iter().map(|g| (g.name.clone(), g.size)).collect()
    }
}

result_class! {
    /// The node pools of a cluster; iterate it, index it by position or name.
    NodePools wraps CoreNodePools,
    fields {
        /// The cluster's name.
        cluster: String,
        /// Why the Kubernetes API could not be read (nodes unknown), or None.
        kubernetes_error: Option<String>,
    }

    /// The pools, as `NodePool` objects.
    #[getter]
    fn pools(&self) -> Vec<NodePool> {
        self.inner.pools.iter().cloned().map(|inner| NodePool { inner }).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.pools.len()
    }

    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<NodePool> {
        let found = if let Ok(i) = key.extract::<isize>() {
            let n = self.inner.pools.len() as isize;
            let i = if i < 0 { i + n } else { i };
            (0..n).contains(&i).then(|| self.inner.pools[i as usize].clone())
        } else {
            let name: String = key.extract()?;
            self.inner.pools.iter().find(|p| p.name == name).cloned()
        };
        found
            .map(|inner| NodePool { inner })
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_string()))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        pyo3::types::PyList::new(py, slf.pools())?.as_any().try_iter().map(|i| i.into_any())
    }
}

result_class! {
    /// A cluster's state at a glance: status, nodes Ready / not Ready per pool, pods Pending per
    /// namespace, GKE operations in progress, and a verdict.
    Health wraps CoreHealth,
    fields {
        /// The cluster's name.
        cluster: String,
        /// Its zone or region.
        location: String,
        /// GKE's status of the cluster.
        status: String,
        /// The control plane's Kubernetes version.
        version: String,
        /// Whether it is an Autopilot cluster.
        autopilot: bool,
        /// Pods Pending, per namespace.
        pending_pods: std::collections::BTreeMap<String, usize>,
        /// Why the Kubernetes API could not be read, or None.
        kubernetes_error: Option<String>,
        /// "OK", "Warning" or "Failed".
        verdict: String = |h: &CoreHealth| h.verdict.label().to_string(),
        /// Why, in one sentence.
        summary: String,
    }

    /// The pools, as `NodePool` objects.
    #[getter]
    fn node_pools(&self) -> Vec<NodePool> {
        self.inner.node_pools.iter().cloned().map(|inner| NodePool { inner }).collect()
    }

    /// GKE operations running on the cluster, as ``(name, type, status, target)``.
    #[getter]
    fn operations(&self) -> Vec<(String, String, String, String)> {
        self.inner
            .operations
            .iter()
            .map(|o| (o.name.clone(), o.kind.clone(), o.status.clone(), o.target.clone()))
            .collect()
    }

    /// True when the cluster is RUNNING and every pool's nodes are registered and Ready.
    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }
}

result_class! {
    /// What a node-pool change did.
    Change wraps CoreChange,
    fields {
        /// The cluster's name.
        cluster: String,
        /// The pool changed (its generated name when the preset had none).
        pool: String,
        /// "added", "resized", "deleted", "autoscaling enabled" or "autoscaling disabled".
        action: String = |c: &CoreChange| c.action.label().to_string(),
        /// What it was before and what it is now, in one sentence.
        detail: String,
        /// How long it took, GKE's operation included.
        seconds: f64,
    }
}

result_class! {
    /// What "Test network connectivity" found: whether a pod in the cluster reached DSS.
    NetworkTest wraps CoreNetworkTest,
    fields {
        /// The cluster's name.
        cluster: String,
        /// The DSS host the pod resolved and connected to.
        host: String,
        /// DSS's backend port.
        port: u16,
        /// The test pod's name (deleted since).
        pod: String,
        /// The pod's last phase.
        phase: String,
        /// The pod's exit code, when it ended.
        exit_code: Option<i32>,
        /// What the pod printed.
        output: String,
        /// "OK" or "Failed".
        verdict: String = |t: &CoreNetworkTest| t.verdict.label().to_string(),
        /// Why, in one sentence.
        summary: String,
        /// How long the test took.
        seconds: f64,
        /// True when the pod connected to DSS.
        passed: bool = CoreNetworkTest::passed,
    }
}

/// `credentials`: None (the host's default chain), a service-account key as JSON text or dict,
/// or the path of a key file.
fn key_text(credentials: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    let Some(c) = credentials else {
        return Ok(String::new());
    };
    if c.is_none() {
        return Ok(String::new());
    }
    if let Ok(text) = c.extract::<String>() {
        return Ok(text);
    }
    if let Ok(path) = c.extract::<PathBuf>() {
        return Ok(path.display().to_string());
    }
    let value = convert::from_python(c, "credentials")?;
    Ok(value.to_string())
}

/// GKE for one project and location: the notebook entry point.
///
/// ``Gke(project="p", location="europe-west1-b", credentials=None)``; credentials are a
/// service-account key (JSON text, dict or file path) or None for the host's default
/// credentials. ``Gke.from_dss_cluster("dss-cluster-id")`` uses what a DSS cluster recorded.
#[pyclass(module = "dss_gke._native", frozen)]
pub struct Gke {
    session: Arc<Session>,
    /// The key as given (never shown), for kubeconfigs.
    key: String,
    /// Set by `from_dss_cluster`: that DSS cluster's GKE cluster, and the DSS cluster.
    dss: Option<(ClusterRef, Arc<DssCluster>)>,
}

#[pymethods]
impl Gke {
    #[new]
    #[pyo3(signature = (project, location, credentials=None, api_endpoint=None))]
    fn new(
        py: Python<'_>,
        project: String,
        location: String,
        credentials: Option<&Bound<'_, PyAny>>,
        api_endpoint: Option<String>,
    ) -> PyResult<Self> {
        logging::refresh_level(py);
        let key = key_text(credentials)?;
        let settings = PluginSettings {
            api_endpoint: api_endpoint.unwrap_or_default(),
            ..PluginSettings::default()
        };
        let k = key.clone();
        let session = runtime::block_on(py, async move {
            let credentials = GoogleCredentials::from_key_or_default(&k, "credentials")?;
            Session::open(credentials, &settings, &project, &location).await
        })?;
        Ok(Self {
            session: Arc::new(session),
            key,
            dss: None,
        })
    }

    /// The GKE of a DSS cluster (started with this plugin): its project and location as the
    /// cluster recorded them, the credentials of its connection preset as DSS resolves it now;
    /// ``.cluster()`` is that cluster. Needs DSS (a notebook, recipe or macro).
    // The one call from Rust into the Python shim: `dss_gke.dss.dss_cluster(cluster_id)` reads
    // the cluster through DSS's Python API, which only Python has. The actions and steps that
    // need a DSS cluster get that record from the shim as an argument instead.
    #[classmethod]
    fn from_dss_cluster(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cluster_id: &str,
    ) -> PyResult<Self> {
        logging::refresh_level(py);
        let record = py
            .import("dss_gke.dss")?
            .call_method1("dss_cluster", (cluster_id,))?;
        let dss = convert::dss_cluster(&record)?;
        let d = dss.clone();
        let (session, target) =
            runtime::block_on(py, async move { Session::for_record(&d).await })?;
        Ok(Self {
            session: Arc::new(session),
            key: dss.connection.service_account_key.clone(),
            dss: Some((target, Arc::new(dss))),
        })
    }

    /// The project's ID.
    #[getter]
    fn project(&self) -> String {
        self.session.project.clone()
    }

    /// The zone or region.
    #[getter]
    fn location(&self) -> String {
        self.session.location.clone()
    }

    /// The clusters of the location.
    fn clusters(&self, py: Python<'_>) -> PyResult<Vec<ClusterSummary>> {
        logging::refresh_level(py);
        let session = self.session.clone();
        let list = runtime::block_on(py, async move { inventory::clusters(&session).await })?;
        Ok(list
            .into_iter()
            .map(|inner| ClusterSummary { inner })
            .collect())
    }

    /// A cluster by name; without a name, the DSS cluster's (``from_dss_cluster``).
    #[pyo3(signature = (name=None))]
    fn cluster(&self, py: Python<'_>, name: Option<String>) -> PyResult<Cluster> {
        logging::refresh_level(py);
        let (target, dss) = match (name, &self.dss) {
            (None, Some((target, dss))) => (target.clone(), Some(dss.clone())),
            (Some(name), _) => {
                let session = self.session.clone();
                let target = runtime::block_on(py, async move { session.cluster(&name).await })?;
                (target, None)
            }
            (None, None) => {
                return Err(errors::to_py(GkeError::validation(
                    "name",
                    "give the cluster's name (only Gke.from_dss_cluster knows one)",
                )))
            }
        };
        Ok(Cluster {
            session: self.session.clone(),
            key: self.key.clone(),
            target,
            dss,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Gke(project={:?}, location={:?})",
            self.session.project, self.session.location
        )
    }
}

/// A GKE cluster: its node pools, health, changes, kubeconfig, deletion.
#[pyclass(module = "dss_gke._native", frozen)]
pub struct Cluster {
    session: Arc<Session>,
    key: String,
    target: ClusterRef,
    /// The DSS cluster, when it is one's (what new pools inherit).
    dss: Option<Arc<DssCluster>>,
}

impl Cluster {
    fn run<T, F, Fut>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(Arc<Session>, ClusterRef) -> Fut + Send,
        Fut: std::future::Future<Output = gke_core::Result<T>> + Send,
    {
        logging::refresh_level(py);
        let (session, target) = (self.session.clone(), self.target.clone());
        runtime::block_on(py, async move { f(session, target).await })
    }
}

fn no_progress(_: u32) {}

const TIMEOUT: std::time::Duration = gke_core::config::params::TIMEOUT;

#[pymethods]
impl Cluster {
    /// The cluster's name.
    #[getter]
    fn name(&self) -> String {
        self.target.name.clone()
    }

    /// Whether it is an Autopilot cluster (no node pools to manage).
    #[getter]
    fn autopilot(&self) -> bool {
        self.target.autopilot
    }

    /// Its node pools, with sizes from Compute and nodes from the Kubernetes API.
    fn node_pools(&self, py: Python<'_>) -> PyResult<NodePools> {
        let inner = self.run(
            py,
            |s, t| async move { inventory::node_pools(&s, &t).await },
        )?;
        Ok(NodePools { inner })
    }

    /// Adds a node pool from a dict with the "Node pool" preset's fields (blank name: a free
    /// one is generated) and waits for GKE.
    fn add_node_pool(&self, py: Python<'_>, preset: &Bound<'_, PyAny>) -> PyResult<Change> {
        let preset = convert::from_python(preset, "preset")?;
        let dss = self.dss.clone();
        let inner = self.run(py, |s, t| async move {
            let recorded = dss.as_ref().and_then(|d| d.data.as_ref());
            let ctx = inventory::pool_context(&s, &t, recorded).await?;
            node_pools::add(&s, &t, &preset, &ctx, TIMEOUT, &no_progress).await
        })?;
        Ok(Change { inner })
    }

    /// Resizes ``pool`` to ``nodes`` per zone and waits; ``delete_at_zero=True`` with 0 deletes
    /// the pool (never the last one).
    #[pyo3(signature = (pool, nodes, delete_at_zero=false))]
    fn resize(
        &self,
        py: Python<'_>,
        pool: String,
        nodes: &Bound<'_, PyAny>,
        delete_at_zero: bool,
    ) -> PyResult<Change> {
        let nodes = crate::whole("nodes", nodes)?;
        let inner = self.run(py, |s, t| async move {
            node_pools::resize(&s, &t, &pool, nodes, delete_at_zero, TIMEOUT, &no_progress).await
        })?;
        Ok(Change { inner })
    }

    /// Turns autoscaling of ``pool`` on between ``min_nodes`` (default 0) and ``max_nodes``
    /// (default 1) per zone, or off with ``enabled=False``; waits for GKE.
    #[pyo3(signature = (pool, min_nodes=None, max_nodes=None, enabled=true))]
    fn set_autoscaling(
        &self,
        py: Python<'_>,
        pool: String,
        min_nodes: Option<&Bound<'_, PyAny>>,
        max_nodes: Option<&Bound<'_, PyAny>>,
        enabled: bool,
    ) -> PyResult<Change> {
        let (min_nodes, max_nodes) = (
            min_nodes.map_or(Ok(NOTEBOOK_AUTOSCALING_MIN), |v| {
                crate::whole("min_nodes", v)
            })?,
            max_nodes.map_or(Ok(NOTEBOOK_AUTOSCALING_MAX), |v| {
                crate::whole("max_nodes", v)
            })?,
        );
        let limits = enabled.then_some((min_nodes, max_nodes));
        let inner = self.run(py, |s, t| async move {
            node_pools::set_autoscaling(&s, &t, &pool, limits, TIMEOUT, &no_progress).await
        })?;
        Ok(Change { inner })
    }

    /// Status, nodes Ready / not Ready, pods Pending, operations in progress, and a verdict.
    fn health(&self, py: Python<'_>) -> PyResult<Health> {
        let inner = self.run(py, |s, t| async move { health::health(&s, &t).await })?;
        Ok(Health { inner })
    }

    /// Waits until the cluster is RUNNING with every pool's nodes Ready (``OperationTimeout``
    /// after ``timeout`` seconds, default 600).
    #[pyo3(signature = (timeout=None))]
    fn wait_ready(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Health> {
        let timeout = match timeout {
            Some(t) => crate::seconds("timeout", t)?,
            None => NOTEBOOK_WAIT_READY,
        };
        let inner = self.run(py, |s, t| async move {
            health::wait_ready(&s, &t, timeout).await
        })?;
        Ok(Health { inner })
    }

    /// Runs a short-lived pod that resolves ``host`` and connects to ``port`` (default: DSS's
    /// DKU_BACKEND_EXT_HOST or host name, and DKU_BACKEND_PORT) from ``image`` (default
    /// busybox:1.36) in ``namespace`` (default "default"), for up to ``timeout`` seconds (default
    /// 120); the pod is always deleted.
    #[pyo3(signature = (host=None, port=None, image=None, namespace=None, timeout=None))]
    fn test_network(
        &self,
        py: Python<'_>,
        host: Option<String>,
        port: Option<&Bound<'_, PyAny>>,
        image: Option<String>,
        namespace: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<NetworkTest> {
        let timeout = crate::seconds(
            "timeout",
            timeout.unwrap_or(NETWORK_TEST_TIMEOUT_SECONDS as f64),
        )?;
        let port = port.map(|p| crate::whole("port", p)).transpose()?;
        let target =
            netcheck::backend_target(host.as_deref().unwrap_or(""), port).map_err(errors::to_py)?;
        let image = image.unwrap_or_else(|| NETWORK_TEST_IMAGE.to_string());
        let namespace = namespace.unwrap_or_else(|| NETWORK_TEST_NAMESPACE.to_string());
        let inner = self.run(py, |s, t| async move {
            netcheck::test_network(
                s.kube_client(&t).await?,
                &t.name,
                target,
                &image,
                &namespace,
                timeout,
            )
            .await
        })?;
        Ok(NetworkTest { inner })
    }

    /// A kubeconfig for the cluster whose credential helper is ``python -m dss_gke`` (no
    /// gcloud). With ``path``, it is written there (mode 0600) and the path returned; else its
    /// text is returned. A key given as JSON is written next to it (0600) for the helper.
    #[pyo3(signature = (path=None))]
    fn kubeconfig(&self, py: Python<'_>, path: Option<PathBuf>) -> PyResult<String> {
        let found = self.run(py, |s, t| async move { current(&s, &t).await })?;
        let sys = py.import("sys")?;
        let python: String = sys.getattr("executable")?.extract()?;
        let lib = python_lib()?;
        kubeconfig::kubeconfig(
            &self.target,
            &found,
            &self.key,
            (python, lib.to_string()),
            path.as_deref(),
        )
        .map_err(errors::to_py)
    }

    /// Deletes the cluster and waits (already gone is success).
    fn delete(&self, py: Python<'_>) -> PyResult<()> {
        self.run(
            py,
            |s, t| async move { delete::delete(&s, &t, TIMEOUT).await },
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Cluster(name={:?}, location={:?}, project={:?})",
            self.target.name, self.target.location, self.target.project
        )
    }
}

/// Runs the cluster action `name` (its folder under cluster-actions/) with the action's
/// `params` on the DSS cluster of `record` (what ``dss_gke.dss.dss_cluster`` returns); returns
/// HTML. ``progress`` (optional) is called with a percentage.
#[pyfunction]
#[pyo3(signature = (name, params, record, progress=None))]
pub fn cluster_action(
    py: Python<'_>,
    name: String,
    params: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    logging::refresh_level(py);
    let params = convert::from_python(params, "params")?;
    let cluster = convert::dss_cluster(record)?;
    let call = convert::callback(progress);
    let report = move |percent: u32| {
        if let Some(call) = &call {
            call((percent,))
        }
    };
    runtime::block_on(py, async move {
        actions::run_action(&name, &params, &cluster, &report).await
    })
}

/// Runs the scenario step `name` (its folder under python-steps/) on the DSS cluster of
/// `record` (what ``dss_gke.dss.dss_cluster`` returns); returns a one-line summary, raises with
/// the reason when the step must fail.
#[pyfunction]
pub fn cluster_step(
    py: Python<'_>,
    name: String,
    params: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
) -> PyResult<String> {
    logging::refresh_level(py);
    let params = convert::from_python(params, "params")?;
    let cluster = convert::dss_cluster(record)?;
    runtime::block_on(py, async move {
        actions::run_step(&name, &params, &cluster).await
    })
}

/// The folder that makes `dss_gke` importable (the kubeconfig's credential helper runs
/// `python -m dss_gke` with it on `PYTHONPATH`): the parent of this package's folder.
static PYTHON_LIB: OnceLock<String> = OnceLock::new();

fn python_lib() -> PyResult<&'static str> {
    PYTHON_LIB.get().map(String::as_str).ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err(
            "dss_gke._native was loaded without a __file__: its folder is unknown",
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // `dss_gke/_native.*.so` → the folder holding `dss_gke`.
    if let Ok(file) = m.getattr("__file__").and_then(|f| f.extract::<PathBuf>()) {
        let file = std::path::absolute(&file).unwrap_or(file);
        if let Some(lib) = file.parent().and_then(|p| p.parent()) {
            let _ = PYTHON_LIB.set(lib.display().to_string());
        }
    }
    m.add_class::<Gke>()?;
    m.add_class::<Cluster>()?;
    m.add_class::<ClusterSummary>()?;
    m.add_class::<NodePool>()?;
    m.add_class::<NodePools>()?;
    m.add_class::<Health>()?;
    m.add_class::<Change>()?;
    m.add_class::<NetworkTest>()?;
    m.add_function(wrap_pyfunction!(cluster_action, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_step, m)?)?;
    Ok(())
}
