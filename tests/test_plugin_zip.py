"""The installable zip: DSS's layout, a native module for AlmaLinux 8, no OpenSSL, loadable."""

import json
import re
import subprocess
import zipfile

import pytest

import dss_gke
from tests.dsshost import validate_plugin

SO = "python-lib/dss_gke/_native.abi3.so"


@pytest.fixture(scope="module")
def names(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as z:
        return set(z.namelist())


@pytest.fixture(scope="module")
def unzipped(plugin_zip, tmp_path_factory):
    target = tmp_path_factory.mktemp("plugin")
    with zipfile.ZipFile(plugin_zip) as z:
        z.extractall(target)
    return target


def test_zip_name_carries_the_version(plugin_zip):
    assert plugin_zip.name == f"dss-plugin-gke-native-{dss_gke.__version__}.zip"


def test_zip_layout_is_the_one_dss_reads(names):
    for required in (
        "plugin.json",
        "code-env/python/desc.json",
        "code-env/python/spec/requirements.txt",
        "python-lib/dss_gke/__init__.py",
        "python-lib/dss_gke/_native.pyi",
        SO,
        "python-runnables/check-dss-host/runnable.json",
        "python-runnables/check-dss-host/runnable.py",
    ):
        assert required in names, required
    tops = {n.split("/")[0] for n in names}
    allowed = {
        "plugin.json",
        "python-lib",
        "python-runnables",
        "python-clusters",
        "parameter-sets",
        "custom-recipes",
        "python-steps",
        "code-env",
        "resource",
    }
    assert tops <= allowed, tops - allowed
    assert not any(n.startswith("cluster-actions/") for n in names)


def test_nothing_of_the_tests_or_builds_enters_the_zip(names):
    assert not [
        n for n in names if re.search(r"(^|/)dataiku/|__pycache__|\.pyc$|gke.emulator|README", n)
    ]
    assert not [n for n in names if n.endswith(".so") and n != SO]


def test_descriptors_in_the_zip_are_valid(unzipped):
    assert validate_plugin(unzipped) == []
    assert json.loads((unzipped / "plugin.json").read_text())["id"] == "gke-native"


def glibc_versions(so_path):
    out = subprocess.run(
        ["readelf", "--version-info", "--wide", str(so_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", out)}


def test_native_module_needs_at_most_glibc_2_28(unzipped):
    versions = glibc_versions(unzipped / SO)
    assert versions, "readelf found no GLIBC symbol versions"
    assert max(versions) <= (2, 28), f"needs GLIBC {'.'.join(map(str, max(versions)))}"


def test_native_module_links_no_openssl(unzipped):
    dynamic = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(unzipped / SO)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    assert needed, dynamic
    assert not [lib for lib in needed if re.search(r"libssl|libcrypto", lib)], needed
    assert not [lib for lib in needed if lib.startswith("libpython")], needed


def test_module_imports_from_the_unzipped_tree_in_the_code_env(unzipped, code_env):
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dss_gke; "
        "print(dss_gke.__version__, dss_gke.__file__)"
    )
    proc = subprocess.run(
        [str(code_env), "-c", script, str(unzipped / "python-lib")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    version, location = proc.stdout.split()
    assert version == dss_gke.__version__
    assert location.startswith(str(unzipped))


def test_code_env_has_nothing_but_its_requirements(code_env):
    proc = subprocess.run([str(code_env), "-c", "import dss_gke"], capture_output=True, text=True)
    assert proc.returncode != 0 and "No module named 'dss_gke'" in proc.stderr
