"""Glue for DSS components: what only the component's process knows (working directory,
interpreter, log level) handed to the native lifecycle. Components call these in one line."""

import json
import logging
import os
import sys
from typing import Optional

from dss_gke import _native

# The folder that makes `dss_gke` importable, for the kubeconfig's credential helper.
PYTHON_LIB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _apply_log_level(config: dict) -> None:
    level = (config or {}).get("log_level")
    if level:
        logging.getLogger("dss_gke").setLevel(level)


def start_created_cluster(cluster_id: str, config: dict, plugin_config: dict) -> list:
    """`start()` of "Create GKE cluster": `[settings, data]` for DSS."""
    _apply_log_level(config)
    return _native.start_cluster(
        config, plugin_config or {}, cluster_id, os.getcwd(), sys.executable, PYTHON_LIB
    )


def start_attached_cluster(cluster_id: str, config: dict, plugin_config: dict) -> list:
    """`start()` of "Attach GKE cluster": `[settings, data]` for DSS."""
    _apply_log_level(config)
    return _native.attach_cluster(
        config, plugin_config or {}, cluster_id, os.getcwd(), sys.executable, PYTHON_LIB
    )


def stop_created_cluster(config: dict, plugin_config: dict, data: dict) -> None:
    """`stop()` of "Create GKE cluster": deletes the cluster recorded in `data`."""
    _apply_log_level(config)
    _native.stop_cluster(config, plugin_config or {}, data or {})


def dss_cluster(cluster_id: Optional[str]) -> dict:
    """A DSS cluster as DSS resolves it now, as Dataiku's own cluster plugins read it: its
    definition through DSS's public API (``get_raw()`` is the whole definition, its params under
    ``["params"]["config"]`` with presets as references) and its presets and the plugin settings
    resolved by DSS's backend. ``{"id", "type", "config", "plugin_config", "data"}``."""
    import dataiku
    from dataiku.core import intercom

    if not isinstance(cluster_id, str) or not cluster_id.strip():
        raise _native.validation_error("Cluster", "choose the DSS cluster to work on")
    try:
        settings = dataiku.api_client().get_cluster(cluster_id.strip()).get_settings()
    except Exception as e:  # DSS's answer (unknown cluster, no permission) says why
        raise _native.validation_error(
            "Cluster", f"DSS cannot read cluster {cluster_id.strip()!r}: {e}"
        ) from None
    raw = settings.get_raw() or {}
    params = (raw.get("params") or {}).get("config") or {}
    resolved = intercom.backend_json_call(
        "plugins/get-resolved-settings",
        data={"elementConfig": json.dumps(params), "elementType": raw.get("type", "")},
    )
    return {
        "id": raw.get("id") or cluster_id.strip(),
        "type": raw.get("type", ""),
        "config": resolved.get("config") or {},
        "plugin_config": resolved.get("pluginConfig") or {},
        "data": settings.get_plugin_data(),
    }


def run_cluster_action(action: str, config: dict, progress_callback) -> str:
    """`run()` of the cluster action `action` (its folder name) on the cluster of its
    ``clusterId`` param (the Actions tab fills it; a scenario's "Run macro" step and the Macros
    menu let the user pick it): the HTML DSS shows."""
    _apply_log_level(config)
    record = dss_cluster((config or {}).get("clusterId"))
    return _native.cluster_action(action, config, record, progress_callback)


def run_cluster_step(step: str) -> str:
    """The scenario step `step` (its folder name) on the DSS cluster of its config; raising
    fails the step with the reason. The plugin settings are the cluster's, as DSS resolves them."""
    from dataiku.customstep import get_step_config

    config = get_step_config()
    _apply_log_level(config)
    return _native.cluster_step(step, config, dss_cluster(config.get("cluster")))


def gcs_check_access_action(config: dict, cluster_id: Optional[str]) -> _native.GcsAccessReport:
    """The "Check GCS access" cluster action: its DSS config (the buckets, the "GKE connection"
    preset as DSS resolved it) and the DSS cluster ``cluster_id`` as DSS resolves it now (whose
    connection preset and plugin settings apply when the action names no preset)."""
    return _native.gcs_check_access_action(config, dss_cluster(cluster_id))


def push_base_images_action(
    config: dict, cluster_id: Optional[str], progress=None
) -> _native.PushBatchReport:
    """The "Push base images" cluster action: its DSS config and the DSS cluster ``cluster_id``
    as DSS resolves it now; ``progress(bytes_done, bytes_total, layers_done, layers_total)``."""
    return _native.push_base_images_action(config, dss_cluster(cluster_id), progress)


def check_gcs_access(config: dict) -> str:
    """ "Check GCS access": the buckets with the action's connection preset, else the cluster's."""
    _apply_log_level(config)
    return gcs_check_access_action(config, (config or {}).get("clusterId")).to_html()


def push_base_images(config: dict, progress_callback=None) -> str:
    """ "Push base images": the cluster's local DSS base images to Artifact Registry; the HTML
    report. The project, region and blanks come from the cluster and its connection preset."""
    _apply_log_level(config)

    def progress(bytes_done: int, bytes_total: int, layers_done: int, layers_total: int) -> None:
        if progress_callback is not None:
            progress_callback(bytes_done)

    report = push_base_images_action(config, (config or {}).get("clusterId"), progress)
    return report.to_html()


class DssAdmin:
    """DSS's general settings and connections through its admin API (``dataikuapi``), for "Set
    up DSS for this cluster": plain reads and whole writes, no decisions (those are native)."""

    def __init__(self, client=None):
        if client is None:
            import dataiku

            client = dataiku.api_client()
        self.client = client

    def general_settings(self) -> dict:
        return self.client.get_general_settings().get_raw()

    def save_general_settings(self, settings: dict) -> None:
        general = self.client.get_general_settings()
        general.settings = settings
        general.save()

    def connection(self, name: str) -> Optional[dict]:
        if name not in self.client.list_connections():
            return None
        return self.client.get_connection(name).get_settings().get_raw()

    def create_connection(self, body: dict) -> None:
        self.client.create_connection(
            body["name"],
            body["type"],
            params=body.get("params"),
            usable_by=body.get("usableBy", "ALL"),
            allowed_groups=body.get("allowedGroups"),
            description=body.get("description"),
        )

    def save_connection(self, name: str, settings: dict) -> None:
        connection = self.client.get_connection(name).get_settings()
        connection.settings = settings
        connection.save()


def setup_dss_action(
    config: dict, cluster_id: Optional[str], progress=None, client=None
) -> _native.DssSetupReport:
    """ "Set up DSS for this cluster": its DSS config (``apply`` unset: the plan only) on the DSS
    cluster ``cluster_id`` as DSS resolves it now; ``client`` a ``dataikuapi.DSSClient`` with
    admin rights (default: ``dataiku.api_client()``); ``progress(bytes_done, bytes_total,
    layers_done, layers_total)`` of the image push."""
    return _native.setup_dss_action(config, dss_cluster(cluster_id), DssAdmin(client), progress)


def setup_dss(config: dict, progress_callback=None) -> str:
    """ "Set up DSS for this cluster": the HTML report (the plan unless ``apply``)."""
    _apply_log_level(config)

    def progress(bytes_done: int, bytes_total: int, layers_done: int, layers_total: int) -> None:
        if progress_callback is not None:
            progress_callback(bytes_done)

    report = setup_dss_action(config, (config or {}).get("clusterId"), progress)
    return report.to_html()
