"""Hostile and mistaken input (issue 13): refused before anything is created, with the field
named; bounded calls whatever GKE answers; no crash of the interpreter."""

import math
import os
import subprocess
import sys

import pytest

import dss_gke
from tests.dsshost import ComponentFailed
from tests.support.clusters import (
    CLUSTERS,
    PROJECT,
    REGION,
    ZONE,
    connection,
    pool,
    start,
    start_here,
)


def posts(emulator):
    return [r for r in emulator.google_requests() if r["method"] == "POST"]


def problems_of(info) -> dict:
    return {p["field"]: p["message"] for p in info.value.attributes["problems"]}


# --- 1. the settings valve cannot change what start() looks for --------------------------------


@pytest.mark.parametrize(
    ("valve", "says"),
    [
        ('{"name": "b"}', 'Settings valve: may not set "name": set the GKE cluster name field'),
        ('{"nodePools": []}', 'may not set "nodePools"'),
        ('{"location": "us-east1"}', 'may not set "location"'),
        (
            '{"resourceLabels": {"a": "1"}, "resourceLabels": {"b": "2"}}',
            'the key "resourceLabels" appears twice',
        ),
    ],
)
def test_the_valve_cannot_change_the_clusters_identity(gcp, emulator, valve, says):
    config = {
        "connection": connection(gcp),
        "node_pools": [pool(gcp, "cpu")],
        "settings_valve": valve,
    }
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "valved", config)
    assert info.value.type == "ValidationError"
    assert says in info.value.message
    assert posts(emulator) == []


def test_a_pool_valve_cannot_rename_its_pool(gcp, emulator):
    renamed = pool(gcp, "cpu", settings_valve='{"name": "other"}')
    with pytest.raises(ComponentFailed, match=r"node pool 'cpu' › Settings valve: may not set"):
        gcp.start_cluster(
            "create-gke-cluster",
            "renamed",
            {"connection": connection(gcp), "node_pools": [renamed]},
        )
    assert posts(emulator) == []


def test_conflicts_that_never_resolve_end_after_a_few_paused_calls(gcp, emulator):
    """GKE answering 409 to the create while no cluster can be read: a bounded number of
    POSTs, with pauses, then an error saying what is odd (it used to loop with no pause)."""
    emulator.admin(
        "POST",
        "faults",
        {"method": "POST", "path": "/clusters", "count": 1000, "kind": "error", "status": 409},
    )
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    with pytest.raises(ComponentFailed, match="already exists, yet reading it finds none"):
        gcp.start_cluster("create-gke-cluster", "ghost", config, timeout=60)
    creates = [r for r in posts(emulator) if r["path"] == CLUSTERS]
    assert 2 <= len(creates) <= 5
    assert len(emulator.google_requests()) < 30
    emulator.admin("DELETE", "faults")


# --- 4. configs Python can build and JSON cannot hold ------------------------------------------


def test_deep_cyclic_and_non_finite_configs_are_refused(on_dss_host):
    deep = {"connection": {}}
    inner = deep
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(dss_gke.ValidationError, match="nested more than 64 levels deep"):
        dss_gke.plan_cluster(deep)
    cyclic = {"connection": {}, "node_pools": [{}]}
    cyclic["node_pools"][0]["self"] = cyclic
    with pytest.raises(
        dss_gke.ValidationError, match=r"config.node_pools\[0\].self: contains itself"
    ):
        dss_gke.plan_cluster(cyclic)
    for bad in (math.nan, math.inf):
        with pytest.raises(dss_gke.ValidationError, match="is not a number JSON can hold"):
            dss_gke.plan_cluster({"connection": {}, "node_pools": [{"node_count": bad}]})
    with pytest.raises(dss_gke.ValidationError, match=r"node_count: \d+ is far out of range"):
        dss_gke.plan_cluster({"connection": {}, "node_pools": [{"node_count": 2**70}]})


