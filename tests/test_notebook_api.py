"""The notebook API end to end, against gke-emulator: `dss_gke.Gke`, its clusters, typed results
with tables, kubeconfig for kubectl, waits that release the GIL and yield to Ctrl-C."""

import html
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import dss_gke
from tests.support.clusters import (
    POOLS,
    PROJECT,
    SERVICE_ACCOUNT,
    SUMMARY,
    ZONE,
    pool,
    start,
    start_here,
)
from tests.support.html import table
from tests.support.kube import kubectl


def test_a_notebook_drives_a_cluster_end_to_end(on_dss_host, tmp_path):
    gke = dss_gke.Gke(project=PROJECT, location=ZONE)
    assert gke.clusters() == []
    start_here("nb", tmp_path, [{"name": "cpu", "node_count": 1}])
    [summary] = gke.clusters()
    assert (summary.name, summary.status, summary.node_pools) == ("nb", "RUNNING", ["cpu"])
    [shown] = table(summary._repr_html_(), SUMMARY)
    assert (shown["Location"], shown["Status"], shown["Node pools"]) == (ZONE, "RUNNING", "cpu")

    cluster = gke.cluster("nb")
    pools = cluster.node_pools()
    assert len(pools) == 1 and pools["cpu"].nodes == 1 and pools[0].ready == 1
    assert [p.name for p in pools] == ["cpu"]
    assert pools.to_dict()["pools"][0]["machine_type"] == "e2-standard-4"
    [shown] = table(pools._repr_html_(), POOLS)
    assert (shown["Node pool"], shown["Machine type"]) == ("cpu", "e2-standard-4")

    change = cluster.add_node_pool({"gpu": True, "node_count": 1})
    assert (change.pool, change.action) == ("pool-1", "added")
    [post] = [r for r in on_dss_host.google_requests() if r["path"].endswith("/nodePools")]
    assert post["body"]["nodePool"]["config"]["serviceAccount"] == SERVICE_ACCOUNT
    assert cluster.resize("pool-1", 2).detail.startswith("pool-1 resized from 1 to 2 node(s)")
    change = cluster.set_autoscaling("pool-1", 1, 3)
    assert change.to_dict()["detail"] == "pool-1: autoscaling was off, now 1–3 per zone"
    shown = html.unescape(change._repr_html_())
    assert "OK: pool-1: autoscaling was off, now 1–3 per zone in " in shown
    pool_1 = cluster.node_pools()["pool-1"]
    assert (pool_1.autoscaling, pool_1.min_nodes, pool_1.max_nodes) == (True, 1, 3)
    assert pool_1.gpu == "1 × nvidia-tesla-t4"

    health = cluster.wait_ready(timeout=60)
    assert health.is_ready() and health.verdict == "OK"
    assert {p.name: p.ready for p in health.node_pools} == {"cpu": 1, "pool-1": 2}

    kubeconfig = cluster.kubeconfig(tmp_path / "nb.kubeconfig")
    assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"
    nodes = json.loads(kubectl(kubeconfig, dict(os.environ), "get", "nodes", "-o", "json"))
    assert len(nodes["items"]) == 3

    with pytest.raises(dss_gke.ValidationError, match="no node pool 'gpu': it has cpu, pool-1"):
        cluster.resize("gpu", 1)
    cluster.delete()
    assert gke.clusters() == []
    with pytest.raises(dss_gke.NotFoundError, match="GKE cluster nb no longer exists") as info:
        cluster.health()
    gone = info.value
    assert isinstance(gone, dss_gke.ApiError)
    assert (gone.status, gone.code) == (404, "NOT_FOUND")
    assert gone.request == f"GET /v1/projects/{PROJECT}/locations/{ZONE}/clusters/nb"
    assert gone.message == str(gone)
    assert str(gone).endswith("start the DSS cluster again")


def test_a_missing_cluster_is_not_found(on_dss_host):
    with pytest.raises(dss_gke.NotFoundError) as info:
        dss_gke.Gke(project=PROJECT, location=ZONE).cluster("nope")
    assert (info.value.status, info.value.code) == (404, "NOT_FOUND")
    assert "GKE cluster nope" in str(info.value)


