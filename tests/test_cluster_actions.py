"""Cluster actions (the macros of a cluster's Actions tab) through the DSS host harness,
against gke-emulator: what an admin reads in their HTML, and what reached GKE."""

import html
import json
import re
import threading
import urllib.request

import pytest

from tests.dsshost import ComponentFailed
from tests.support.clusters import (
    CLUSTERS,
    HEALTH_POOLS,
    NETWORK_TEST,
    OPERATIONS,
    PENDING,
    PLAN_CLUSTER,
    PLAN_WHERE,
    POOLS,
    PROJECT,
    REGION,
    ZONE,
    action,
    connection,
    mutations,
    plan_pool,
    pool,
    start,
)
from tests.support.discovery import enum_name
from tests.support.html import keyed, table
from tests.support.kube import kubectl


def pools_in(page: str) -> dict:
    """The node pools table of an inspect-node-pools report, by pool name."""
    return keyed(table(page, POOLS), "Node pool")


def test_inspect_shows_every_pool_with_sizes_and_nodes(gcp, emulator):
    pools = [
        pool(gcp, "cpu", node_count=2),
        pool(gcp, "gpu", gpu=True, spot=True, autoscaling=True, min_nodes=0, max_nodes=3),
    ]
    start(gcp, "inspect", pools)
    run = action(gcp, "inspect-node-pools", "inspect")
    assert run.progress_target == [100, "NONE"] and run.progress[-1] == 100
    assert "<h3>Node pools of inspect</h3>" in run.result
    shown = pools_in(run.result)
    assert list(shown) == ["cpu", "gpu"]
    cpu, gpu = shown["cpu"], shown["gpu"]
    assert cpu["Machine type"] == "e2-standard-4"
    assert cpu["Nodes (current / min / max)"] == "2 / - / -"
    assert (cpu["Autoscaling"], cpu["Spot"], cpu["GPU"]) == ("off", "no", "none")
    assert (cpu["Status"], cpu["Ready / Not Ready"]) == ("RUNNING", "2 / 0")
    # One zone's instance group, with its 2 VMs.
    assert re.fullmatch(r"\S+ \(2\)", cpu["Instance groups"]), cpu["Instance groups"]
    assert gpu["Nodes (current / min / max)"] == "1 / 0 / 3"
    assert (gpu["Autoscaling"], gpu["Spot"], gpu["GPU"]) == ("on", "yes", "1 × nvidia-tesla-t4")
    assert gpu["Ready / Not Ready"] == "1 / 0"
    assert "{" not in run.result  # a table, not a JSON dump


def test_add_resize_autoscale_and_delete_a_pool(gcp, emulator):
    start(gcp, "pools", [pool(gcp, "cpu", node_count=1)])
    gpu = gcp.define_preset("node-pool-request", "gpus", {"gpu": True, "node_count": 1})
    run = action(gcp, "add-node-pool", "pools", node_pool=gpu)
    assert "pool-1 added: 1 node(s) per zone of e2-standard-4" in run.result
    assert pools_in(run.result)["pool-1"]["GPU"] == "1 × nvidia-tesla-t4"
    [post] = [r for r in mutations(emulator) if r["path"].endswith("/nodePools")]
    accelerator = post["body"]["nodePool"]["config"]["accelerators"][0]
    # GKE installs the driver, as at creation: the preset's default version.
    driver = accelerator["gpuDriverInstallationConfig"]["gpuDriverVersion"]
    assert enum_name("GPUDriverInstallationConfig", "gpuDriverVersion", driver) == "DEFAULT"
    assert run.progress[0] < run.progress[-1] == 100

    run = action(gcp, "resize-node-pool", "pools", pool="pool-1", node_count=3)
    assert "pool-1 resized from 1 to 3 node(s)" in run.result
    assert pools_in(run.result)["pool-1"]["Nodes (current / min / max)"] == "3 / - / -"

    run = action(gcp, "set-autoscaling", "pools", pool="pool-1", min_nodes=1, max_nodes=4)
    assert "pool-1: autoscaling was off, now 1–4 per zone" in run.result
    pool_1 = pools_in(run.result)["pool-1"]
    assert (pool_1["Nodes (current / min / max)"], pool_1["Autoscaling"]) == ("3 / 1 / 4", "on")
    run = action(gcp, "set-autoscaling", "pools", pool="pool-1", enable=False)
    assert "autoscaling was 1–4 per zone, now off" in run.result

    # 0 keeps the pool unless deleting it is confirmed.
    run = action(gcp, "resize-node-pool", "pools", pool="pool-1", node_count=0)
    assert pools_in(run.result)["pool-1"]["Nodes (current / min / max)"] == "0 / - / -"
    run = action(gcp, "resize-node-pool", "pools", pool="pool-1", node_count=0, delete_pool=True)
    assert "pool-1 deleted" in run.result
    assert list(pools_in(run.result)) == ["cpu"]
    # One resize, request by request: nothing repeated without need.
    emulator.admin("DELETE", "requests")
    action(gcp, "resize-node-pool", "pools", node_count=2)
    calls = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in emulator.google_requests()]
    polls = [c for c in calls if c[0] == "GET" and c[1].startswith("operation-")]
    others = [c for c in calls if c not in polls]
    assert others.count(("GET", "pools")) == 2  # before (pool, size), after (the report)
    assert others.count(("POST", "cpu:setSize")) == 1
    groups = [c for c in others if c[0] == "GET" and c[1] != "pools"]
    assert len(groups) == 2 and groups[0] == groups[1]  # its instance group: before and after
    assert len(others) == 5, calls
    assert 1 <= len(polls) <= 4