def test_a_deep_config_does_not_kill_the_interpreter(on_dss_host):
    script = (
        "import dss_gke\n"
        "d = {}\n"
        "for _ in range(200000): d = {'x': d}\n"
        "try:\n"
        "    dss_gke.plan_cluster(d)\n"
        "except dss_gke.ValidationError as e:\n"
        "    print('refused:', e.problems[0]['message'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "refused: nested more than 64 levels deep" in proc.stdout


# --- 5. every mistake before creation, checked locally and against what Google offers ----------


def test_syntax_mistakes_are_all_listed_before_any_call(gcp, emulator):
    # What a careless preset holds (and, first, a line break in its service account).
    sloppy = dict(
        machine_type="banana",
        disk_type="floppy",
        image_type="junk",
        autoscaling=True,
        min_nodes=0,
        max_nodes=10**9,
    )
    bad = pool(
        gcp,
        "bad",
        service_account_mode="custom",
        service_account="nodes@p.iam.gserviceaccount.com\nX-Injected: 1",
        **sloppy,
    )
    empty = pool(gcp, "empty", node_count=0)
    config = {
        "connection": connection(gcp),
        "node_pools": [bad, empty],
        "pod_range": "/0",
        "service_range": "10.8.0.0/30",
    }
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "sloppy", config)
    found = problems_of(info)
    assert "control character" in found["node pool 'bad' › Custom service account"]
    # The control character stops that preset's reading; the rest is listed at once.
    assert "is outside what GKE takes (/9 to /24)" in found["Pod range"]
    assert "(/16 to /27)" in found["Service range"]
    assert "0 without autoscaling" in found["node pool 'empty' › Number of nodes"]
    clean = pool(gcp, "bad", **sloppy)
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "sloppy", {**config, "node_pools": [clean]})
    found = problems_of(info)
    assert "'banana' is not a machine type" in found["node pool 'bad' › Machine type"]
    assert "'floppy' is not one of pd-standard" in found["node pool 'bad' › Disk type"]
    assert "'junk' is not one of COS_CONTAINERD" in found["node pool 'bad' › Image type"]
    assert "1000000000 is not between 1 and 1000" in found["node pool 'bad' › Max nodes"]
    assert emulator.google_requests() == []


def test_a_network_name_with_a_line_break_is_refused(gcp, emulator):
    config = {
        "connection": connection(gcp),
        "node_pools": [pool(gcp, "cpu")],
        "network_mode": "explicit",
        "network": "dss-vpc\r\nHost: evil",
    }
    with pytest.raises(ComponentFailed, match="VPC network: holds a control character"):
        gcp.start_cluster("create-gke-cluster", "crlf", config)
    assert emulator.google_requests() == []


def test_what_google_does_not_offer_is_refused_with_read_only_calls(gcp, emulator):
    config = {
        "connection": connection(gcp),
        "location_type": "regional",
        "node_locations": [f"{REGION}-c", f"{REGION}-d"],
        "kubernetes_version": "1.29",
        "node_pools": [
            pool(gcp, "cpu", machine_type="e2-standard-3"),
            pool(gcp, "gpu", machine_type="n1-standard-8", gpu=True, gpu_type="nvidia-l4"),
        ],
    }
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "unavailable", config)
    found = problems_of(info)
    assert (
        "'e2-standard-3' does not exist in Compute Engine"
        in found["node pool 'cpu' › Machine type"]
    )
    assert f"'nvidia-l4' is not offered in {REGION}-d" in found["node pool 'gpu' › GPU type"]
    assert "GKE offers no version '1.29'" in found["Kubernetes version"]
    assert "1.33" in found["Kubernetes version"]
    assert [r["method"] for r in emulator.google_requests()] == ["GET"] * len(
        emulator.google_requests()
    )
    assert len(emulator.google_requests()) <= 10


def test_node_locations_outside_the_resolved_region_are_refused(gcp, emulator):
    # The connection is blank: the region comes from the DSS host.
    config = {
        "connection": connection(gcp),
        "node_locations": ["us-east1-b"],
        "node_pools": [pool(gcp, "cpu")],
    }
    with pytest.raises(ComponentFailed, match=f"'us-east1-b' not in the cluster's region {REGION}"):
        gcp.start_cluster("create-gke-cluster", "far", config)
    assert posts(emulator) == []


