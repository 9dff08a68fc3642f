"""The native module of gke-native, built from rust/gke-py. Every name it exposes is here."""

from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from typing import Any, final

__version__: str
__all__ = [
    "ApiError",
    "AuthError",
    "Change",
    "Cluster",
    "ClusterSummary",
    "DssError",
    "DssSetupReport",
    "EnvironmentReport",
    "FileError",
    "GcsAccessReport",
    "GcsSyncReport",
    "Gke",
    "GkeError",
    "Health",
    "NetworkTest",
    "NodePool",
    "NodePools",
    "NotFoundError",
    "OperationFailed",
    "OperationTimeout",
    "PushBatchReport",
    "PushReport",
    "RegistryError",
    "StorageError",
    "ValidationError",
    "__version__",
    "attach_cluster",
    "cluster_action",
    "cluster_step",
    "environment_report",
    "exec_credential",
    "gcs_check_access",
    "gcs_check_access_action",
    "gcs_sync",
    "gcs_sync_recipe",
    "plan_cluster",
    "push_base_images_action",
    "push_image",
    "setup_dss_action",
    "start_cluster",
    "stop_cluster",
    "validation_error",
]

class GkeError(Exception):
    """Every error gke-native raises.

    Raised as itself (not a subclass) when a client, its TLS or a cluster's CA certificate or
    endpoint cannot be set up: nothing was called.
    """

class ValidationError(GkeError):
    """The configuration is wrong; nothing was called.

    ``problems`` lists every problem as ``{"field": ..., "message": ...}``.
    """

    problems: list[dict[str, str]]

class ApiError(GkeError):
    """A Google API refused a request.

    ``status`` is the HTTP status (0 when no answer came), ``code`` Google's status name
    (e.g. ``ALREADY_EXISTS``), ``message`` what the server said, ``request`` the method and path.
    """

    status: int
    code: str
    message: str
    request: str

class NotFoundError(ApiError):
    """What the work needs is not there (``status`` 404), e.g. the GKE cluster was deleted or
    the name is wrong; ``message`` says what is missing and what to do."""

class OperationFailed(GkeError):
    """A GKE operation ended in error.

    ``operation`` names it (e.g. ``CREATE_CLUSTER operation-123``), ``message`` is why (GKE's
    message when GKE gave one), ``code`` Google's status name of the error, when known.
    """

    operation: str
    message: str
    code: str | None

class OperationTimeout(GkeError):
    """A GKE operation did not finish in time; it goes on in GKE.

    ``operation`` names it, ``waited`` is how long it was waited for, in seconds.
    """

    operation: str
    waited: float

class AuthError(GkeError):
    """Credentials are missing, invalid or refused."""

class RegistryError(GkeError):
    """An image push or registry call failed.

    ``status`` is the HTTP status when the registry refused (``None`` otherwise: unreachable,
    a bad source image), ``code`` the registry's error code (e.g. ``DENIED``) when it gave one.
    """

    status: int | None
    code: str | None

class StorageError(GkeError):
    """A GCS call or transfer failed.

    ``status`` is the HTTP status when GCS refused (``None`` otherwise: unreachable, a local
    file, a checksum mismatch), ``code`` Google's status name (e.g. ``PERMISSION_DENIED``).
    """

    status: int | None
    code: str | None

class FileError(GkeError):
    """A local file or folder (a kubeconfig, a key file, a working directory) could not be
    written or created; ``path`` is which."""

    path: str

class DssError(GkeError):
    """DSS's own API refused a call or could not be reached (e.g. "Set up DSS for this
    cluster" run by someone who is not a DSS administrator)."""

def validation_error(field: str, message: str) -> ValidationError:
    """A ``ValidationError`` naming ``field``, as gke-native raises them (with ``problems``),
    for checks made in Python: ``raise validation_error("Cluster", "choose a cluster")``."""

@final
class EnvironmentReport:
    """What the plugin sees of the host it runs on (see ``environment_report``)."""

    @property
    def version(self) -> str:
        """The plugin's version."""

    @property
    def on_gce(self) -> bool:
        """``True`` when a GCE metadata server answered: the host is a Google Cloud VM."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The report as an HTML fragment, as the DSS macro shows it."""

    def _repr_html_(self) -> str: ...

