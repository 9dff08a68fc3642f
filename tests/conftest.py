"""Fixtures of the Python tests: the built plugin zip and its code env, a DSS host harness with
the plugin installed, gke-emulator as the DSS host's Google Cloud, and loopback stand-ins
(metadata server, fake-gcs-server, docker-registry, Docker Engine)."""

import json
import os
import pathlib
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.dsshost import DssHost, make_code_env
from tests.support import images
from tests.support.emulator import HOST, Emulator
from tests.support.gcs import FakeGcs
from tests.support.images import FakeDockerEngine
from tests.support.metadata import MetadataServer
from tests.support.registry import TOKEN, TOKEN_USER, LocalRegistry

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
    yield host
    host.close()


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
def on_dss_host(emulator, tmp_path, monkeypatch):
    """This process as a notebook kernel on the emulated DSS host."""
    (tmp_path / "home").mkdir()
    for key, value in emulator.env(tmp_path / "home").items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    return emulator


@pytest.fixture
def gcp(dss, emulator, tmp_path):
    """The DSS host harness wired to the emulator, as a DSS host on GCE."""
    home = tmp_path / "home"
    home.mkdir()
    dss.extra_env.update(emulator.env(home))
    return dss


@pytest.fixture
def make_key(emulator):
    """`make_key(email)`: a new service-account key (JSON text) the emulator's token endpoint
    accepts, for that service account."""

    def make(email: str) -> str:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "project_id": HOST["projectId"],
                "private_key_id": "0123456789abcdef",
                "private_key": pem,
                "client_email": email,
                "client_id": "1234567890",
                "token_uri": f"{emulator.url}/token",
            }
        )

    return make


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
    server = LocalRegistry(tmp_path / "registry").start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ar_registry(tmp_path):
    """docker-registry standing in for REGION-docker.pkg.dev: only `oauth2accesstoken` with the
    emulated host's access token may push."""
    server = LocalRegistry(tmp_path / "ar-registry", users={TOKEN_USER: TOKEN}).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def engine(tmp_path):
    """A fake Docker Engine holding DSS's two base images and one other."""
    layers = images.random_layers(2, 300_000, seed=11)
    exec_tar, spark_tar, other_tar = (tmp_path / n for n in ("exec.tar", "spark.tar", "other.tar"))
    images.docker_archive(exec_tar, "dku-exec-base-abc123:13.2.0", layers, layout="oci")
    images.docker_archive(spark_tar, "dku-spark-base-abc123:13.2.0", layers[:1], layout="legacy")
    images.docker_archive(other_tar, "postgres:16", layers[1:])
    with FakeDockerEngine(
        tmp_path / "docker.sock",
        {
            "dku-exec-base-abc123:13.2.0": exec_tar,
            "dku-spark-base-abc123:13.2.0": spark_tar,
            "postgres:16": other_tar,
        },
    ) as fake:
        fake.layers = layers
        yield fake
