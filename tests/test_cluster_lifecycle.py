"""Create, attach and stop GKE clusters through the DSS host harness, against gke-emulator."""

import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest

from tests.dsshost import ComponentFailed
from tests.support.clusters import (
    LOCATIONS,
    PROJECT,
    REGION,
    SERVICE_ACCOUNT,
    ZONE,
    connection,
    creates,
    mutations,
    pool,
)
from tests.support.discovery import enum
from tests.support.kube import kubectl


def test_zonal_cluster_from_dss_to_kubectl_and_back(gcp, emulator, tmp_path):
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu", node_count=2)]}
    run = gcp.start_cluster("create-gke-cluster", "Analytics_1", config)
    settings, data = run.value

    workdir = gcp.cluster_dir("Analytics_1")
    kubeconfig = workdir / "kubeconfig"
    overrides = settings["container"]["executionConfigsGenericOverrides"]
    assert overrides["kubeConfigPath"] == str(kubeconfig)
    assert overrides["kubeCtlContext"] == f"gke_{PROJECT}_{ZONE}_analytics-1"
    assert settings["spark"]["sparkEnabled"] is True
    assert (data["project"], data["location"], data["name"]) == (PROJECT, ZONE, "analytics-1")
    assert data["endpoint"]  # start() returns once the cluster runs
    assert data["identity"] == SERVICE_ACCOUNT
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"

    # The create request: the DSS host's network inherited, as the relative names GKE takes
    # (`projects/P/global/networks/N`), from the host's instance as Compute describes it.
    [create] = creates(emulator)
    cluster = create["body"]["cluster"]
    host = emulator.admin("GET", "metadata")
    assert cluster["network"] == f"projects/{PROJECT}/global/networks/{host['network']}"
    assert cluster["subnetwork"] == (
        f"projects/{PROJECT}/regions/{REGION}/subnetworks/{host['subnetwork']}"
    )
    assert [p["name"] for p in cluster["nodePools"]] == ["cpu"]

    # The real kubectl, through the kubeconfig's credential helper (no gcloud).
    env = emulator.env(tmp_path / "home")
    nodes = json.loads(kubectl(kubeconfig, env, "get", "nodes", "-o", "json"))["items"]
    assert len(nodes) == 2
    assert {n["metadata"]["labels"]["cloud.google.com/gke-nodepool"] for n in nodes} == {"cpu"}
    binding = json.loads(
        kubectl(kubeconfig, env, "get", "clusterrolebinding", data["admin_binding"], "-o", "json")
    )
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"][0]["name"] == SERVICE_ACCOUNT
    cache = workdir / ".gke-native-token.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"

    gcp.stop_cluster("Analytics_1")
    deletes = [r for r in emulator.google_requests() if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"{LOCATIONS}/{ZONE}/clusters/analytics-1"]
    state = emulator.admin("GET", "state")
    assert "analytics-1" not in json.dumps(state.get("clusters", {}))


