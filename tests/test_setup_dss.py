"""The "Set up DSS for this cluster" action through the DSS host harness: DSS's settings read
back with Dataiku's own `dataikuapi` client from the loopback DSS stand-in, the Artifact Registry
API on the emulator, the images read back with skopeo from the registry the new configs name."""

import copy
import json
import subprocess
import textwrap

from tests.dsshost import ComponentFailed
from tests.support.clusters import LOCATIONS, PROJECT, REGION, SERVICE_ACCOUNT, pool, start
from tests.support.html import table
from tests.support.registry import TOKEN, TOKEN_USER

REGISTRY = f"{REGION}-docker.pkg.dev/{PROJECT}/dss-images"
REPOSITORIES = f"{LOCATIONS}/{REGION}/repositories"
STEPS = ["setting", "name", "outcome", "why"]
FIELDS = ["setting", "field", "before", "after", "outcome"]
BY_HAND = ["setting", "field", "value", "where and why"]
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


def setup(gcp, engine, ar_registry, **params):
    """Runs the action from cluster c1's Actions tab; its HTML."""
    form = {"buckets": ["bkt-data"], "docker_socket": engine.socket_path, **params}
    env = {"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url}
    return gcp.run_cluster_action("setup-dss", "c1", env=env, **form).result


def outcomes(page: str) -> dict:
    """(setting, name) → outcome, from the report's steps table."""
    return {(r["setting"], r["name"]): r["outcome"] for r in table(page, STEPS)}


def dss_state(gcp) -> tuple:
    """DSS's general settings and connections, as Dataiku's own client reads them."""
    client = gcp.client()
    connections = {
        name: client.get_connection(name).get_settings().get_raw()
        for name in client.list_connections()
    }
    return client.get_general_settings().get_raw(), connections


def config(settings: dict, section: str, name: str):
    found = [c for c in settings[section]["executionConfigs"] if c["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def repository_creates(emulator) -> list:
    return [
        r for r in emulator.google_requests() if r["method"] == "POST" and r["path"] == REPOSITORIES
    ]


def dss_writes(gcp) -> list:
    """Calls that change DSS's admin settings (the intercom's form resolution is a read)."""
    return [
        r for r in gcp.backend.requests if r[0] in ("PUT", "POST", "DELETE") and "/admin/" in r[1]
    ]


def test_the_plan_touches_nothing(gcp, emulator, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    before = dss_state(gcp)
    writes = len(dss_writes(gcp))
    page = setup(gcp, engine, ar_registry)
    assert "Nothing was touched" in page and "4 change(s) to make" in page
    assert outcomes(page) == {
        ("Artifact Registry repository", REGISTRY): "will create",
        ("Containerized execution config", "gke-c1"): "will create",
        ("Spark config", "gke-c1-spark"): "will create",
        ("GCS connection", "gcs-bkt-data"): "will create",
    }
    changes = {(r["setting"], r["field"]): (r["before"], r["after"]) for r in table(page, FIELDS)}
    assert changes[("Containerized execution config gke-c1", "Image registry URL")] == (
        "—",
        REGISTRY,
    )
    assert changes[("Spark config gke-c1-spark", "Managed Spark-on-K8S")] == ("—", "true")
    # What the action does not write is listed, with where to set it.
    by_hand = {(r["setting"], r["field"]): r for r in table(page, BY_HAND)}
    assert by_hand[("Spark config gke-c1-spark", "Image registry URL")]["value"] == REGISTRY
    assert "Metastore catalogs" in by_hand[("DSS setting", "Metastore catalog")]["where and why"]
    assert by_hand[("GCS connection gcs-bkt-data", "HDFS interface")]["value"].startswith("GS")
    # Nothing changed anywhere.
    assert dss_state(gcp) == before
    assert len(dss_writes(gcp)) == writes
    assert repository_creates(emulator) == []
    assert not ar_registry.exists(f"{PROJECT}/dss-images/{EXEC}")


def test_a_fresh_dss_gets_the_configs_and_a_second_run_changes_nothing(
    gcp, emulator, ar_registry, engine
):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    run = gcp.run_cluster_action(
        "setup-dss",
        "c1",
        env={"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url},
        apply=True,
        buckets=["bkt-data", "gs://bkt-logs/"],
        docker_socket=engine.socket_path,
    )
    page = run.result
    assert "OK: 5 created or updated, 0 unchanged, 0 skipped" in page, page
    assert outcomes(page)[("Containerized execution config", "gke-c1")] == "created"
    assert run.progress and run.progress == sorted(run.progress)

    settings, connections = dss_state(gcp)
    exec_config = config(settings, "containerSettings", "gke-c1")
    assert exec_config["type"] == "KUBERNETES"
    assert exec_config["repositoryURL"] == REGISTRY
    spark = config(settings, "sparkSettings", "gke-c1-spark")
    assert spark["kubernetesSettings"]["managedKubernetes"] is True
    assert "cluster c1" in spark["description"]
    assert config(settings, "sparkSettings", "default") is not None, "DSS's own config is kept"
    assert settings["ldapSettings"] == {"enabled": False}
    for bucket in ("bkt-data", "bkt-logs"):
        connection = connections[f"gcs-{bucket}"]
        assert connection["type"] == "GCS"
        assert f"gs://{bucket}" in connection["description"]
    assert "filesystem_managed" in connections
    assert len(repository_creates(emulator)) == 1

    # The images are where the new config says: its registry URL, read back with skopeo.
    host_path = exec_config["repositoryURL"].split("/", 1)[1]
    creds = (TOKEN_USER, TOKEN)
    pushed = {row["image"]: row for row in table(page, IMAGES) if row["result"] == "OK"}
    for image in (EXEC, SPARK):
        inspected = ar_registry.inspect(f"{host_path}/{image}", creds=creds)
        assert inspected["Digest"] == pushed[image]["digest"]

    # Again: nothing to do, nothing written, every layer already there.
    writes = len(dss_writes(gcp))
    again = setup(gcp, engine, ar_registry, apply=True, buckets=["bkt-data", "bkt-logs"])
    assert "OK: 0 created or updated, 5 unchanged, 0 skipped" in again, again
    assert set(outcomes(again).values()) == {"unchanged"}
    assert dss_writes(gcp)[writes:] == []
    assert dss_state(gcp) == (settings, connections)
    assert len(repository_creates(emulator)) == 1
    layers = {
        r["image"]: r["layers pushed / already there / mounted"] for r in table(again, IMAGES)
    }
    assert layers == {EXEC: "0 / 2 / 0", SPARK: "0 / 1 / 0"}


def test_a_config_someone_else_made_is_reported_and_left_alone(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    client = gcp.client()
    general = client.get_general_settings()
    theirs = {"name": "gke-c1", "type": "KUBERNETES", "repositoryURL": "eu.gcr.io/other/images"}
    general.get_raw()["containerSettings"]["executionConfigs"].append(copy.deepcopy(theirs))
    general.save()

    page = setup(gcp, engine, ar_registry, apply=True, push_images=False)
    assert outcomes(page)[("Containerized execution config", "gke-c1")] == "skipped"
    why = {r["name"]: r["why"] for r in table(page, STEPS)}["gke-c1"]
    assert "not created by gke-native" in why and "eu.gcr.io/other/images" in why
    assert outcomes(page)[("Spark config", "gke-c1-spark")] == "created"
    assert page.count("Warning:") == 1
    settings, _ = dss_state(gcp)
    assert config(settings, "containerSettings", "gke-c1") == theirs

    # Asked to take it over: its registry changes, the rest of it stays.
    page = setup(gcp, engine, ar_registry, apply=True, push_images=False, take_over=True)
    assert outcomes(page)[("Containerized execution config", "gke-c1")] == "updated"
    taken = config(dss_state(gcp)[0], "containerSettings", "gke-c1")
    assert taken["repositoryURL"] == REGISTRY and taken["type"] == "KUBERNETES"
    # Now marked as gke-native's: a later run without take-over keeps it up to date.
    page = setup(gcp, engine, ar_registry, apply=True, push_images=False, repository="team")
    assert outcomes(page)[("Containerized execution config", "gke-c1")] == "updated"
    assert config(dss_state(gcp)[0], "containerSettings", "gke-c1")["repositoryURL"] == (
        f"{REGION}-docker.pkg.dev/{PROJECT}/team"
    )


def test_a_connection_of_another_type_is_never_changed(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    gcp.client().create_connection("gcs-bkt-data", "EC2", {"chbucket": "x"})
    before = dss_state(gcp)[1]["gcs-bkt-data"]
    page = setup(gcp, engine, ar_registry, apply=True, push_images=False, take_over=True)
    assert outcomes(page)[("GCS connection", "gcs-bkt-data")] == "skipped"
    assert dss_state(gcp)[1]["gcs-bkt-data"] == before


def test_a_newer_dss_keeping_registries_in_build_configs_is_not_written(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    client = gcp.client()
    general = client.get_general_settings()
    general.get_raw()["containerSettings"]["buildConfigs"] = [{"name": "default-build"}]
    general.save()
    before = dss_state(gcp)[0]
    page = setup(gcp, engine, ar_registry, apply=True, push_images=False)
    for what in ("Containerized execution config", "Spark config"):
        assert outcomes(page)[(what, f"gke-c1{'-spark' if what == 'Spark config' else ''}")] == (
            "skipped"
        )
    assert "image build configs" in page
    assert dss_state(gcp)[0] == before
    assert outcomes(page)[("GCS connection", "gcs-bkt-data")] == "created"


def test_a_failed_settings_save_leaves_dss_as_it_was(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    before = dss_state(gcp)
    gcp.backend.failing.append(("PUT", "/admin/general-settings"))
    page = setup(gcp, engine, ar_registry, apply=True)
    assert "Failed:" in page
    got = outcomes(page)
    assert got[("Containerized execution config", "gke-c1")] == "failed"
    assert got[("GCS connection", "gcs-bkt-data")] == "not reached"
    assert "DSS backend error" in {r["name"]: r["why"] for r in table(page, STEPS)}["gke-c1"]
    assert dss_state(gcp) == before
    assert not ar_registry.exists(f"{PROJECT}/dss-images/{EXEC}")


def test_a_repository_that_cannot_be_made_writes_nothing(gcp, emulator, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    before = dss_state(gcp)
    emulator.admin(
        "POST",
        "faults",
        {"method": "POST", "path": "/repositories", "count": 100, "kind": "error", "status": 403},
    )
    page = setup(gcp, engine, ar_registry, apply=True)
    got = outcomes(page)
    assert got.pop(("Artifact Registry repository", REGISTRY)) == "failed"
    assert set(got.values()) == {"not reached"}
    assert (
        "403"
        in {r["setting"]: r["why"] for r in table(page, STEPS)}["Artifact Registry repository"]
    )
    assert dss_state(gcp) == before
    assert "Push base images" not in page


def test_without_dss_admin_rights_the_action_says_so(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    gcp.backend.failing.append(("GET", "/admin/general-settings"))
    try:
        setup(gcp, engine, ar_registry)
    except ComponentFailed as e:
        assert e.type == "DssError" and "general-settings" in e.message
    else:
        raise AssertionError("the action went on without DSS's settings")


def test_the_registry_down_during_the_push_leaves_the_settings_complete(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    ar_registry.stop()
    page = setup(gcp, engine, ar_registry, apply=True)
    settings, connections = dss_state(gcp)
    assert config(settings, "containerSettings", "gke-c1")["repositoryURL"] == REGISTRY
    assert config(settings, "sparkSettings", "gke-c1-spark") is not None
    assert "gcs-bkt-data" in connections
    pushed = table(page, IMAGES)
    assert {r["result"] for r in pushed} == {"Failed"}
    assert "Failed:" in page
    # Once the registry is back, running it again pushes and changes no setting.
    ar_registry.start()
    again = setup(gcp, engine, ar_registry, apply=True)
    assert {r["result"] for r in table(again, IMAGES)} == {"OK"}
    assert set(outcomes(again).values()) == {"unchanged"}
    assert dss_state(gcp) == (settings, connections)


def test_keys_stay_out_of_the_report_the_settings_and_the_log(gcp, ar_registry, engine, make_key):
    key = make_key(SERVICE_ACCOUNT)
    private = json.loads(key)["private_key"].splitlines()[1]
    connection = gcp.define_preset("connection-info", "keyed", {"service_account_key": key})
    gcp.start_cluster(
        "create-gke-cluster",
        "c1",
        {"connection": connection, "node_pools": [pool(gcp, "cpu", node_count=1)]},
    )
    run = gcp.run_cluster_action(
        "setup-dss",
        "c1",
        env={"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url},
        apply=True,
        buckets=["bkt-data"],
        push_images=False,
        docker_socket=engine.socket_path,
    )
    by_hand = {(r["setting"], r["field"]): r["value"] for r in table(run.result, BY_HAND)}
    assert SERVICE_ACCOUNT in by_hand[("GCS connection gcs-bkt-data", "Service account key")]
    settings, connections = dss_state(gcp)
    assert connections["gcs-bkt-data"]["params"]["credentialsMode"] == "KEYPAIR"
    for text in (run.result, run.log, json.dumps(settings), json.dumps(connections)):
        assert private not in text and "PRIVATE KEY" not in text


def test_from_a_scenario_and_a_notebook(gcp, ar_registry, engine):
    start(gcp, "c1", [pool(gcp, "cpu", node_count=1)])
    env = {"GKE_NATIVE_REGISTRY_ENDPOINT": ar_registry.url}
    run = gcp.run_scenario_macro(
        "pyrunnable_gke-native_setup-dss",
        {"clusterId": "c1", "apply": True, "push_images": False},
        env=env,
    )
    assert outcomes(run.result)[("Spark config", "gke-c1-spark")] == "created"

    script = textwrap.dedent(
        """
        import json, dataiku
        dataiku.use_plugin_libs("gke-native")
        import dss_gke
        report = dss_gke.setup_dss_action({"push_images": False}, "c1")
        print(json.dumps({"applied": report.applied, "registry": report.registry,
                          "outcomes": sorted({s["outcome"] for s in report.to_dict()["steps"]})}))
        """
    )
    proc = subprocess.run(
        [str(gcp.python), "-c", script],
        env=gcp.process_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "applied": False,
        "registry": REGISTRY,
        "outcomes": ["by_hand", "unchanged"],
    }