def test_type_mistakes_name_the_forms_label(on_dss_host):
    with pytest.raises(dss_gke.ValidationError) as info:
        dss_gke.plan_cluster({"connection": {}, "node_pools": [{"name": "cpu", "node_count": "x"}]})
    assert info.value.problems[0]["field"] == "node pool 'cpu' › Number of nodes"
    with pytest.raises(dss_gke.ValidationError) as info:
        dss_gke.plan_cluster({"connection": {}, "labels": "team=data"})
    assert info.value.problems[0]["field"] == "GCP labels"


# --- 9. the edges: no crash, no raw error ------------------------------------------------------


def test_notebook_numbers_and_blanks_are_validation_errors(on_dss_host, tmp_path):
    with pytest.raises(dss_gke.ValidationError) as info:
        dss_gke.Gke("", "")
    assert {p["field"] for p in info.value.problems} == {"project", "location"}
    start_here("edges", tmp_path, [{"name": "cpu", "node_count": 1}])
    cluster = dss_gke.Gke(PROJECT, ZONE).cluster("edges")
    for nodes in (2**31, 2**64, -1):
        with pytest.raises(dss_gke.ValidationError, match="nodes"):
            cluster.resize("cpu", nodes)
    with pytest.raises(dss_gke.ValidationError, match="max_nodes"):
        cluster.set_autoscaling("cpu", 0, 2**70)
    with pytest.raises(dss_gke.ValidationError, match="DSS port: 70000 is not between 1 and 65535"):
        cluster.test_network(host="dss.internal", port=70000)
    with pytest.raises(dss_gke.ValidationError, match="timeout"):
        cluster.wait_ready(timeout=1e300)


def test_stop_with_malformed_data_does_not_claim_success(on_dss_host, tmp_path):
    for data in ({"name": "x"}, {"project": 5, "location": ZONE, "name": "x"}):
        with pytest.raises(dss_gke.ValidationError, match="Cluster data: is malformed"):
            dss_gke._native.stop_cluster({"connection": {}}, {}, data)
    dss_gke._native.stop_cluster({"connection": {}}, {}, {})  # nothing recorded: nothing to do


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "dss_gke", *args], capture_output=True, text=True, cwd=cwd
    )


def test_the_command_line_says_what_is_wrong_with_a_file(tmp_path):
    empty, broken, deep = tmp_path / "empty.json", tmp_path / "broken.json", tmp_path / "deep.json"
    empty.write_text("")
    broken.write_text('{"mode": ')
    deep.write_text("[" * 100000 + "]" * 100000)
    good = tmp_path / "good.json"
    good.write_text("{}")
    cases = [
        (("plan", "--config", str(tmp_path / "missing.json")), "missing.json: no such file"),
        (("plan", "--config", str(empty)), "empty.json: is not valid JSON"),
        (("plan", "--config", str(broken)), "broken.json: is not valid JSON"),
        (("plan", "--config", str(deep)), "deep.json: nested too deeply"),
        (("plan", "--config", str(tmp_path)), "is a directory"),
        (
            ("plan", "--config", str(good), "--plugin-config", str(tmp_path / "nope.json")),
            "--plugin-config",
        ),
        (("--log-level", "junk", "version"), "invalid choice: 'JUNK'"),
    ]
    for args, says in cases:
        proc = cli(*args)
        assert proc.returncode in (1, 2), args
        assert says in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
    # Nothing of the user's removed, nothing left behind.
    assert sorted(os.listdir(tmp_path)) == ["broken.json", "deep.json", "empty.json", "good.json"]


def test_action_type_mistakes_name_the_forms_label(gcp, emulator):
    start(gcp, "typed", [pool(gcp, "cpu", node_count=1)])
    with pytest.raises(ComponentFailed, match="Number of nodes: has the wrong type"):
        gcp.run_cluster_action("resize-node-pool", "typed", pool="cpu", node_count="three")
    with pytest.raises(ComponentFailed, match="DSS host: holds a control character"):
        gcp.run_cluster_action("test-network", "typed", host="dss.internal\nevil")
