"""Node pools of a running cluster from Python: add from a preset, resize, refusals."""

import os

import pytest

import dss_gke
from tests.support.emulator import HOST


@pytest.fixture
def running(emulator, tmp_path, monkeypatch):
    (tmp_path / "home").mkdir()
    for key, value in emulator.env(tmp_path / "home").items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    config = {"connection": {}, "node_pools": [{"name": "cpu", "node_count": 1}]}
    lib = os.path.dirname(os.path.dirname(dss_gke.__file__))
    _, data = dss_gke._native.start_cluster(config, {}, "pools", str(tmp_path), "python3", lib)
    return config, data


def test_add_with_a_generated_name_then_resize(emulator, running):
    config, data = running
    name = dss_gke._native.add_node_pool(config, {}, data, {"gpu": True, "node_count": 1})
    assert name == "pool-1"
    posts = [r for r in emulator.google_requests() if r["path"].endswith("/nodePools")]
    body = posts[-1]["body"]["nodePool"]
    assert body["config"]["serviceAccount"] == HOST["serviceAccountEmail"]
    assert body["config"]["accelerators"][0]["gpuDriverInstallationConfig"]
    dss_gke._native.resize_node_pool(config, {}, data, "cpu", 3)
    resize = [r for r in emulator.google_requests() if r["path"].endswith("cpu:setSize")]
    assert [r["status"] for r in resize] == [200]


def test_a_busy_cluster_is_waited_for(emulator, running):
    config, data = running
    emulator.admin("PUT", "settings", {"operationMs": 1500})
    import threading

    first = threading.Thread(
        target=dss_gke._native.resize_node_pool, args=(config, {}, data, "cpu", 2)
    )
    first.start()
    import time

    time.sleep(0.5)
    dss_gke._native.resize_node_pool(config, {}, data, "cpu", 4)
    first.join()
    statuses = [r["status"] for r in emulator.google_requests() if r["path"].endswith(":setSize")]
    assert statuses[0] == 200 and 400 in statuses and statuses[-1] == 200


def test_mistakes_are_refused_before_any_call(emulator, running):
    config, data = running
    before = len(emulator.google_requests())
    with pytest.raises(dss_gke.ValidationError, match="'cpu' already exists"):
        dss_gke._native.add_node_pool(config, {}, data, {"name": "cpu"})
    with pytest.raises(dss_gke.ValidationError, match="Autopilot cluster"):
        dss_gke._native.add_node_pool(config, {}, {**data, "autopilot": True}, {})
    with pytest.raises(dss_gke.ValidationError, match="Min nodes"):
        dss_gke._native.add_node_pool(
            config, {}, data, {"autoscaling": True, "min_nodes": 3, "max_nodes": 1}
        )
    mutations = [r for r in emulator.google_requests()[before:] if r["method"] != "GET"]
    assert mutations == []