def environment_report(metadata_host: str | None = None, timeout: float = 2.0) -> EnvironmentReport:
    """Checks the DSS host: the plugin's build and, on Google Cloud, the host's project, zone,
    network and service account from the metadata server.

    ``metadata_host`` is ``host[:port]`` (default: ``GCE_METADATA_HOST``, else
    metadata.google.internal); ``timeout`` bounds each request, in seconds.
    """

def plan_cluster(
    config: dict[str, Any],
    plugin_config: dict[str, Any] | None = None,
    dss_cluster_id: str = "dss-cluster",
) -> dict[str, Any]:
    """The create request ``start_cluster`` would send: ``{"parent": ..., "cluster": {...}}``.

    ``config`` is the "Create GKE cluster" configuration as DSS resolves it (presets as dicts);
    ``plugin_config`` the plugin's settings (``api_endpoint``).
    Validates everything first (``ValidationError`` lists every problem) and looks up blanks
    (metadata server, Compute) but creates nothing. Never contains a secret.
    """

def start_cluster(
    config: dict[str, Any],
    plugin_config: dict[str, Any],
    dss_cluster_id: str,
    workdir: str,
    python: str,
    python_path: str,
) -> list[Any]:
    """Creates the cluster (or resumes an interrupted creation, or adopts a running twin) and
    returns ``[settings, data]`` for DSS. ``workdir`` receives the kubeconfig (0600); ``python``
    and ``python_path`` run the kubeconfig's credential helper."""

def attach_cluster(
    config: dict[str, Any],
    plugin_config: dict[str, Any],
    dss_cluster_id: str,
    workdir: str,
    python: str,
    python_path: str,
) -> list[Any]:
    """Attaches an existing cluster: ``[settings, data]`` for DSS; creates nothing."""

def stop_cluster(
    config: dict[str, Any], plugin_config: dict[str, Any], data: dict[str, Any]
) -> None:
    """Deletes the cluster recorded in ``data`` and waits; a cluster already gone is success."""

def exec_credential(cache_file: str, key_file: str | None = None) -> dict[str, Any]:
    """An ExecCredential for kubectl with a token from the credential chain, cached 0600."""

@final
class GcsAccessReport:
    """What "Check GCS access" found, one row per bucket and check."""

    @property
    def verdict(self) -> str:
        """``"OK"``, ``"Warning"`` or ``"Failed"``: the worst of all rows."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The report as an HTML table, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class GcsSyncReport:
    """What a sync did (or, in a dry run, would do) to every file."""

    @property
    def summary(self) -> str:
        """One line: files and bytes per action, and the time taken."""

    @property
    def failed(self) -> int:
        """Number of files that failed to sync."""

    def entries(self) -> list[dict[str, Any]]:
        """Every file as ``{"path", "action", "bytes", "reason"}``, sorted by path.

        ``action`` is one of ``uploaded``, ``downloaded``, ``skipped``, ``deleted``, ``failed``
        (and in a dry run ``would upload``, ``would download``, ``would delete``).
        """

    def check(self) -> None:
        """Raises StorageError naming the failed files, if any failed."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The report as an HTML fragment."""

    def _repr_html_(self) -> str: ...

def gcs_check_access(
    buckets: Sequence[str], *, key: str = "", endpoint: str | None = None
) -> GcsAccessReport:
    """Checks, for each bucket (``"bucket"``, ``"bucket/prefix"`` or ``"gs://bucket/prefix"``),
    that it exists, listing works, a probe object can be written, read back and deleted, and
    which object permissions the identity holds.

    ``key`` is a service-account key (JSON text or a path; blank: the default chain, or no
    credentials against an emulator); ``endpoint`` defaults to ``STORAGE_EMULATOR_HOST``, else GCS.
    """

def gcs_check_access_action(config: dict[str, Any], record: dict[str, Any]) -> GcsAccessReport:
    """The "Check GCS access" cluster action: its DSS config (the buckets, the "GKE connection"
    preset as DSS resolved it) and the DSS cluster it runs on, as ``dss_gke.dss.dss_cluster``
    returns it (whose connection preset and plugin settings apply when the action names no
    preset); the report out. ``dss_gke.gcs_check_access_action(config, cluster_id)`` reads the
    record."""

