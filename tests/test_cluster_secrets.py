"""A service-account key given in the connection: used, and never seen where it should not be."""

import json
import os
import stat
import subprocess

import pytest

from tests.dsshost import ComponentFailed
from tests.support.clusters import PROJECT, ZONE

KEY_EMAIL = f"dss-runner@{PROJECT}.iam.gserviceaccount.com"


@pytest.fixture
def key_json(make_key):
    return make_key(KEY_EMAIL)


def secret_marks(key_json):
    """Pieces of the key that must never leak: its PEM body lines."""
    pem = json.loads(key_json)["private_key"]
    return [line for line in pem.splitlines() if len(line) > 40][:3]


def test_key_is_used_and_never_leaks(gcp, emulator, key_json, tmp_path):
    conn = gcp.define_preset("connection-info", "keyed", {"service_account_key": key_json})
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu"})
    config = {"connection": conn, "node_pools": [pool]}
    run = gcp.start_cluster("create-gke-cluster", "keyed", config)
    settings, data = run.value
    assert data["identity"] == KEY_EMAIL
    identities = {r.get("identity") for r in emulator.requests() if r.get("cluster")}
    assert identities == {KEY_EMAIL}

    kubeconfig = settings["container"]["executionConfigsGenericOverrides"]["kubeConfigPath"]
    env = {**os.environ, **{k: v for k, v in emulator.env(tmp_path / "home").items() if v}}
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    out = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "get", "clusterrolebindings", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    subjects = [s["name"] for b in json.loads(out.stdout)["items"] for s in b.get("subjects", [])]
    assert KEY_EMAIL in subjects

    marks = secret_marks(key_json)
    visible = run.log + json.dumps(settings) + json.dumps(data) + json.dumps(emulator.requests())
    assert not [m for m in marks if m in visible]
    # Every file the plugin wrote that holds the key or a token is private to DSS's user.
    for path in gcp.cluster_dir("keyed").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            if any(m in text for m in marks) or "token" in path.name:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    gcp.stop_cluster("keyed")


def test_bad_key_names_the_field_not_the_secret(gcp, emulator, key_json):
    broken = key_json.replace('"type": "service_account"', '"type": "service_account" oops')
    conn = gcp.define_preset("connection-info", "broken", {"service_account_key": broken})
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu"})
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "c", {"connection": conn, "node_pools": [pool]})
    assert info.value.type == "ValidationError"
    assert "GKE connection › Service-account key: is not valid JSON" in info.value.message
    leaked = info.value.message + info.value.log + info.value.traceback
    assert not [m for m in secret_marks(key_json) if m in leaked]
    assert [r for r in emulator.google_requests() if r["method"] != "GET"] == []


def test_actions_and_notebooks_act_with_the_key(gcp, emulator, key_json, tmp_path, monkeypatch):
    conn = gcp.define_preset("connection-info", "keyed", {"service_account_key": key_json})
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu", "node_count": 1})
    _, data = gcp.start_cluster(
        "create-gke-cluster", "acts", {"connection": conn, "node_pools": [pool]}
    ).value
    # The data holds neither the key nor where a copy of it is: actions read the preset.
    assert not [m for m in secret_marks(key_json) if m in json.dumps(data)]
    assert "key" not in json.dumps(data)

    emulator.admin("DELETE", "requests")
    run = gcp.run_macro("cluster-health", {"clusterId": "acts"})
    assert "OK: running, every node Ready" in run.result
    identities = {r.get("identity") for r in emulator.requests() if r.get("cluster")}
    assert identities == {KEY_EMAIL}

    # A notebook given the key as a dict.
    import dss_gke

    for key, value in emulator.env(tmp_path / "home").items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    gke = dss_gke.Gke(PROJECT, ZONE, credentials=json.loads(key_json))
    cluster = gke.cluster("acts")
    emulator.admin("DELETE", "requests")
    assert cluster.node_pools()["cpu"].ready == 1
    assert {r.get("identity") for r in emulator.requests() if r.get("cluster")} == {KEY_EMAIL}
    kubeconfig = cluster.kubeconfig(tmp_path / "nb" / "kubeconfig")
    for path in (tmp_path / "nb").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not [m for m in secret_marks(key_json) if m in open(kubeconfig).read() + repr(gke)]


def written_text(dss, tmp_path):
    """Every file written during the test (the DSS host, its home, the temp dir's gke-native
    files), but the harness's record of the config it was given (which DSS keeps too)."""
    roots = [dss.dip_home, tmp_path / "home"]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.name != "context.json":
                yield path, path.read_text(errors="replace")


def pasted_variants(key_json):
    pem = json.loads(key_json)["private_key"]
    return {
        "pem": pem,
        "wrapped": f"[{key_json}]",
        "prefixed": f"key = {key_json}",
        "pem-body-line": secret_marks(key_json)[0],
    }


@pytest.mark.parametrize("variant", ["pem", "wrapped", "prefixed", "pem-body-line"])
def test_pasted_key_material_is_refused_and_never_shown(gcp, emulator, key_json, variant, tmp_path):
    pasted = pasted_variants(key_json)[variant]
    conn = gcp.define_preset("connection-info", "pasted", {"service_account_key": pasted})
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu"})
    with pytest.raises(ComponentFailed) as info:
        gcp.start_cluster("create-gke-cluster", "c", {"connection": conn, "node_pools": [pool]})
    assert info.value.type == "ValidationError"
    assert (
        "GKE connection › Service-account key: is not a JSON key or a readable key file path "
        "(its text is not shown)" in info.value.message
    )
    pem_lines = [line for line in json.loads(key_json)["private_key"].splitlines() if line]
    marks = [m for m in pem_lines if "-----" not in m]
    shown = info.value.message + info.value.log + info.value.traceback
    assert not [m for m in marks if m in shown]
    for path, text in written_text(gcp, tmp_path):
        assert not [m for m in marks if m in text], path
    assert [r for r in emulator.google_requests() if r["method"] != "GET"] == []


def test_a_key_with_a_byte_order_mark_is_used(gcp, emulator, key_json, tmp_path):
    """Editors on Windows save UTF-8 with a BOM; pasted or in a file, it is the same key."""
    conn = gcp.define_preset(
        "connection-info", "bom", {"service_account_key": "\ufeff" + key_json + "\r\n"}
    )
    pool = gcp.define_preset("node-pool-request", "cpu", {"name": "cpu"})
    run = gcp.start_cluster("create-gke-cluster", "bom", {"connection": conn, "node_pools": [pool]})
    settings, data = run.value
    assert data["identity"] == KEY_EMAIL
    marks = secret_marks(key_json)
    assert not [m for m in marks if m in run.log + json.dumps(settings) + json.dumps(data)]
    for path, text in written_text(gcp, tmp_path):
        if any(m in text for m in marks):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert "\ufeff" not in text, path  # the helper's copy is the key itself