def test_a_failed_operation_says_which_and_why(on_dss_host, tmp_path):
    on_dss_host.admin(
        "POST",
        "operations/fail-next",
        {"code": "RESOURCE_EXHAUSTED", "message": "Quota 'CPUS' exceeded"},
    )
    with pytest.raises(dss_gke.OperationFailed) as info:
        start_here("failing", tmp_path, [{"name": "cpu", "node_count": 1}])
    e = info.value
    assert e.operation == "creation of failing"
    assert e.message.startswith("GKE said: Quota 'CPUS' exceeded")
    assert "it was deleted, so it costs nothing" in e.message
    assert e.code == "RESOURCE_EXHAUSTED"
    assert str(e) == f"GKE operation {e.operation} failed: {e.message}"


def test_every_public_name_has_a_docstring():
    for name in dss_gke.__all__:
        obj = getattr(dss_gke, name)
        if isinstance(obj, type) or callable(obj):
            assert (obj.__doc__ or "").strip(), name
        if isinstance(obj, type) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if not attr.startswith("_"):
                    assert (member.__doc__ or "").strip(), f"{name}.{attr}"


def test_from_dss_cluster_in_a_dss_notebook(gcp, emulator):
    start(gcp, "Team_Cluster", [pool(gcp, "cpu", node_count=2)])
    script = textwrap.dedent(
        """
        import json, dataiku
        dataiku.use_plugin_libs("gke-native")
        from dss_gke import Gke
        gke = Gke.from_dss_cluster("Team_Cluster")
        cluster = gke.cluster()
        health = cluster.health()
        print(json.dumps({"project": gke.project, "name": cluster.name,
                          "verdict": health.verdict, "ready": health.node_pools[0].ready}))
        """
    )
    proc = subprocess.run(
        [str(gcp.python), "-c", script],
        env=gcp.process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "project": PROJECT,
        "name": "team-cluster",
        "verdict": "OK",
        "ready": 2,
    }


def test_ctrl_c_interrupts_a_wait_and_other_threads_run(on_dss_host, tmp_path):
    start_here("slow", tmp_path, [{"name": "cpu", "node_count": 1}])
    # Nodes that cannot be read never get ready: the wait goes on until interrupted.
    on_dss_host.admin(
        "POST", "faults", {"path": "/api/v1/nodes", "count": 10000, "kind": "error", "status": 503}
    )
    script = textwrap.dedent(
        f"""
        import signal, threading, time, dss_gke
        # A process started in the background inherits SIGINT ignored; a kernel handles it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        ticks = 0
        def tick():
            global ticks
            while True:
                ticks += 1
                time.sleep(0.01)
        threading.Thread(target=tick, daemon=True).start()
        cluster = dss_gke.Gke("{PROJECT}", "{ZONE}").cluster("slow")
        print("waiting", flush=True)
        start = time.monotonic()
        try:
            cluster.wait_ready(timeout=120)
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - start, 1), "ticks", ticks)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout.readline().strip() == "waiting"
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert "interrupted after" in out, err
    words = out.split()
    assert float(words[2]) < 6
    assert int(words[-1]) > 100  # the other thread ran while Rust waited (GIL released)


def test_waits_run_beside_other_threads(on_dss_host, tmp_path):
    start_here("pair", tmp_path, [{"name": "cpu", "node_count": 1}])
    cluster = dss_gke.Gke(PROJECT, ZONE).cluster("pair")
    results = {}
    on_dss_host.admin("PUT", "settings", {"operationMs": 1500})

    def resize():
        results["change"] = cluster.resize("cpu", 2)

    worker = threading.Thread(target=resize)
    worker.start()
    time.sleep(0.3)
    health = cluster.health()  # reads while the resize waits in the other thread
    worker.join()
    assert [o[1] for o in health.operations] == ["SET_NODE_POOL_SIZE"]
    assert results["change"].action == "resized"
