import os
import pathlib
import zipfile

import pytest

from tests.dsshost import DssHost, make_code_env
from tests.support.emulator import HOST, Emulator
from tests.support.gcs import FakeGcs
from tests.support.metadata import MetadataServer

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def plugin_zip() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("GKE_NATIVE_ZIP", ""))
    if not path.is_file():
        pytest.fail(
            "GKE_NATIVE_ZIP does not name the built plugin zip: run the tests with `make test`"
        )
    return path


@pytest.fixture(scope="session")
def code_env(plugin_zip, tmp_path_factory) -> pathlib.Path:
    """The plugin's code env, built from the zip's code-env spec only (no dss_gke wheel)."""
    spec = tmp_path_factory.mktemp("code-env-spec")
    with zipfile.ZipFile(plugin_zip) as z:
        for name in z.namelist():
            if name.startswith("code-env/"):
                z.extract(name, spec)
    return make_code_env(spec, tmp_path_factory.mktemp("code-env") / "venv")


@pytest.fixture
def dss(plugin_zip, code_env, tmp_path) -> DssHost:
    """A DSS host with the built gke-native zip installed."""
    host = DssHost(tmp_path / "dip_home", code_env)
    host.install(plugin_zip)
    return host


@pytest.fixture
def metadata_server():
    with MetadataServer() as server:
        yield server


@pytest.fixture
def emulator(tmp_path):
    """gke-emulator describing the DSS host of tests.support.emulator.HOST."""
    emu = Emulator(tmp_path / "emulator-state.json").start()
    emu.admin("PUT", "metadata", HOST)
    yield emu
    emu.stop()


@pytest.fixture
def gcp(dss, emulator, tmp_path):
    """The DSS host harness wired to the emulator, as a DSS host on GCE."""
    home = tmp_path / "home"
    home.mkdir()
    dss.extra_env.update(emulator.env(home))
    return dss


@pytest.fixture
def fake_gcs():
    """fake-gcs-server on loopback (in memory) with a bucket "bkt"."""
    server = FakeGcs().start()
    server.create_bucket("bkt")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def registry(tmp_path):
    """docker-registry on loopback (htpasswd auth, on-disk storage kept across restarts)."""
    from tests.support.registry import LocalRegistry

    server = LocalRegistry(tmp_path / "registry").start()
    try:
        yield server
    finally:
        server.close()
