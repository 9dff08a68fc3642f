"""`python -m dss_gke`: the command line a DSS admin runs on the DSS host."""

import json
import subprocess
import sys

import dss_gke


def run(*args):
    return subprocess.run([sys.executable, "-m", "dss_gke", *args], capture_output=True, text=True)


def test_version():
    proc = run("version")
    assert proc.returncode == 0 and proc.stdout.strip() == dss_gke.__version__


def test_env_reports_the_gce_host(metadata_server):
    proc = run("env", "--metadata-host", metadata_server.host)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["gce"]["zone"] == "europe-west1-b"


def test_bad_input_is_one_clear_line():
    proc = run("env", "--metadata-host", "not a host")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: The configuration has 1 problem")
    assert "metadata host" in proc.stderr and "Traceback" not in proc.stderr