def test_mistakes_are_refused_before_anything_changes(gcp, emulator):
    start(gcp, "two", [pool(gcp, "cpu", node_count=1), pool(gcp, "mem", node_count=1)])
    before = len(mutations(emulator))
    with pytest.raises(ComponentFailed, match=r"several node pools \(cpu, mem\): name the one"):
        action(gcp, "resize-node-pool", "two", node_count=2)
    with pytest.raises(ComponentFailed, match="no node pool 'gpu': it has cpu, mem"):
        action(gcp, "resize-node-pool", "two", pool="gpu", node_count=2)
    with pytest.raises(ComponentFailed, match="1001 is not between 0 and 1000"):
        action(gcp, "resize-node-pool", "two", pool="cpu", node_count=1001)
    with pytest.raises(ComponentFailed, match="Min nodes: 5 is above Max nodes"):
        action(gcp, "set-autoscaling", "two", pool="cpu", min_nodes=5, max_nodes=2)
    assert len(mutations(emulator)) == before
    action(gcp, "resize-node-pool", "two", pool="mem", node_count=0, delete_pool=True)
    with pytest.raises(ComponentFailed, match="cpu is the last node pool of two"):
        action(gcp, "resize-node-pool", "two", pool="cpu", node_count=0, delete_pool=True)


def test_autopilot_has_no_pools_to_change(gcp, emulator):
    start(gcp, "auto", [], mode="autopilot", location_type="regional")
    run = action(gcp, "inspect-node-pools", "auto")
    assert "auto is an Autopilot cluster: GKE creates and sizes these pools itself" in run.result
    for name, params in [
        ("resize-node-pool", {"node_count": 2}),
        ("set-autoscaling", {"min_nodes": 0, "max_nodes": 2}),
        ("add-node-pool", {"node_pool": gcp.define_preset("node-pool-request", "x", {})}),
    ]:
        with pytest.raises(ComponentFailed) as failed:
            action(gcp, name, "auto", **params)
        assert failed.value.type == "ValidationError"
        assert "auto is an Autopilot cluster: GKE manages its nodes" in failed.value.message


def test_an_operation_in_progress_is_waited_for(gcp, emulator):
    start(gcp, "busy", [pool(gcp, "cpu", node_count=1)])
    emulator.admin("POST", "operations/hold-next", {"count": 1})
    body = json.dumps({"nodeCount": 2}).encode()
    request = urllib.request.Request(
        f"{emulator.url}{CLUSTERS}/busy/nodePools/cpu:setSize", data=body, method="POST"
    )
    urllib.request.urlopen(request).read()  # someone else's resize, held by GKE
    threading.Timer(1.5, lambda: emulator.admin("POST", "operations/release", {})).start()
    run = action(gcp, "resize-node-pool", "busy", pool="cpu", node_count=4)
    assert "cpu resized from 1 to 4 node(s)" in run.result  # 1 when it looked
    statuses = [r["status"] for r in emulator.google_requests() if r["path"].endswith(":setSize")]
    assert statuses == [200, 400, 200]  # the other's; ours refused while it ran; ours after


