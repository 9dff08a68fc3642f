"""Scenario steps through the DSS host harness, against gke-emulator: a batch's resize to zero
and back, autoscaling, waiting for a ready cluster; a failure fails the step with the reason."""

import pytest

from tests.dsshost import ComponentFailed
from tests.support.clusters import POOLS, action, pool, start
from tests.support.html import keyed, table


def pools_in(dss, cluster_id) -> dict:
    """The node pools an admin sees in the cluster's inspect-node-pools report, by name."""
    page = action(dss, "inspect-node-pools", cluster_id).result
    return keyed(table(page, POOLS), "Node pool")


def test_scale_to_zero_after_a_batch_and_back(gcp, emulator):
    start(gcp, "batch", [pool(gcp, "cpu", node_count=1), pool(gcp, "spark", node_count=2)])
    run = gcp.run_step("resize-node-pool", {"cluster": "batch", "pool": "spark", "node_count": 0})
    assert "spark resized from 2 to 0 node(s)" in run.log
    spark = pools_in(gcp, "batch")["spark"]
    assert spark["Nodes (current / min / max)"] == "0 / - / -"  # kept, with no nodes
    gcp.run_step("resize-node-pool", {"cluster": "batch", "pool": "spark", "node_count": 2})
    run = gcp.run_step("wait-cluster-ready", {"cluster": "batch", "timeout_minutes": 1})
    assert "batch is ready: running, every node Ready" in run.log
    assert pools_in(gcp, "batch")["spark"]["Ready / Not Ready"] == "2 / 0"


def test_autoscaling_step(gcp, emulator):
    start(gcp, "elastic", [pool(gcp, "cpu", node_count=1)])
    gcp.run_step("set-autoscaling", {"cluster": "elastic", "min_nodes": 0, "max_nodes": 5})
    [call] = [r for r in emulator.google_requests() if r["path"].endswith(":setAutoscaling")]
    assert call["body"]["autoscaling"]["enabled"] is True
    assert int(call["body"]["autoscaling"]["maxNodeCount"]) == 5
    gcp.run_step("set-autoscaling", {"cluster": "elastic", "enable": False})
    assert pools_in(gcp, "elastic")["cpu"]["Autoscaling"] == "off"


def test_failing_steps_say_why(gcp, emulator):
    start(gcp, "flaky", [pool(gcp, "cpu", node_count=1)])
    with pytest.raises(ComponentFailed, match="flaky has no node pool 'gpu': it has cpu"):
        gcp.run_step("resize-node-pool", {"cluster": "flaky", "pool": "gpu", "node_count": 1})
    # Nodes that cannot be seen are not ready: the wait times out with what it last saw.
    emulator.admin(
        "POST",
        "faults",
        {"path": "/api/v1/nodes", "count": 1000, "kind": "error", "status": 503},
    )
    with pytest.raises(ComponentFailed) as failed:
        gcp.run_step("wait-cluster-ready", {"cluster": "flaky", "timeout_minutes": 0.05})
    assert failed.value.type == "OperationTimeout"
    assert "wait for flaky to be ready (last seen: the Kubernetes API could not be read" in str(
        failed.value
    )
    emulator.admin("DELETE", "faults")
    gcp.stop_cluster("flaky")
    with pytest.raises(ComponentFailed, match="no running GKE cluster recorded: start it first"):
        gcp.run_step("wait-cluster-ready", {"cluster": "flaky"})


def test_steps_take_the_plugin_settings_from_the_cluster(gcp, emulator):
    """Where DSS puts plugin-level settings for a step is not known: a step acting on a cluster
    takes them from the cluster's resolved settings, as DSS's backend gives them."""
    start(gcp, "configured", [pool(gcp, "cpu", node_count=1)])
    gcp.plugin_settings["api_endpoint"] = emulator.url
    off_env = {"GKE_NATIVE_API_ENDPOINT": None}  # only the plugin setting says where GKE is
    run = gcp.run_step("resize-node-pool", {"cluster": "configured", "node_count": 2}, env=off_env)
    assert "cpu resized from 1 to 2 node(s)" in run.log
    with pytest.raises(ComponentFailed, match="Cluster: choose the DSS cluster"):
        gcp.run_step("wait-cluster-ready", {"timeout_minutes": 1}, env=off_env)
