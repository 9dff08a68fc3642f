"""Transient faults read as such (retried, bounded, paused) and lost answers adopted, not
reported as failures; the plugin's own Kubernetes calls go through the host's proxy.
Through the DSS host harness, against gke-emulator's fault admin API."""

import json
import threading
import time
import urllib.request

import pytest

import dss_gke
from tests.dsshost import ComponentFailed
from tests.support.clusters import CLUSTERS, PROJECT, REGION
from tests.support.proxy import ConnectProxy
from tests.support.registry import TOKEN, TOKEN_USER


def connection(dss):
    """A preset with every field blank: project, zone and credentials from the metadata server."""
    return dss.define_preset("connection-info", "host", {})


def pool(dss, name, **params):
    return dss.define_preset("node-pool-request", name, {"name": name, **params})


def start(dss, cluster_id, env=None):
    config = {"connection": connection(dss), "node_pools": [pool(dss, "cpu", node_count=1)]}
    return dss.start_cluster("create-gke-cluster", cluster_id, config, env=env)


def test_one_reset_of_the_metadata_server_is_retried_not_read_as_no_server(gcp, emulator):
    emulator.admin(
        "POST", "faults", {"method": "GET", "path": "/project/project-id", "kind": "reset"}
    )
    _, data = start(gcp, "reset").value
    assert data["project"] == PROJECT
    asked = [r for r in emulator.requests() if r["path"].endswith("/project/project-id")]
    assert [r["fault"] for r in asked[:2]] == ["reset", None]


def test_one_503_on_the_metadata_token_is_retried(gcp, emulator):
    emulator.admin(
        "POST",
        "faults",
        {"path": "/service-accounts/default/token", "kind": "error", "status": 503},
    )
    _, data = start(gcp, "token").value
    assert data["endpoint"]
    tokens = [r["status"] for r in emulator.requests() if r["path"].endswith("/default/token")]
    assert tokens[:2] == [503, 200]


def test_a_node_pool_whose_creation_answer_was_lost_is_adopted(gcp, emulator):
    start(gcp, "lost")
    emulator.admin(
        "POST", "faults", {"method": "POST", "path": "/nodePools", "kind": "actThenReset"}
    )
    preset = gcp.define_preset("node-pool-request", "more", {"name": "more", "node_count": 2})
    run = gcp.run_macro("add-node-pool", {"clusterId": "lost", "node_pool": preset})
    assert "more added: 2 node(s) per zone of e2-standard-4" in run.result
    posts = [
        (r["status"], r["fault"])
        for r in emulator.google_requests()
        if r["method"] == "POST" and r["path"].endswith("/nodePools")
    ]
    # Ours acted then lost its answer; the retry found it (409, or refused while it was
    # being made): never more than a few tries.
    assert posts[0] == (200, "actThenReset") and 2 <= len(posts) <= 4, posts
    assert posts[-1][0] == 409
    state = emulator.admin("GET", "state")
    [cluster] = [c for k, c in state["clusters"].items() if k.endswith("/clusters/lost")]
    assert [p["name"] for p in cluster["resource"]["nodePools"]].count("more") == 1


def test_a_node_pool_made_differently_meanwhile_is_not_adopted(gcp, emulator):
    start(gcp, "taken")
    # Our POST is held; meanwhile someone else makes a one-node pool of the same name.
    emulator.admin(
        "POST", "faults", {"method": "POST", "path": "/nodePools", "kind": "delay", "delayMs": 3000}
    )
    other = json.dumps({"nodePool": {"name": "more", "initialNodeCount": 1}}).encode()
    request = urllib.request.Request(
        f"{emulator.url}{CLUSTERS}/taken/nodePools", data=other, method="POST"
    )
    cluster_reads = len(cluster_gets(emulator, "taken"))

    def meanwhile():
        # The action reads the cluster (what a new pool inherits, which names are taken), then
        # posts at once: the other pool is made while our POST is held, not before it.
        for _ in range(300):
            if len(cluster_gets(emulator, "taken")) >= cluster_reads + 2:
                break
            time.sleep(0.02)
        time.sleep(0.3)
        urllib.request.urlopen(request).read()

    threading.Thread(target=meanwhile, daemon=True).start()
    preset = gcp.define_preset("node-pool-request", "more", {"name": "more", "node_count": 2})
    with pytest.raises(ComponentFailed) as failed:
        gcp.run_macro("add-node-pool", {"clusterId": "taken", "node_pool": preset})
    assert failed.value.type == "ValidationError"
    assert "'more' was created in taken meanwhile with another configuration" in str(failed.value)


def cluster_gets(emulator, name):
    return [
        r
        for r in emulator.google_requests()
        if r["method"] == "GET" and r["path"] == f"{CLUSTERS}/{name}"
    ]


def test_an_artifact_registry_repository_whose_creation_answer_was_lost_is_adopted(
    gcp, emulator, ar_registry, tmp_path, monkeypatch
):
    from tests.support import images

    for key, value in emulator.env(tmp_path / "home").items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    images.oci_layout(tmp_path / "layout", images.random_layers(1, 50_000, seed=3), tag="v1")
    emulator.admin(
        "POST", "faults", {"method": "POST", "path": "/repositories", "kind": "actThenReset"}
    )
    report = dss_gke.push_image(
        f"oci:{tmp_path / 'layout'}:v1",
        f"{REGION}-docker.pkg.dev/{PROJECT}/fresh/img:v1",
        api_endpoint=emulator.url,
        registry_endpoint=ar_registry.url,
        create_repository=True,
        cache_file=str(tmp_path / "blobs.json"),
    )
    assert report.layers_pushed == 1
    posts = [
        (r["status"], r["fault"])
        for r in emulator.google_requests()
        if r["method"] == "POST" and r["path"].endswith("/repositories")
    ]
    assert posts[0] == (200, "actThenReset") and posts[-1][0] == 409 and len(posts) <= 6, posts
    repositories = emulator.admin("GET", "state")["repositories"]
    assert f"projects/{PROJECT}/locations/{REGION}/repositories/fresh" in repositories
    pushed = ar_registry.inspect(f"{PROJECT}/fresh/img:v1", creds=(TOKEN_USER, TOKEN))
    assert pushed["Digest"] == report.digest


def test_kubernetes_calls_go_through_the_hosts_proxy_unless_no_proxy_names_them(gcp, emulator):
    with ConnectProxy() as proxy:
        env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": None, "no_proxy": None, "https_proxy": None}
        _, data = start(gcp, "proxied", env=env).value
        endpoint = data["endpoint"]
        assert data["admin_binding"]  # made through the Kubernetes API
        assert proxy.tunnels and set(proxy.tunnels) == {endpoint}, proxy.tunnels

        proxy.tunnels.clear()
        env["NO_PROXY"] = "127.0.0.1"
        run = gcp.run_macro("cluster-health", {"clusterId": "proxied"}, env=env)
        assert "OK: running, every node Ready" in run.result
        assert proxy.tunnels == []
    nodes = [r for r in emulator.requests() if r.get("cluster") and r["path"] == "/api/v1/nodes"]
    assert nodes and json.dumps(nodes).count("Bearer [redacted]") >= len(nodes)
