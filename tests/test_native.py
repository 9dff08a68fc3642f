"""The native module from plain Python: version, errors raised from Rust, logging, GIL, Ctrl-C."""

import json
import logging
import pathlib
import re
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import dss_gke
from tests.support.html import table

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_version_is_the_one_of_cargo_and_plugin_json():
    cargo = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    plugin = json.loads((ROOT / "plugin.json").read_text())["version"]
    assert dss_gke.__version__ == cargo == plugin


def test_exception_hierarchy():
    for name in (
        "ValidationError",
        "ApiError",
        "NotFoundError",
        "OperationFailed",
        "OperationTimeout",
        "AuthError",
        "RegistryError",
        "StorageError",
        "FileError",
    ):
        cls = getattr(dss_gke, name)
        assert issubclass(cls, dss_gke.GkeError), name
        assert cls.__module__ == "dss_gke._native", name
    assert issubclass(dss_gke.NotFoundError, dss_gke.ApiError)
    assert issubclass(dss_gke.GkeError, Exception)


def test_python_raises_validation_errors_with_problems():
    e = dss_gke._native.validation_error("Cluster", "choose the DSS cluster to work on")
    assert type(e) is dss_gke.ValidationError
    assert e.problems == [{"field": "Cluster", "message": "choose the DSS cluster to work on"}]
    assert str(e) == (
        "The configuration has 1 problem; nothing was changed:\n"
        "  - Cluster: choose the DSS cluster to work on"
    )


def test_validation_error_names_the_field_and_calls_nothing(metadata_server):
    with pytest.raises(dss_gke.ValidationError) as info:
        dss_gke.environment_report(metadata_host="http://" + metadata_server.host)
    assert info.value.problems == [
        {
            "field": "metadata host",
            "message": f"'http://{metadata_server.host}' is not a host name with an optional "
            "port, e.g. 169.254.169.254 or localhost:8080",
        }
    ]
    assert "nothing was changed" in str(info.value)
    with pytest.raises(dss_gke.ValidationError, match="timeout"):
        dss_gke.environment_report(metadata_host=metadata_server.host, timeout=-1)
    assert metadata_server.requests == []


def test_api_error_keeps_what_the_server_said(metadata_server):
    body = {"error": {"code": 403, "message": "caller lacks scope", "status": "PERMISSION_DENIED"}}
    metadata_server.errors["instance/zone"] = (403, body)
    with pytest.raises(dss_gke.ApiError) as info:
        dss_gke.environment_report(metadata_host=metadata_server.host)
    e = info.value
    assert (e.status, e.code, e.message) == (403, "PERMISSION_DENIED", "caller lacks scope")
    assert e.request == "GET /computeMetadata/v1/instance/zone"
    assert "grant the role" in str(e)


def test_server_errors_are_retried_then_reported(metadata_server):
    metadata_server.errors["instance/name"] = (503, "backend restarting")
    with pytest.raises(dss_gke.ApiError) as info:
        dss_gke.environment_report(metadata_host=metadata_server.host)
    assert (info.value.status, info.value.code) == (503, "UNAVAILABLE")
    assert metadata_server.requests.count("instance/name") == 4


def test_report_of_a_gce_host(metadata_server):
    report = dss_gke.environment_report(metadata_host=metadata_server.host)
    assert report.on_gce and report.version == dss_gke.__version__
    data = report.to_dict()
    assert data["gce"] == {
        "project_id": "dss-prod-1234",
        "zone": "europe-west1-b",
        "region": "europe-west1",
        "instance_name": "dss-host",
        "network": "projects/123456789/networks/dss-vpc",
        "ip": "10.132.0.7",
        "service_account": "dss-host@dss-prod-1234.iam.gserviceaccount.com",
    }
    assert data["tls"] == "rustls"
    facts = table(report._repr_html_(), ["Host fact", "Value"])
    assert {"Host fact": "Project", "Value": "dss-prod-1234"} in facts


def test_off_google_cloud_nothing_answers():
    # A port nobody listens on: the check says "not on GCE" at once instead of failing.
    report = dss_gke.environment_report(metadata_host="127.0.0.1:9", timeout=1)
    assert not report.on_gce and report.to_dict()["gce"] is None
    assert "does not look like a Google Cloud VM" in report.to_html()


def test_rust_events_reach_python_logging(metadata_server, caplog):
    caplog.set_level(logging.DEBUG, logger="dss_gke")
    dss_gke.environment_report(metadata_host=metadata_server.host)
    ours = [(r.name, r.levelname) for r in caplog.records if r.name == "dss_gke.google.metadata"]
    assert ("dss_gke.google.metadata", "DEBUG") in ours
    assert ("dss_gke.google.metadata", "INFO") in ours
    info = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert any("DSS host is GCE instance dss-host in project dss-prod-1234" in m for m in info)
    assert all(r.name.startswith("dss_gke") for r in caplog.records if r.name != "root")


def test_the_dss_log_level_is_honoured(metadata_server, caplog):
    caplog.set_level(logging.WARNING, logger="dss_gke")
    dss_gke.environment_report(metadata_host=metadata_server.host)
    assert [r for r in caplog.records if r.name.startswith("dss_gke")] == []


def test_the_gil_is_released_while_waiting(metadata_server):
    metadata_server.delay = 0.2  # seven requests: about 1.4 s of waiting on the network
    done = threading.Event()
    ticks = 0

    def call():
        dss_gke.environment_report(metadata_host=metadata_server.host)
        done.set()

    worker = threading.Thread(target=call)
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.01)
    worker.join()
    # Had the call held the GIL, this thread could not have run during the wait.
    assert ticks > 50


def test_ctrl_c_interrupts_a_wait(metadata_server):
    metadata_server.delay = 30
    script = textwrap.dedent(
        f"""
        import signal, time, dss_gke
        # A process started in the background inherits SIGINT ignored; a kernel handles it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        start = time.monotonic()
        try:
            dss_gke.environment_report(metadata_host="{metadata_server.host}", timeout=60)
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - start, 1))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)
    proc.send_signal(2)
    out, err = proc.communicate(timeout=10)
    assert "interrupted after" in out, err
    assert float(out.split()[-1]) < 5
