"""The "Push base images" cluster action through the DSS host harness: the emulator stands in
for the Artifact Registry API, a local docker-registry (routed to by the plugin's registry
endpoint setting) for `REGION-docker.pkg.dev`, a fake Docker Engine for the host's images."""

import pytest

from tests.dsshost import ComponentFailed
from tests.support.clusters import LOCATIONS, PROJECT, REGION, pool, start
from tests.support.html import keyed, table
from tests.support.registry import TOKEN, TOKEN_USER

REPOSITORIES = f"{LOCATIONS}/{REGION}/repositories"
IMAGES = [
    "image",
    "destination",
    "result",
    "digest",
    "layers pushed / already there / mounted",
    "uploaded",
    "seconds",
]
EXEC, SPARK = "dku-exec-base-abc123:13.2.0", "dku-spark-base-abc123:13.2.0"


def start_cluster(gcp):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])


def layers(page: str) -> dict:
    """Image → its "layers pushed / already there / mounted" cell in a push report."""
    return {
        image: row["layers pushed / already there / mounted"]
        for image, row in keyed(table(page, IMAGES), "image").items()
    }


def test_base_images_go_to_the_clusters_project_and_region(gcp, emulator, ar_registry, engine):
    start_cluster(gcp)
    env = {"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url}
    run = gcp.run_macro(
        "push-base-images",
        {"clusterId": "c1", "repository": "dss-images", "docker_socket": engine.socket_path},
        env=env,
    )
    html = run.result
    assert f"OK: 2 image(s) pushed to {REGION}-docker.pkg.dev/{PROJECT}/dss-images" in html
    assert "Created the Artifact Registry repository" in html
    assert "postgres" not in html
    creates = [
        r for r in emulator.google_requests() if r["method"] == "POST" and r["path"] == REPOSITORIES
    ]
    assert len(creates) == 1, creates
    assert "dss-images" in str(creates[0]), creates[0]
    creds = (TOKEN_USER, TOKEN)
    exec_image = ar_registry.inspect(f"{PROJECT}/dss-images/{EXEC}", creds=creds)
    spark_image = ar_registry.inspect(f"{PROJECT}/dss-images/{SPARK}", creds=creds)
    assert len(exec_image["Layers"]) == 2 and len(spark_image["Layers"]) == 1
    assert exec_image["Layers"][0] == spark_image["Layers"][0]
    assert keyed(table(html, IMAGES), "image")[EXEC]["digest"] == exec_image["Digest"]
    # The Spark image's layer is the exec image's first: mounted, not uploaded again.
    assert layers(html) == {EXEC: "2 / 0 / 0", SPARK: "0 / 0 / 1"}
    assert run.progress and run.progress == sorted(run.progress)

    # Again: the repository exists, every layer is there.
    again = gcp.run_macro(
        "push-base-images",
        {"clusterId": "c1", "repository": "dss-images", "docker_socket": engine.socket_path},
        env=env,
    )
    assert "Created the Artifact Registry repository" not in again.result
    assert layers(again.result) == {EXEC: "0 / 2 / 0", SPARK: "0 / 1 / 0"}
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