def gcs_sync(
    src: str | PathLike[str] | Any,
    dst: str | PathLike[str] | Any,
    *,
    delete_extra: bool = False,
    dry_run: bool = False,
    parallelism: int = 16,
    key: str = "",
    endpoint: str | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GcsSyncReport:
    """Syncs a folder with ``gs://bucket/prefix``, either way: ``src`` and ``dst`` are one
    ``gs://`` URL and one folder (a local directory path, or a DSS ``dataiku.Folder``, streamed
    through its API).

    Only files whose size or checksum (CRC32C, else MD5) differ move; ``delete_extra`` removes
    destination files the source lacks; ``dry_run`` only reports. ``progress`` is called with
    ``(bytes_done, bytes_total)`` a few times per second.

    Files of 16 MiB and more are uploaded through a resumable session, kept (mode 0600) under
    ``$GKE_NATIVE_STATE_DIR``, else ``$DIP_HOME/caches/gke-native``, else the user's cache
    directory: a run that was interrupted (even killed) is resumed by the next one from what GCS
    already holds.

    ``parallelism`` is the transfers at once, 1 to 64. An entry of the folder that cannot be
    read (a dangling link, a link loop, an unreadable subfolder, a name that is not UTF-8) is a
    row of the report, ``skipped`` or ``failed`` with why; the sync goes on and never deletes
    what GCS holds under it. Downloads are written as ``.NAME.PID-RANDOM.gke-native-part`` and
    renamed once verified; listings skip such files and never delete them.
    """

def gcs_sync_recipe(
    config: dict[str, Any],
    plugin_config: dict[str, Any] | None = None,
    input_folder: str | PathLike[str] | Any | None = None,
    output_folder: str | PathLike[str] | Any | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GcsSyncReport:
    """The "Sync folder with GCS" recipe: its DSS config, the plugin settings and its folders in
    (a local path, or a ``dataiku.Folder`` streamed through its API; ``None`` for an unused
    role), the report out.
    """

@final
class ClusterSummary:
    """One GKE cluster of a location, as ``Gke.clusters()`` lists it."""

    @property
    def name(self) -> str:
        """The cluster's name."""

    @property
    def location(self) -> str:
        """Its zone or region."""

    @property
    def status(self) -> str:
        """GKE's status: RUNNING, PROVISIONING, RECONCILING, STOPPING, ERROR, DEGRADED."""

    @property
    def version(self) -> str:
        """The control plane's Kubernetes version."""

    @property
    def autopilot(self) -> bool:
        """Whether it is an Autopilot cluster."""

    @property
    def node_pools(self) -> list[str]:
        """Names of its node pools."""

    @property
    def endpoint(self) -> str:
        """The Kubernetes API's address."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class NodePool:
    """A node pool as admins check it: GKE's settings, Compute's instance groups and the
    Kubernetes nodes."""

    @property
    def name(self) -> str:
        """The pool's name."""

    @property
    def status(self) -> str:
        """GKE's status: RUNNING, PROVISIONING, RECONCILING, STOPPING, ERROR."""

    @property
    def version(self) -> str:
        """The nodes' Kubernetes version."""

    @property
    def machine_type(self) -> str:
        """e.g. e2-standard-4."""

    @property
    def nodes(self) -> int:
        """Nodes now: the sum of its instance groups' sizes."""

    @property
    def min_nodes(self) -> int | None:
        """Autoscaling's minimum per zone, when autoscaling is on."""

    @property
    def max_nodes(self) -> int | None:
        """Autoscaling's maximum per zone, when autoscaling is on."""

    @property
    def autoscaling(self) -> bool:
        """Whether autoscaling is on."""

    @property
    def spot(self) -> bool:
        """Whether the nodes are Spot (or preemptible) VMs."""

    @property
    def gpu(self) -> str | None:
        """The GPUs per node, e.g. "1 × nvidia-tesla-t4", or None."""

    @property
    def ready(self) -> int | None:
        """Kubernetes nodes that are Ready (None when the Kubernetes API could not be read)."""

    @property
    def not_ready(self) -> int | None:
        """Kubernetes nodes that are not Ready (None when the Kubernetes API could not be read)."""

    @property
    def instance_groups(self) -> list[tuple[str, int]]:
        """Its instance groups (one per zone) as ``(name, size)``."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class NodePools:
    """The node pools of a cluster; iterate it, index it by position or name."""

    @property
    def cluster(self) -> str:
        """The cluster's name."""

    @property
    def kubernetes_error(self) -> str | None:
        """Why the Kubernetes API could not be read (nodes unknown), or None."""

    @property
    def pools(self) -> list[NodePool]:
        """The pools, as `NodePool` objects."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: int | str, /) -> NodePool: ...
    def __iter__(self) -> Iterator[NodePool]: ...
    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class Health:
    """A cluster's state at a glance: status, nodes Ready / not Ready per pool, pods Pending per
    namespace, GKE operations in progress, and a verdict."""

    @property
    def cluster(self) -> str:
        """The cluster's name."""

    @property
    def location(self) -> str:
        """Its zone or region."""

    @property
    def status(self) -> str:
        """GKE's status of the cluster."""

    @property
    def version(self) -> str:
        """The control plane's Kubernetes version."""

    @property
    def autopilot(self) -> bool:
        """Whether it is an Autopilot cluster."""

    @property
    def pending_pods(self) -> dict[str, int]:
        """Pods Pending, per namespace."""

    @property
    def kubernetes_error(self) -> str | None:
        """Why the Kubernetes API could not be read, or None."""

    @property
    def verdict(self) -> str:
        """ "OK", "Warning" or "Failed"."""

    @property
    def summary(self) -> str:
        """Why, in one sentence."""

    @property
    def node_pools(self) -> list[NodePool]:
        """The pools, as `NodePool` objects."""

    @property
    def operations(self) -> list[tuple[str, str, str, str]]:
        """GKE operations running on the cluster, as ``(name, type, status, target)``."""

    def is_ready(self) -> bool:
        """True when the cluster is RUNNING and every pool's nodes are registered and Ready."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class Change:
    """What a node-pool change did."""

    @property
    def cluster(self) -> str:
        """The cluster's name."""

    @property
    def pool(self) -> str:
        """The pool changed (its generated name when the preset had none)."""

    @property
    def action(self) -> str:
        """ "added", "resized", "deleted", "autoscaling enabled" or "autoscaling disabled"."""

    @property
    def detail(self) -> str:
        """What it was before and what it is now, in one sentence."""

    @property
    def seconds(self) -> float:
        """How long it took, GKE's operation included."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

@final
class NetworkTest:
    """What "Test network connectivity" found: whether a pod in the cluster reached DSS."""

    @property
    def cluster(self) -> str:
        """The cluster's name."""

    @property
    def host(self) -> str:
        """The DSS host the pod resolved and connected to."""

    @property
    def port(self) -> int:
        """DSS's backend port."""

    @property
    def pod(self) -> str:
        """The test pod's name (deleted since)."""

    @property
    def phase(self) -> str:
        """The pod's last phase."""

    @property
    def exit_code(self) -> int | None:
        """The pod's exit code, when it ended."""

    @property
    def output(self) -> str:
        """What the pod printed."""

    @property
    def verdict(self) -> str:
        """ "OK" or "Failed"."""

    @property
    def summary(self) -> str:
        """Why, in one sentence."""

    @property
    def seconds(self) -> float:
        """How long the test took."""

    @property
    def passed(self) -> bool:
        """True when the pod connected to DSS."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON types only)."""

    def to_html(self) -> str:
        """The result as an HTML fragment, as the DSS action shows it."""

@final
class PushReport:
    """What a push did: the digest the tag points at, and each layer pushed, already there or
    mounted."""

    @property
    def digest(self) -> str:
        """The manifest digest the destination tag now points at (``sha256:…``)."""

    @property
    def layers_pushed(self) -> int:
        """Layers uploaded by this push."""

    @property
    def layers_skipped(self) -> int:
        """Layers the repository already had."""

    @property
    def layers_mounted(self) -> int:
        """Layers mounted from another repository of the registry."""

    @property
    def bytes_uploaded(self) -> int:
        """Bytes uploaded (compressed layers and config)."""

    @property
    def seconds(self) -> float:
        """Wall time of the push, in seconds."""

    @property
    def summary(self) -> str:
        """One line: layers pushed / already there / mounted, bytes and time."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON types only): ``source``, ``destination``, ``digest``,
        ``repository_created``, ``layers`` (``digest``, ``size``, ``outcome`` = ``pushed`` |
        ``skipped`` | ``mounted``, ``compressed``), counts, ``bytes_uploaded``, ``bytes_total``,
        ``seconds``."""

    def to_html(self) -> str:
        """The report as an HTML fragment."""

    def _repr_html_(self) -> str: ...

@final
class Gke:
    """GKE for one project and location: the notebook entry point.

    ``Gke(project="p", location="europe-west1-b", credentials=None)``; credentials are a
    service-account key (JSON text, dict or file path) or None for the host's default
    credentials. ``Gke.from_dss_cluster("dss-cluster-id")`` is a DSS cluster's.
    """

    def __new__(
        cls,
        project: str,
        location: str,
        credentials: str | dict[str, Any] | PathLike[str] | None = None,
        api_endpoint: str | None = None,
    ) -> Gke: ...
    @classmethod
    def from_dss_cluster(cls, cluster_id: str) -> Gke:
        """The GKE of a DSS cluster (started with this plugin): its project and location as the
        cluster recorded them, the credentials of its connection preset as DSS resolves it now;
        ``.cluster()`` is that cluster. Needs DSS (a notebook, recipe or macro)."""

    @property
    def project(self) -> str:
        """The project's ID."""

    @property
    def location(self) -> str:
        """The zone or region."""

    def clusters(self) -> list[ClusterSummary]:
        """The clusters of the location."""

    def cluster(self, name: str | None = None) -> Cluster:
        """A cluster by name; without a name, the DSS cluster's (``from_dss_cluster``)."""

@final
class Cluster:
    """A GKE cluster: its node pools, health, changes, kubeconfig, deletion."""

    @property
    def name(self) -> str:
        """The cluster's name."""

    @property
    def autopilot(self) -> bool:
        """Whether it is an Autopilot cluster (no node pools to manage)."""

    def node_pools(self) -> NodePools:
        """Its node pools, with sizes from Compute and nodes from the Kubernetes API."""

    def add_node_pool(self, preset: dict[str, Any]) -> Change:
        """Adds a node pool from a dict with the "Node pool" preset's fields (blank name: a free
        one is generated) and waits for GKE."""

    def resize(self, pool: str, nodes: int, delete_at_zero: bool = False) -> Change:
        """Resizes ``pool`` to ``nodes`` per zone and waits; ``delete_at_zero=True`` with 0 deletes
        the pool (never the last one)."""

    def set_autoscaling(
        self,
        pool: str,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        enabled: bool = True,
    ) -> Change:
        """Turns autoscaling of ``pool`` on between ``min_nodes`` (default 0) and ``max_nodes``
        (default 1) per zone, or off with ``enabled=False``; waits for GKE."""

    def health(self) -> Health:
        """Status, nodes Ready / not Ready, pods Pending, operations in progress, and a verdict."""

    def wait_ready(self, timeout: float | None = None) -> Health:
        """Waits until the cluster is RUNNING with every pool's nodes Ready (``OperationTimeout``
        after ``timeout`` seconds, default 600)."""

    def test_network(
        self,
        host: str | None = None,
        port: int | None = None,
        image: str | None = None,
        namespace: str | None = None,
        timeout: float | None = None,
    ) -> NetworkTest:
        """Runs a short-lived pod that resolves ``host`` and connects to ``port`` (default: DSS's
        DKU_BACKEND_EXT_HOST or host name, and DKU_BACKEND_PORT) from ``image`` (default
        busybox:1.36) in ``namespace`` (default "default"), for up to ``timeout`` seconds (default
        120); the pod is always deleted."""

    def kubeconfig(self, path: str | PathLike[str] | None = None) -> str:
        """A kubeconfig for the cluster whose credential helper is ``python -m dss_gke`` (no
        gcloud). With ``path``, it is written there (mode 0600) and the path returned; else its
        text is returned. A key given as JSON is written next to it (0600) for the helper."""

    def delete(self) -> None:
        """Deletes the cluster and waits (already gone is success)."""

def cluster_action(
    name: str,
    params: dict[str, Any],
    record: dict[str, Any],
    progress: Callable[[int], object] | None = None,
) -> str:
    """Runs the cluster action ``name`` (its folder under cluster-actions/) with the action's
    ``params`` on the DSS cluster of ``record`` (what ``dss_gke.dss.dss_cluster`` returns);
    returns HTML. ``progress`` (optional) is called with a percentage."""

def cluster_step(name: str, params: dict[str, Any], record: dict[str, Any]) -> str:
    """Runs the scenario step ``name`` (its folder under python-steps/) on the DSS cluster of
    ``record`` (what ``dss_gke.dss.dss_cluster`` returns); returns a one-line summary, raises
    with the reason when the step must fail."""

@final
class PushBatchReport:
    """What "Push base images" did for each matching local image."""

    @property
    def failed(self) -> int:
        """Number of images that failed to push."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: ``repository``, ``repository_created``, ``images`` (each
        ``image``, ``report`` or ``error``)."""

    def to_html(self) -> str:
        """The report as an HTML table, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

def push_image(
    source: str,
    destination: str,
    *,
    username: str | None = None,
    password: str | None = None,
    key: str = "",
    insecure: bool = False,
    create_repository: bool = False,
    parallelism: int | None = None,
    compression_level: int | None = None,
    docker_socket: str | PathLike[str] | None = None,
    api_endpoint: str | None = None,
    registry_endpoint: str | None = None,
    cache_file: str | PathLike[str] | None = None,
    progress: Callable[[int, int, int, int], object] | None = None,
) -> PushReport:
    """Pushes an image to a registry, without docker.

    ``source`` as skopeo names it: ``docker-daemon:NAME[:TAG]`` (the Docker Engine at
    ``docker_socket``, default ``/var/run/docker.sock``), ``docker-archive:PATH`` (``docker
    save`` output) or ``oci:DIR[:TAG]``; ``destination`` is ``HOST/REPOSITORY[:TAG]``.
    Registries on loopback (and all when ``insecure``) are reached over plain HTTP, others over
    HTTPS. For Artifact Registry hosts (``REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE``) the
    credentials are ``oauth2accesstoken`` and an access token of ``key`` (a service-account key,
    JSON text or path; blank: the default chain), and the repository is created when missing if
    ``create_repository``. ``parallelism`` (default 6) blobs are in flight at once.
    ``api_endpoint`` / ``registry_endpoint`` default to
    ``GKE_NATIVE_API_ENDPOINT`` / ``GKE_NATIVE_REGISTRY_ENDPOINT``. Layers stored uncompressed
    are gzipped at ``compression_level`` (default 1) on every core. ``cache_file`` (default
    ``~/.cache/gke-native/blob-info.json``) remembers compressed digests and blob locations for
    faster re-pushes and cross-repository mounts. ``progress`` is called with ``(bytes_done,
    bytes_total, layers_done, layers_total)``. Raises ``RegistryError`` naming the image and
    what to do; nothing is tagged then.
    """

def push_base_images_action(
    config: dict[str, Any],
    record: dict[str, Any],
    progress: Callable[[int, int, int, int], object] | None = None,
) -> PushBatchReport:
    """The "Push base images" cluster action: its DSS config and the DSS cluster it runs on, as
    ``dss_gke.dss.dss_cluster`` returns it; ``progress(bytes_done, bytes_total, layers_done,
    layers_total)``. ``dss_gke.push_base_images_action(config, cluster_id)`` reads the record."""

@final
class DssSetupReport:
    """What "Set up DSS for this cluster" planned or did: each DSS setting with its outcome
    (``steps``: ``what``, ``name``, ``outcome``, ``why``, ``changes`` before → after), the
    settings to make by hand, and the push of the base images."""

    @property
    def applied(self) -> bool:
        """Whether the changes were made (else this is the plan)."""

    @property
    def registry(self) -> str:
        """The image registry the configs name: ``REGION-docker.pkg.dev/PROJECT/REPOSITORY``."""

    @property
    def failed(self) -> int:
        """Steps that failed, and images that failed to push."""

    @property
    def summary(self) -> str:
        """The verdict line."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: ``cluster``, ``registry``, ``applied``, ``steps``, ``push``
        (as ``PushBatchReport.to_dict()``), ``push_error``."""

    def to_html(self) -> str:
        """The report as HTML, as the DSS action shows it."""

    def _repr_html_(self) -> str: ...

def setup_dss_action(
    config: dict[str, Any],
    record: dict[str, Any],
    admin: Any,
    progress: Callable[[int, int, int, int], object] | None = None,
) -> DssSetupReport:
    """The "Set up DSS for this cluster" action: its DSS config, the DSS cluster as
    ``dss_gke.dss.dss_cluster`` returns it, ``admin`` the DSS it reads and writes
    (``dss_gke.dss.DssAdmin``); ``progress(bytes_done, bytes_total, layers_done, layers_total)``
    of the push. ``dss_gke.setup_dss_action(config, cluster_id)`` reads the record."""