def test_plan_is_exactly_what_start_sends(gcp, emulator, code_env):
    config = {
        "connection": {"mode": "INLINE", "inlineParams": {}},
        "node_pools": [
            pool(gcp, "gpu", gpu=True, gpu_driver="LATEST", taints=["ml=yes:NoSchedule"]),
            pool(gcp, "cpu"),
        ],
        "pod_range": "10.40.0.0/14",
        "service_range": "10.48.0.0/20",
        "labels": {"team": "data"},
        "release_channel": "REGULAR",
    }
    resolved = gcp.resolve(
        gcp.descriptor("python-clusters", "create-gke-cluster")["params"], config
    )
    # The plan in a notebook-like process, pointed at the APIs by the plugin setting alone.
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import dss_gke; "
        "plugin = {'api_endpoint': sys.argv[3]}; "
        "print(json.dumps(dss_gke.plan_cluster(json.loads(sys.argv[2]), plugin, 'planned')))"
    )
    env = {**os.environ, **{k: v for k, v in emulator.env(gcp.dip_home).items() if v}}
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    env.pop("GKE_NATIVE_API_ENDPOINT")
    proc = subprocess.run(
        [
            str(code_env),
            "-c",
            script,
            str(gcp.plugin_dir / "python-lib"),
            json.dumps(resolved),
            emulator.url,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert mutations(emulator) == []

    gcp.start_cluster("create-gke-cluster", "planned", config)
    [create] = creates(emulator)
    sent = create["body"]
    assert create["path"] == f"/v1/{plan['parent']}/clusters"
    # The plan names the enums the form sets; the official client sends their numbers (Google's
    # JSON mapping takes either). Everything else is the same value, byte for byte.
    assert named(sent["cluster"]) == plan["cluster"]
    assert plan["cluster"]["releaseChannel"] == {"channel": "REGULAR"}
    gpu = plan["cluster"]["nodePools"][0]["config"]["accelerators"][0]
    assert gpu["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}
    assert plan["cluster"]["nodePools"][0]["config"]["taints"][0]["effect"] == "NO_SCHEDULE"


# The enums the form sets, where the plan shows them (names from the discovery document; these
# are numbered in the document's order).
ENUMS = {
    ("releaseChannel", "channel"): enum("ReleaseChannel", "channel"),
    ("gpuDriverInstallationConfig", "gpuDriverVersion"): enum(
        "GPUDriverInstallationConfig", "gpuDriverVersion"
    ),
    ("taints", "effect"): enum("NodeTaint", "effect"),
    ("autoscaling", "locationPolicy"): enum("NodePoolAutoscaling", "locationPolicy"),
}


def named(value, parent=None):
    """`value` with the numbers of ENUMS' fields replaced by their names."""
    if isinstance(value, dict):
        return {
            k: ENUMS[(parent, k)][v] if (parent, k) in ENUMS and isinstance(v, int) else named(v, k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [named(v, parent) for v in value]
    return value


def test_every_mistake_at_once_and_nothing_created(gcp, emulator):
    config = {
        "connection": connection(gcp, zone=REGION),
        "gke_name": "Analytics_Cluster",
        "node_pools": [
            pool(gcp, "a", autoscaling=True, min_nodes=5, max_nodes=2, taints=["x=y"]),
            pool(gcp, "a", preset="a2", resource_labels={"Team": "x"}),
        ],
        "pod_range": "10.0.0.0/12",
        "service_range": "10.4.0.0/20",
        "labels": {"bad key": "v"},
        "private_nodes": True,
        "master_cidr": "172.16.0.0/29",
        "authorized_networks": True,
        "authorized_cidrs": ["203.0.113.0/33"],
        "settings_valve": "{not json",
    }
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "c", config)
    e = info.value
    assert e.type == "ValidationError"
    fields = [p["field"] for p in e.attributes["problems"]]
    assert fields == [
        "GKE cluster name",
        "node pool 'a' › Min nodes",
        "node pool 'a' › Taints",
        "node pool 'a' › GCP labels",
        "Node pools",
        "Service range",
        "GCP labels",
        "Control plane range",
        "Authorized networks",
        "Settings valve",
        "GKE connection › Zone",
    ]
    assert "5 is above Max nodes (2)" in e.message and "has no effect" in e.message
    assert creates(emulator) == []
    assert mutations(emulator) == []


def test_gpu_on_autopilot_is_refused(gcp, emulator):
    config = {
        "connection": connection(gcp),
        "mode": "autopilot",
        "location_type": "regional",
        "node_pools": [pool(gcp, "gpu", gpu=True)],
    }
    with pytest.raises(ComponentFailed, match="Autopilot clusters choose GPU nodes"):
        gcp.start_cluster("create-gke-cluster", "c", config)
    assert creates(emulator) == []


def test_regional_autopilot(gcp, emulator):
    config = {"connection": connection(gcp), "mode": "autopilot", "location_type": "regional"}
    _, data = gcp.start_cluster("create-gke-cluster", "auto", config).value
    assert (data["location"], data["autopilot"], data["regional"]) == (REGION, True, True)
    [create] = creates(emulator)
    assert create["path"] == f"{LOCATIONS}/{REGION}/clusters"
    assert create["body"]["cluster"]["autopilot"] == {"enabled": True}


def test_explicit_network_security_and_valve(gcp, emulator):
    emulator.admin("PUT", "metadata", {"subnetwork": "dss-subnet"})
    config = {
        "connection": connection(gcp),
        "node_pools": [pool(gcp, "cpu")],
        "location_type": "regional",
        "node_locations": [f"{REGION}-b", f"{REGION}-c"],
        "network_mode": "explicit",
        "network": "dss-vpc",
        "subnetwork": "dss-subnet",
        "pod_range": "pods",
        "service_range": "/20",
        "private_nodes": True,
        "authorized_networks": True,
        "authorized_cidrs": ["203.0.113.0/24"],
        "workload_identity": True,
        "release_channel": "STABLE",
        "settings_valve": json.dumps(
            {"description": "made by DSS", "shieldedNodes": {"enabled": False}}
        ),
    }
    gcp.start_cluster("create-gke-cluster", "secure", config)
    cluster = creates(emulator)[0]["body"]["cluster"]
    assert (cluster["network"], cluster["subnetwork"]) == ("dss-vpc", "dss-subnet")
    assert cluster["locations"] == [f"{REGION}-b", f"{REGION}-c"]
    assert cluster["ipAllocationPolicy"]["clusterSecondaryRangeName"] == "pods"
    assert cluster["ipAllocationPolicy"]["servicesIpv4CidrBlock"] == "/20"
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    blocks = [b["cidrBlock"] for b in cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    assert blocks[0] == "203.0.113.0/24" and blocks[1].endswith("/32")
    assert cluster["workloadIdentityConfig"]["workloadPool"] == f"{PROJECT}.svc.id.goog"
    assert cluster["description"] == "made by DSS"
    # The valve's "enabled": false, which Google's JSON mapping leaves out.
    assert cluster["shieldedNodes"] == {}


def test_resume_after_dss_restarted_mid_creation(gcp, emulator):
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    emulator.admin("POST", "operations/hold-next", {"count": 1})
    with pytest.raises(subprocess.TimeoutExpired):
        gcp.start_cluster("create-gke-cluster", "resumed", config, timeout=8)
    assert len(creates(emulator)) == 1
    emulator.restart()  # GKE's side restarts too, with the creation still running

    def release_soon():
        time.sleep(1.5)
        emulator.admin("POST", "operations/release", {})

    threading.Thread(target=release_soon).start()
    _, data = gcp.start_cluster("create-gke-cluster", "resumed", config).value
    assert data["endpoint"]  # start() returns once the cluster runs
    assert data["created_by_plugin"] is True
    assert len(creates(emulator)) == 0  # the restarted emulator's log: no second creation


def test_running_twin_is_adopted_and_different_one_refused(gcp, emulator):
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    gcp.start_cluster("create-gke-cluster", "twin", config)
    _, data = gcp.start_cluster("create-gke-cluster", "twin", config).value
    assert data["created_by_plugin"] is False
    assert len(creates(emulator)) == 1
    other = {"connection": connection(gcp), "node_pools": [pool(gcp, "other")]}
    with pytest.raises(ComponentFailed, match=f"already runs in {ZONE} with another"):
        gcp.start_cluster("create-gke-cluster", "twin", other)


def test_failed_creation_is_deleted(gcp, emulator):
    emulator.admin(
        "POST",
        "operations/fail-next",
        {"code": "RESOURCE_EXHAUSTED", "message": "Quota 'CPUS' exceeded"},
    )
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "failing", config)
    assert info.value.type == "OperationFailed"
    assert "Quota 'CPUS' exceeded" in info.value.message
    assert "it was deleted, so it costs nothing" in info.value.message
    deletes = [r["path"] for r in emulator.google_requests() if r["method"] == "DELETE"]
    assert deletes == [f"{LOCATIONS}/{ZONE}/clusters/failing"]


def test_throttling_and_unavailability_are_survived(gcp, emulator):
    emulator.admin(
        "POST",
        "faults",
        {"method": "POST", "path": "/clusters", "count": 3, "kind": "error", "status": 429},
    )
    emulator.admin(
        "POST",
        "faults",
        {"method": "GET", "path": "/operations/", "count": 2, "kind": "error", "status": 503},
    )
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    _, data = gcp.start_cluster("create-gke-cluster", "stormy", config).value
    assert data["endpoint"]  # start() returns once the cluster runs
    statuses = [r["status"] for r in emulator.google_requests() if r["method"] == "POST"]
    assert statuses == [429, 429, 429, 200]


def test_stop_waits_for_an_operation_in_progress(gcp, emulator):
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    gcp.start_cluster("create-gke-cluster", "busy", config)
    # Someone else's deletion is running (held by GKE): stop() must wait for it, not fail.
    emulator.admin("POST", "operations/hold-next", {"count": 1})
    request = urllib.request.Request(
        f"{emulator.url}{LOCATIONS}/{ZONE}/clusters/busy", method="DELETE"
    )
    urllib.request.urlopen(request).read()

    def release_soon():
        time.sleep(1.5)
        emulator.admin("POST", "operations/release", {})

    threading.Thread(target=release_soon).start()
    gcp.stop_cluster("busy")
    deletes = [r["status"] for r in emulator.google_requests() if r["method"] == "DELETE"]
    assert deletes == [200, 400]  # ours was refused while the other ran, then we waited
    assert "busy" not in json.dumps(emulator.admin("GET", "state").get("clusters", {}))


def test_stop_of_a_cluster_already_gone_succeeds(gcp, emulator):
    config = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    gcp.start_cluster("create-gke-cluster", "gone", config)
    gcp.stop_cluster("gone")
    gcp.set_cluster_data("gone", {"project": PROJECT, "location": ZONE, "name": "gone"})
    gcp.stop_cluster("gone")


def test_attach_leaves_the_cluster_running(gcp, emulator, tmp_path):
    created = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    gcp.start_cluster("create-gke-cluster", "owned", created)
    attach = {"connection": connection(gcp), "cluster_name": "owned", "use_dns_endpoint": True}
    settings, data = gcp.start_cluster("attach-gke-cluster", "attached", attach).value
    assert data["endpoint"].startswith("localhost:")
    kubeconfig = settings["container"]["executionConfigsGenericOverrides"]["kubeConfigPath"]
    nodes = json.loads(
        kubectl(kubeconfig, emulator.env(tmp_path / "home"), "get", "nodes", "-o", "json")
    )
    assert len(nodes["items"]) == 3
    gcp.stop_cluster("attached")
    assert [r for r in emulator.google_requests() if r["method"] == "DELETE"] == []
    with pytest.raises(ComponentFailed, match=f"no cluster 'nope' in {ZONE}") as info:
        gcp.start_cluster("attach-gke-cluster", "x", {**attach, "cluster_name": "nope"})
    assert info.value.type == "NotFoundError"
    assert (info.value.attributes["status"], info.value.attributes["code"]) == (404, "NOT_FOUND")


def test_gke_gcloud_auth_plugin_can_be_chosen(gcp, emulator):
    config = {
        "connection": connection(gcp),
        "node_pools": [pool(gcp, "cpu")],
        "credential_helper": "gke-gcloud-auth-plugin",
    }
    settings, _ = gcp.start_cluster("create-gke-cluster", "gcloudy", config).value
    path = settings["container"]["executionConfigsGenericOverrides"]["kubeConfigPath"]
    with open(path) as f:
        exec_config = json.load(f)["users"][0]["user"]["exec"]
    assert exec_config["command"] == "gke-gcloud-auth-plugin"
    assert not list(gcp.cluster_dir("gcloudy").glob("gke-native-sa-key.json"))


def test_ranges_must_fit_the_subnetwork(gcp, emulator):
    config = {
        "connection": connection(gcp),
        "node_pools": [pool(gcp, "cpu")],
        "pod_range": "10.128.0.0/14",
        "service_range": "svc-range",
    }
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "c", config)
    problems = info.value.attributes["problems"]
    assert [p["field"] for p in problems] == ["Pod range", "Service range"]
    assert "overlaps the subnetwork" in problems[0]["message"]
    assert "it has: pods, services" in problems[1]["message"]
    assert creates(emulator) == []


def test_the_connections_image_repository_becomes_dss_registry(gcp, emulator):
    conn = gcp.define_preset("connection-info", "ar", {"repository": "dss-images"})
    config = {"connection": conn, "node_pools": [pool(gcp, "cpu")]}
    settings, _ = gcp.start_cluster("create-gke-cluster", "pushing", config).value
    overrides = settings["container"]["executionConfigsGenericOverrides"]
    assert overrides["repositoryURL"] == f"{REGION}-docker.pkg.dev/{PROJECT}/dss-images"
    assert gcp.cluster_overrides("pushing") == settings
    # Without one, DSS's own container settings decide.
    plain = {"connection": connection(gcp), "node_pools": [pool(gcp, "cpu")]}
    settings, _ = gcp.start_cluster("create-gke-cluster", "plain", plain).value
    assert "repositoryURL" not in settings["container"]["executionConfigsGenericOverrides"]
    # A repository id Artifact Registry would refuse is refused before anything is created.
    before = len(creates(emulator))
    bad = gcp.define_preset("connection-info", "bad", {"repository": "DSS_images"})
    with pytest.raises(ComponentFailed, match="Image repository: 'DSS_images' is not an Artifact"):
        gcp.start_cluster("create-gke-cluster", "bad", {**config, "connection": bad})
    assert len(creates(emulator)) == before


def test_kubernetes_version_latest_is_sent_default_is_gkes_choice(gcp, emulator):
    for version, sent in [("latest", "latest"), ("default", None), ("1.31", "1.31")]:
        config = {
            "connection": connection(gcp),
            "node_pools": [pool(gcp, "cpu")],
            "kubernetes_version": version,
        }
        gcp.start_cluster("create-gke-cluster", f"v-{version.replace('.', '-')}", config)
        body = creates(emulator)[-1]["body"]["cluster"]
        assert body.get("initialClusterVersion") == sent, version


def test_pools_where_no_dss_pod_could_run_are_refused(gcp, emulator):
    gpu = pool(gcp, "gpu", gpu=True)
    tainted = pool(gcp, "ml", taints=["ml=yes:NoSchedule"])
    with pytest.raises(ComponentFailed, match=r"DSS's pods .* could run nowhere"):
        gcp.start_cluster(
            "create-gke-cluster",
            "nowhere",
            {"connection": connection(gcp), "node_pools": [gpu, tainted]},
        )
    assert creates(emulator) == []
