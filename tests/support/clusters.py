"""DSS clusters of the plugin, made through the DSS host harness or this process, on the
emulated DSS host (tests.support.emulator.HOST); and what reached GKE.

The host's project, zone and identity are named here once: tests use these names, not copies."""

import os
import sys

from tests.support.emulator import HOST

PROJECT = HOST["projectId"]
ZONE = HOST["zone"]
REGION = ZONE.rsplit("-", 1)[0]
SERVICE_ACCOUNT = HOST["serviceAccountEmail"]

# GKE's paths (container v1, locations form) for the host's project.
LOCATIONS = f"/v1/projects/{PROJECT}/locations"
CLUSTERS = f"{LOCATIONS}/{ZONE}/clusters"


def connection(dss, **params):
    """The connection preset "prod": blank fields mean the DSS host's project, zone, identity."""
    return dss.define_preset("connection-info", "prod", params)


def pool(dss, name, preset=None, **params):
    """A node-pool preset (named `preset`, or `name`) for a pool called `name`."""
    return dss.define_preset("node-pool-request", preset or name, {"name": name, **params})


def start(dss, cluster_id, pools, **extra) -> dict:
    """Starts a create-gke-cluster DSS cluster with the "prod" connection; its plugin data."""
    config = {"connection": connection(dss), "node_pools": pools, **extra}
    return dss.start_cluster("create-gke-cluster", cluster_id, config).value[1]


def start_here(name, workdir, pools) -> dict:
    """Starts a cluster from this process (as a notebook would, no DSS): its plugin data."""
    import dss_gke

    lib = os.path.dirname(os.path.dirname(dss_gke.__file__))
    config = {"connection": {}, "node_pools": pools}
    return dss_gke._native.start_cluster(config, {}, name, str(workdir), sys.executable, lib)[1]


def action(dss, name, cluster_id, **params):
    """Runs the cluster action (macro) `name` on DSS cluster `cluster_id`."""
    return dss.run_macro(name, {"clusterId": cluster_id, **params})


def creates(emulator) -> list:
    """The cluster creations GKE received."""
    return [
        r
        for r in emulator.google_requests()
        if r["method"] == "POST" and r["path"].endswith("/clusters")
    ]


def mutations(emulator) -> list:
    """Every call to the Google APIs that is not a read."""
    return [r for r in emulator.google_requests() if r["method"] != "GET"]


# Header rows of the reports' tables, as admins read them.
POOLS = [
    "Node pool",
    "Machine type",
    "Nodes (current / min / max)",
    "Autoscaling",
    "Spot",
    "GPU",
    "Version",
    "Status",
    "Instance groups",
    "Ready / Not Ready",
]
SUMMARY = ["Location", "Status", "Version", "Autopilot", "Node pools", "Endpoint"]
HEALTH_POOLS = ["Node pool", "Status", "Nodes", "Ready", "Not Ready"]
PENDING = ["Namespace", "Pending pods"]
OPERATIONS = ["Operation in progress", "Type", "Status", "Target"]
NETWORK_TEST = ["DSS host", "Port", "Test pod", "Phase", "Exit code", "Seconds"]
PLAN_WHERE = ["Project and location", "Credentials", "Node pools"]
PLAN_CLUSTER = ["Cluster setting", "Value"]


def plan_pool(name: str) -> list:
    """Header row of the plan's table of pool `name`'s settings."""
    return [f"Node pool {name} setting", "Value"]
