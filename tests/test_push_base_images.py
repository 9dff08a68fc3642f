"""The "Push base images" cluster action through the DSS host harness: the emulator stands in
for the Artifact Registry API, a local docker-registry (routed to by the plugin's registry
endpoint setting) for `REGION-docker.pkg.dev`, a fake Docker Engine for the host's images."""

import pytest

from tests.dsshost import ComponentFailed
from tests.support.registry import TOKEN, TOKEN_USER

REPOSITORIES = "/v1/projects/dss-prod-1234/locations/europe-west1/repositories"


def start_cluster(gcp):
    connection = gcp.define_preset("connection-info", "prod", {})
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu", "node_count": 1})
    gcp.start_cluster("create-gke-cluster", "c1", {"connection": connection, "node_pools": [pool]})


def test_base_images_go_to_the_clusters_project_and_region(gcp, emulator, ar_registry, engine):
    start_cluster(gcp)
    env = {"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url}
    run = gcp.run_macro(
        "push-base-images",
        {"clusterId": "c1", "repository": "dss-images", "docker_socket": engine.socket_path},
        env=env,
    )
    html = run.result
    assert "OK: 2 image(s) pushed to europe-west1-docker.pkg.dev/dss-prod-1234/dss-images" in html
    assert "Created the Artifact Registry repository" in html
    assert "postgres" not in html
    creates = [
        r for r in emulator.google_requests() if r["method"] == "POST" and r["path"] == REPOSITORIES
    ]
    assert len(creates) == 1, creates
    assert "dss-images" in str(creates[0]), creates[0]
    creds = (TOKEN_USER, TOKEN)
    exec_image = ar_registry.inspect(
        "dss-prod-1234/dss-images/dku-exec-base-abc123:13.2.0", creds=creds
    )
    spark_image = ar_registry.inspect(
        "dss-prod-1234/dss-images/dku-spark-base-abc123:13.2.0", creds=creds
    )
    assert len(exec_image["Layers"]) == 2 and len(spark_image["Layers"]) == 1
    assert exec_image["Layers"][0] == spark_image["Layers"][0]
    assert exec_image["Digest"] in html
    # The Spark image's layer is the exec image's first: mounted, not uploaded again.
    assert "<td>2 / 0 / 0</td>" in html and "<td>0 / 0 / 1</td>" in html
    assert run.progress and run.progress == sorted(run.progress)

    # Again: the repository exists, every layer is there.
    again = gcp.run_macro(
        "push-base-images",
        {"clusterId": "c1", "repository": "dss-images", "docker_socket": engine.socket_path},
        env=env,
    )
    assert "Created the Artifact Registry repository" not in again.result
    assert "<td>0 / 2 / 0</td>" in again.result and "<td>0 / 1 / 0</td>" in again.result
    creates_after = [
        r for r in emulator.google_requests() if r["method"] == "POST" and r["path"] == REPOSITORIES
    ]
    assert len(creates_after) == 1


def test_missing_repository_without_creation_and_no_matching_image(gcp, ar_registry, engine):
    start_cluster(gcp)
    env = {"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url}
    run = gcp.run_macro(
        "push-base-images",
        {
            "clusterId": "c1",
            "repository": "absent",
            "create_if_missing": False,
            "docker_socket": engine.socket_path,
        },
        env=env,
    )
    assert "Failed: 2 of 2 image(s) failed" in run.result
    assert "does not exist: create it" in run.result
    with pytest.raises(ComponentFailed) as info:
        gcp.run_macro(
            "push-base-images",
            {
                "clusterId": "c1",
                "repository": "dss-images",
                "image_patterns": ["dku-nothing-*"],
                "docker_socket": engine.socket_path,
            },
            env=env,
        )
    assert info.value.type == "RegistryError"
    assert "build-base-image" in str(info.value)