def test_faults_are_retried_without_repeating_the_change(gcp, emulator):
    start(gcp, "stormy", [pool(gcp, "cpu", node_count=1)])
    for method, path, status in [
        ("POST", ":setSize", 503),
        ("GET", "/operations/", 429),
        ("GET", "/instanceGroups/", 503),
    ]:
        emulator.admin(
            "POST",
            "faults",
            {"method": method, "path": path, "count": 2, "kind": "error", "status": status},
        )
    run = action(gcp, "resize-node-pool", "stormy", node_count=2)
    assert "cpu resized from 1 to 2 node(s)" in run.result
    statuses = [r["status"] for r in emulator.google_requests() if r["path"].endswith(":setSize")]
    assert statuses == [503, 503, 200]


def test_health_names_pending_pods_and_operations(gcp, emulator, tmp_path):
    start(gcp, "healthy", [pool(gcp, "cpu", node_count=2)])
    run = action(gcp, "cluster-health", "healthy")
    assert "OK: running, every node Ready, no pod Pending" in run.result
    assert table(run.result, HEALTH_POOLS) == [
        {"Node pool": "cpu", "Status": "RUNNING", "Nodes": "2", "Ready": "2", "Not Ready": "0"}
    ]
    assert "No GKE operation in progress." in run.result

    # A pod no node can take, and a change GKE is still making.
    env = emulator.env(tmp_path / "home")
    overrides = json.dumps({"spec": {"nodeSelector": {"pool": "none"}}})
    kubeconfig = gcp.cluster_dir("healthy") / "kubeconfig"
    kubectl(kubeconfig, env, "create", "namespace", "jobs")
    kubectl(
        kubeconfig, env, "run", "stuck", "-n", "jobs", "--image=busybox", "--overrides", overrides
    )
    emulator.admin("POST", "operations/hold-next", {"count": 1})
    request = urllib.request.Request(
        f"{emulator.url}{CLUSTERS}/healthy/nodePools/cpu:setSize",
        data=json.dumps({"nodeCount": 3}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request).read()
    run = action(gcp, "cluster-health", "healthy")
    assert "Warning: the cluster is " in run.result and "1 operation(s) in progress" in run.result
    assert table(run.result, PENDING) == [{"Namespace": "jobs", "Pending pods": "1"}]
    [operation] = table(run.result, OPERATIONS)
    assert operation["Type"] == "SET_NODE_POOL_SIZE"
    assert operation["Target"] == "healthy/nodePools/cpu"
    emulator.admin("POST", "operations/release", {})


def test_network_test_pod_reaches_dss_and_is_deleted(gcp, emulator):
    start(gcp, "net", [pool(gcp, "cpu", node_count=1)])
    env = {"DKU_BACKEND_EXT_HOST": "dss.internal", "DKU_BACKEND_PORT": "11000"}
    run = gcp.run_macro("test-network", {"clusterId": "net"}, env=env)
    assert "OK: a pod in net resolved dss.internal and connected to port 11000" in run.result
    assert "nslookup dss.internal" in html.unescape(run.result)  # the pod's output is shown
    created, deleted = pod_calls(emulator, "net")
    assert len(created) == 1 and deleted == created


def pod_calls(emulator, cluster):
    """Names of the pods created and deleted in `cluster`, from the request log."""
    pods = [
        r
        for r in emulator.requests()
        if (r.get("cluster") or "").endswith(f"/clusters/{cluster}") and "/pods" in r["path"]
    ]
    created = [r["body"]["metadata"]["name"] for r in pods if r["method"] == "POST"]
    deleted = [r["path"].rsplit("/", 1)[1] for r in pods if r["method"] == "DELETE"]
    return created, deleted


def test_network_test_failures_are_explained_and_the_pod_deleted(gcp, emulator):
    start(gcp, "blocked", [pool(gcp, "cpu", node_count=1)])
    emulator.admin(
        "POST",
        "pods/script",
        {
            "cluster": "blocked",
            "namePrefix": "gke-native-network-test-",
            "phase": "Failed",
            "exitCode": 3,
            "log": "Name: dss.internal\nAddress: 10.0.0.2\ncannot connect to dss.internal:11000\n",
        },
    )
    params = {"clusterId": "blocked", "host": "dss.internal", "port": 11000}
    run = gcp.run_macro("test-network", params)
    assert "Failed: a pod in blocked could not reach dss.internal:11000" in run.result
    assert "check firewall rules" in run.result
    [test] = table(run.result, NETWORK_TEST)
    assert (test["DSS host"], test["Port"]) == ("dss.internal", "11000")
    assert (test["Phase"], test["Exit code"]) == ("Failed", "3")
    created, deleted = pod_calls(emulator, "blocked")
    assert len(created) == 1 and deleted == created

    # A pod that never finishes: timed out, and deleted all the same.
    emulator.admin(
        "POST", "pods/script", {"cluster": "blocked", "runSeconds": 60, "phase": "Succeeded"}
    )
    run = gcp.run_macro("test-network", {**params, "timeout_seconds": 2})
    assert "the test pod did not finish within 2s (still Running" in run.result
    created, deleted = pod_calls(emulator, "blocked")
    assert len(created) == 2 and deleted == created

    # The Kubernetes API refusing to show the pod: the action fails, and the pod is deleted.
    emulator.admin(
        "POST",
        "faults",
        {"method": "GET", "path": "/pods/gke-native-network-test-", "status": 403, "kind": "error"},
    )
    with pytest.raises(ComponentFailed, match="403"):
        gcp.run_macro("test-network", params)
    created, deleted = pod_calls(emulator, "blocked")
    assert len(created) == 3 and deleted == created

    # A loopback host is refused before any pod is made.
    with pytest.raises(ComponentFailed, match=r"'127\.0\.0\.1' is a loopback address"):
        gcp.run_macro("test-network", {**params, "host": "127.0.0.1"})
    assert len(pod_calls(emulator, "blocked")[0]) == 3


def settings(page: str, headers: list) -> dict:
    """A plan's table of settings: setting → value."""
    return {row[headers[0]]: row["Value"] for row in table(page, headers)}


def test_plan_shows_the_saved_cluster_with_its_presets_as_they_are_now(gcp, emulator):
    """Plan of a cluster as DSS keeps it: params under params.config, presets by name."""
    emulator.admin("PUT", "metadata", {"subnetwork": "dss-subnet"})  # what Compute knows
    gcp.define_cluster(
        "create-gke-cluster",
        "planned",
        {
            "connection": connection(gcp),
            "gke_name": "team-a-batch",
            "network_mode": "explicit",
            "network": "dss-vpc",
            "subnetwork": "dss-subnet",
            "labels": {"team": "data"},
            "node_pools": [pool(gcp, "cpu", node_count=2), pool(gcp, "mem", node_count=1)],
        },
    )
    # A preset edited after the cluster was saved: the plan uses it as it is now.
    pool(gcp, "mem", node_count=1, machine_type="n2-highmem-8")
    run = gcp.run_cluster_action("plan-cluster", "planned")
    assert "OK: the configuration is valid; nothing was created" in run.result
    [where] = table(run.result, PLAN_WHERE)
    assert where["Project and location"] == f"projects/{PROJECT}/locations/{ZONE}"
    assert where["Node pools"] == "cpu, mem"
    assert "<h3>Plan of GKE cluster team-a-batch</h3>" in run.result
    cluster = settings(run.result, PLAN_CLUSTER)
    assert cluster["name"] == "team-a-batch"
    assert (cluster["network"], cluster["subnetwork"]) == ("dss-vpc", "dss-subnet")
    assert cluster["resourceLabels.team"] == "data"
    cpu, mem = settings(run.result, plan_pool("cpu")), settings(run.result, plan_pool("mem"))
    assert (cpu["initialNodeCount"], cpu["config.machineType"]) == ("2", "e2-standard-4")
    assert (mem["initialNodeCount"], mem["config.machineType"]) == ("1", "n2-highmem-8")
    assert mutations(emulator) == []
    # An attached cluster has no creation to plan.
    gcp.define_cluster(
        "attach-gke-cluster", "theirs", {"connection": connection(gcp), "cluster_name": "x"}
    )
    with pytest.raises(ComponentFailed, match="theirs is an attached cluster"):
        gcp.run_cluster_action("plan-cluster", "theirs")


WAYS = ["actions tab", "scenario step", "macros menu"]


def run_way(dss, way, macro, cluster_id, params, env=None):
    """A cluster action as a user runs it: from the cluster's Actions tab (DSS fills the
    cluster), from a scenario's "Run macro" step or the Macros menu (the user picks it)."""
    if way == "actions tab":
        return dss.run_cluster_action(macro, cluster_id, env=env, **params)
    if way == "scenario step":
        return dss.run_scenario_macro(
            f"pyrunnable_{dss.plugin_id}_{macro}", {"clusterId": cluster_id, **params}, env=env
        )
    return dss.run_macro(macro, {"clusterId": cluster_id, **params}, env=env)


@pytest.mark.parametrize("way", WAYS)
def test_every_action_runs_every_way(way, gcp, emulator, fake_gcs, ar_registry, engine):
    gcp.plugin_settings["storage_endpoint"] = fake_gcs.url
    start(gcp, "everywhere", [pool(gcp, "cpu", node_count=1)])
    env = {
        "DKU_BACKEND_EXT_HOST": "dss.internal",
        "DKU_BACKEND_PORT": "11000",
        "GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url,
    }
    extra = gcp.define_preset("node-pool-request", "extra", {"node_count": 1})
    expected = {
        "add-node-pool": ({"node_pool": extra}, "pool-1 added: 1 node(s) per zone"),
        "check-dss-host": ({}, "OK: Running on Google Cloud"),
        # fake-gcs-server does not answer testIamPermissions: a warning, not a failure.
        "check-gcs-access": ({"buckets": ["bkt"]}, "Warning: usable, with warnings below"),
        "cluster-health": ({}, "<h3>"),
        "inspect-node-pools": ({}, "<h3>Node pools of everywhere</h3>"),
        "plan-cluster": ({}, "OK: the configuration is valid; nothing was created"),
        "push-base-images": (
            {"docker_socket": engine.socket_path},
            f"image(s) pushed to {REGION}-docker.pkg.dev/{PROJECT}/dss-images",
        ),
        "resize-node-pool": ({"pool": "cpu", "node_count": 2}, "cpu resized from 1 to 2"),
        "set-autoscaling": (
            {"pool": "cpu", "min_nodes": 1, "max_nodes": 3},
            "cpu: autoscaling was off, now 1–3 per zone",
        ),
        "setup-dss": ({}, "Nothing was touched"),
        "test-network": ({}, "OK: a pod in everywhere resolved dss.internal"),
    }
    shipped = sorted(p.name for p in (gcp.plugin_dir / "python-runnables").iterdir())
    assert shipped == sorted(expected)  # a new action is added here
    for macro, (params, says) in expected.items():
        run = run_way(gcp, way, macro, "everywhere", params, env=env)
        assert says in run.result, (macro, run.result[:2000])


def test_actions_use_the_connection_preset_as_it_is_now(gcp, emulator, make_key):
    """A key rotated in the connection preset is what the next action uses, no restart."""
    first = make_key(f"dss-runner@{PROJECT}.iam.gserviceaccount.com")
    rotated = make_key(f"dss-rotated@{PROJECT}.iam.gserviceaccount.com")
    conn = gcp.define_preset("connection-info", "keyed", {"service_account_key": first})
    config = {"connection": conn, "node_pools": [pool(gcp, "cpu", node_count=1)]}
    gcp.start_cluster("create-gke-cluster", "rotating", config)
    gcp.define_preset("connection-info", "keyed", {"service_account_key": rotated})
    emulator.admin("DELETE", "requests")
    run = gcp.run_cluster_action("inspect-node-pools", "rotating")
    assert "<h3>Node pools of rotating</h3>" in run.result
    callers = {r.get("identity") for r in emulator.requests() if r.get("cluster")}
    assert callers == {f"dss-rotated@{PROJECT}.iam.gserviceaccount.com"}


def test_data_of_the_previous_plugin_version_still_works(gcp, emulator):
    data = start(gcp, "older", [pool(gcp, "cpu", node_count=1)])
    assert data["version"] == 2
    assert not {"key_file", "connection", "cluster"} & set(data)  # no key, no path to one
    # What version 1 kept: the key file's path, the resolved connection, GKE's description.
    old = {k: v for k, v in data.items() if k != "version"}
    old.update(
        key_file=None,
        connection={"project_id": PROJECT, "zone": ZONE},
        cluster={"status": "RUNNING", "resourceLabels": {}},
    )
    gcp.set_cluster_data("older", old)
    run = gcp.run_cluster_action("inspect-node-pools", "older")
    assert "<h3>Node pools of older</h3>" in run.result
    gcp.stop_cluster("older")
    assert emulator.admin("GET", "state").get("clusters", {}) == {}


def test_actions_on_a_cluster_that_is_not_running_say_so(gcp, emulator):
    gcp.define_cluster("create-gke-cluster", "idle", {"connection": connection(gcp)})
    with pytest.raises(ComponentFailed, match="DSS cluster idle has no running GKE cluster"):
        gcp.run_cluster_action("inspect-node-pools", "idle")
    with pytest.raises(ComponentFailed, match="Cluster: DSS cannot read cluster 'nope'"):
        gcp.run_macro("inspect-node-pools", {"clusterId": "nope"})
    with pytest.raises(ComponentFailed, match="Cluster: choose the DSS cluster") as info:
        gcp.run_macro("inspect-node-pools", {})
    assert info.value.type == "ValidationError"
    assert info.value.attributes["problems"] == [
        {"field": "Cluster", "message": "choose the DSS cluster to work on"}
    ]
