"""Glue for DSS components: what only the component's process knows (working directory,
interpreter, log level) handed to the native lifecycle. Components call these in one line."""

import logging
import os
import sys

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


def cluster_state(cluster_id: str) -> tuple:
    """`(saved config, plugin data)` of a DSS cluster, through DSS's public API."""
    import dataiku

    settings = dataiku.api_client().get_cluster(cluster_id).get_settings()
    return settings.get_raw() or {}, settings.get_plugin_data() or {}


def run_cluster_action(action: str, config: dict, plugin_config: dict, progress_callback) -> str:
    """`run()` of the cluster action `action` (its folder name): the HTML DSS shows."""
    _apply_log_level(config)
    raw, data = cluster_state(config["clusterId"])
    return _native.cluster_action(action, config, plugin_config or {}, data, raw, progress_callback)


def run_cluster_step(step: str) -> str:
    """The scenario step `step` (its folder name) on the DSS cluster of its config; raising
    fails the step with the reason."""
    from dataiku.customstep import get_plugin_config, get_step_config

    config = get_step_config()
    _apply_log_level(config)
    cluster_id = (config.get("cluster") or "").strip()
    if not cluster_id:
        raise _native.ValidationError("Cluster: choose the DSS cluster this step works on")
    _, data = cluster_state(cluster_id)
    return _native.cluster_step(step, config, get_plugin_config() or {}, data)


def push_base_images(config: dict, plugin_config: dict, progress_callback=None) -> str:
    """ "Push base images": the cluster's local DSS base images to Artifact Registry; the HTML
    report. The cluster (project, region) is read from its plugin data."""
    _apply_log_level(config)
    _, data = cluster_state(config["clusterId"])

    def progress(bytes_done: int, bytes_total: int, layers_done: int, layers_total: int) -> None:
        if progress_callback is not None:
            progress_callback(bytes_done)

    report = _native.push_base_images_action(config, plugin_config or {}, data, progress)
    return report.to_html()
