"""DSS managed folders as the GCS sync takes them: a local folder by its path (read and written
directly), any other (GCS, S3, HDFS, ...) as the folder object, streamed through DSS's folder API
chunk by chunk, never staged on disk.
"""

import logging

from dss_gke._native import GcsSyncReport, gcs_sync_recipe

logger = logging.getLogger("dss_gke.gcs")

# The output dataset's columns, in order, with the sync report's fields.
FILES_COLUMNS = ["path", "action", "bytes", "reason"]


def sync_side(folder):
    """The folder's path if DSS stores it on this host's filesystem, else the folder itself."""
    info = folder.get_info() if hasattr(folder, "get_info") else {}
    if info.get("type") == "Filesystem":
        return folder.get_path()
    return folder


def log_progress(done: int, total: int) -> None:
    """Progress of a sync in the job's log (DSS shows custom recipes' progress there)."""
    percent = 100.0 * done / total if total else 100.0
    logger.info("GCS sync: %.1f of %.1f MiB (%.0f%%)", done / 2**20, total / 2**20, percent)


def run_sync_recipe(
    config: dict, plugin_config: dict, input_folder, output_folder, files_dataset
) -> GcsSyncReport:
    """The "Sync folder with GCS" recipe: syncs, writes one row per file, fails if any failed."""
    import pandas as pd

    import dataiku  # only inside DSS

    report = gcs_sync_recipe(
        config,
        plugin_config,
        sync_side(input_folder) if input_folder is not None else None,
        sync_side(output_folder) if output_folder is not None else None,
        progress=log_progress,
    )
    rows = pd.DataFrame(report.entries(), columns=FILES_COLUMNS).astype({"bytes": "int64"})
    dataiku.Dataset(files_dataset).write_with_schema(rows)
    logger.info("%s", report.summary)
    report.check()
    return report
