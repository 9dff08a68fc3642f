"""The native module of gke-native, built from rust/gke-py. Every name it exposes is here."""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, final

__version__: str
__all__ = [
    "ApiError",
    "AuthError",
    "EnvironmentReport",
    "GcsAccessReport",
    "GcsSyncReport",
    "GkeError",
    "OperationFailed",
    "OperationTimeout",
    "PushBatchReport",
    "PushReport",
    "RegistryError",
    "StorageError",
    "ValidationError",
    "__version__",
    "add_node_pool",
    "attach_cluster",
    "environment_report",
    "exec_credential",
    "gcs_check_access",
    "gcs_check_access_action",
    "gcs_sync",
    "gcs_sync_recipe",
    "plan_cluster",
    "push_base_images_action",
    "push_image",
    "resize_node_pool",
    "start_cluster",
    "stop_cluster",
]

class GkeError(Exception):
    """Every error gke-native raises."""

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

class OperationFailed(GkeError):
    """A GKE operation ended in error; the message is GKE's."""

class OperationTimeout(GkeError):
    """A GKE operation did not finish in time; it goes on in GKE."""

class AuthError(GkeError):
    """Credentials are missing, invalid or refused."""

class RegistryError(GkeError):
    """An image push or registry call failed."""

class StorageError(GkeError):
    """A GCS call or transfer failed."""

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

def add_node_pool(
    config: dict[str, Any],
    plugin_config: dict[str, Any],
    data: dict[str, Any],
    preset: dict[str, Any],
) -> str:
    """Adds a node pool from a "Node pool" preset to the cluster recorded in ``data`` (what
    ``start_cluster`` returned); returns its name, generated when the preset has none. Waits
    out an operation already running on the cluster; refused on Autopilot."""

def resize_node_pool(
    config: dict[str, Any],
    plugin_config: dict[str, Any],
    data: dict[str, Any],
    pool: str,
    count: int,
) -> None:
    """Resizes ``pool`` of the cluster recorded in ``data`` to ``count`` nodes per zone."""

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

def gcs_check_access_action(config: dict[str, Any]) -> GcsAccessReport:
    """The "Check GCS access" cluster action: its DSS config in, the report out."""

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
    """

def gcs_sync_recipe(
    config: dict[str, Any],
    input_folder: str | PathLike[str] | Any | None = None,
    output_folder: str | PathLike[str] | Any | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GcsSyncReport:
    """The "Sync folder with GCS" recipe: its DSS config and its folders in (a local path, or a
    ``dataiku.Folder`` streamed through its API; ``None`` for an unused role), the report out.
    """

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
    parallelism: int = 6,
    compression_level: int = 1,
    docker_socket: str | PathLike[str] = ...,
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
    ``create_repository``. ``api_endpoint`` / ``registry_endpoint`` default to
    ``GKE_NATIVE_API_ENDPOINT`` / ``GKE_NATIVE_REGISTRY_ENDPOINT``. Layers stored uncompressed
    are gzipped at ``compression_level`` on every core. ``cache_file`` (default
    ``~/.cache/gke-native/blob-info.json``) remembers compressed digests and blob locations for
    faster re-pushes and cross-repository mounts. ``progress`` is called with ``(bytes_done,
    bytes_total, layers_done, layers_total)``. Raises ``RegistryError`` naming the image and
    what to do; nothing is tagged then.
    """

def push_base_images_action(
    config: dict[str, Any],
    plugin_config: dict[str, Any],
    data: dict[str, Any] | None,
    progress: Callable[[int, int, int, int], object] | None = None,
) -> PushBatchReport:
    """The "Push base images" cluster action: its DSS config, the plugin settings and the
    cluster's plugin data in (project and region come from the cluster); each local image
    matching the patterns pushed to ``REGION-docker.pkg.dev/PROJECT/REPOSITORY``."""
