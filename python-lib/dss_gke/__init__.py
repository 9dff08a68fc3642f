"""gke-native: Google Kubernetes Engine clusters and Google Cloud Storage for Dataiku DSS.

The logic is Rust (``dss_gke._native``); this package re-exports it for DSS components,
notebooks and the command line (``python -m dss_gke``).
"""

from dss_gke._native import (
    ApiError,
    AuthError,
    EnvironmentReport,
    GcsAccessReport,
    GcsSyncReport,
    GkeError,
    OperationFailed,
    OperationTimeout,
    RegistryError,
    StorageError,
    ValidationError,
    __version__,
    environment_report,
    gcs_check_access,
    gcs_check_access_action,
    gcs_sync,
    gcs_sync_recipe,
    plan_cluster,
)

__all__ = [
    "ApiError",
    "AuthError",
    "EnvironmentReport",
    "GcsAccessReport",
    "GcsSyncReport",
    "GkeError",
    "OperationFailed",
    "OperationTimeout",
    "RegistryError",
    "StorageError",
    "ValidationError",
    "__version__",
    "environment_report",
    "gcs_check_access",
    "gcs_check_access_action",
    "gcs_sync",
    "gcs_sync_recipe",
    "plan_cluster",
]
