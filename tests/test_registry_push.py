"""`dss_gke.push_image` against Debian's docker-registry on loopback, read back by skopeo."""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import urllib.request

import pytest

import dss_gke
from tests.support import images
from tests.support.images import FakeDockerEngine, sha256
from tests.support.registry import PASSWORD, USER
from tests.support.token_registry import TokenRegistry

CREDS = {"username": USER, "password": PASSWORD}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def push(source, destination, tmp_path, **kwargs):
    kwargs.setdefault("cache_file", str(tmp_path / "blob-info.json"))
    return dss_gke.push_image(source, destination, **CREDS, **kwargs)


def read_back(registry, image, tmp_path, layers):
    """skopeo copies the image out (verifying every digest); each layer decompresses to the
    tar we built, in order; returns skopeo's manifest."""
    target = tmp_path / ("copy-" + hashlib.sha1(image.encode()).hexdigest()[:8])
    manifest = registry.copy_to_dir(image, target)
    got = []
    for layer in manifest["layers"]:
        data = (target / layer["digest"].split(":")[1]).read_bytes()
        assert sha256(data) == layer["digest"]
        got.append(gzip.decompress(data))
    assert got == layers
    config = json.loads((target / manifest["config"]["digest"].split(":")[1]).read_bytes())
    assert config["rootfs"]["diff_ids"] == [sha256(t) for t in layers]
    return manifest


def test_oci_layout_keeps_its_digest_and_a_re_push_skips_everything(registry, tmp_path):
    layers = images.random_layers(3, 700_000)
    layout = images.oci_layout(tmp_path / "layout", layers, tag="v1")
    dest = f"{registry.host}/dss/oci-image:v1"
    progress = []
    report = push(f"oci:{tmp_path / 'layout'}:v1", dest, tmp_path, progress=progress.append)
    assert report.digest == layout["manifest_digest"], "an all-gzip image is pushed unchanged"
    assert (report.layers_pushed, report.layers_skipped, report.layers_mounted) == (3, 0, 0)
    inspected = registry.inspect("dss/oci-image:v1")
    assert inspected["Digest"] == layout["manifest_digest"]
    assert inspected["Layers"] == layout["layers"]
    read_back(registry, "dss/oci-image:v1", tmp_path, layers)

    again = push(f"oci:{tmp_path / 'layout'}:v1", dest, tmp_path)
    assert (again.layers_pushed, again.layers_skipped) == (0, 3)
    assert again.digest == report.digest
    assert again.bytes_uploaded == 0
    html = again.to_html()
    assert "already there" in html and report.digest in html


def test_a_re_push_asks_for_its_manifest_once_and_a_lost_blob_is_pushed_again(registry, tmp_path):
    """What the repository holds already is tagged after one HEAD of its manifest, not a HEAD
    per blob; a blob the repository lost meanwhile (its manifest still there) is found missing
    and pushed again, and the image reads back whole."""
    layers = images.random_layers(3, 200_000, seed=21)
    layout = images.oci_layout(tmp_path / "layout", layers, tag="v1")
    source = f"oci:{tmp_path / 'layout'}:v1"
    first = push(source, f"{registry.host}/dss/again:v1", tmp_path)
    with TokenRegistry(registry.host, USER, PASSWORD) as front:
        again = push(source, f"{front.host}/dss/again:v2", tmp_path)
        asked = [(method, path.split("/")[-2]) for method, path in front.forwarded]
    assert (again.layers_pushed, again.layers_skipped, again.bytes_uploaded) == (0, 3, 0)
    assert asked.count(("HEAD", "manifests")) == 1 and ("PUT", "manifests") in asked, asked
    assert ("HEAD", "blobs") not in asked, asked
    assert registry.inspect("dss/again:v2")["Digest"] == first.digest

    lost = layout["layers"][1]
    request = urllib.request.Request(
        f"{registry.url}/v2/dss/again/blobs/{lost}", method="DELETE", headers=BASIC
    )
    assert urllib.request.urlopen(request, timeout=10).status == 202
    restored = push(source, f"{registry.host}/dss/again:v3", tmp_path)
    assert restored.layers_skipped == 2
    assert restored.layers_pushed + restored.layers_mounted == 1
    read_back(registry, "dss/again:v3", tmp_path, layers)


def test_progress_counts_bytes_and_layers(registry, tmp_path):
    layers = images.random_layers(2, 600_000, seed=5)
    images.oci_layout(tmp_path / "layout", layers)
    calls = []
    push(
        f"oci:{tmp_path / 'layout'}",
        f"{registry.host}/p/img",
        tmp_path,
        progress=lambda *a: calls.append(a),
    )
    done, total, layers_done, layers_total = calls[-1]
    assert layers_total == 2 and layers_done == 2
    assert done == total and total > 1_200_000
    assert all(c[0] <= c[1] for c in calls)


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_docker_archive_layers_are_compressed_and_verified(registry, tmp_path, layout):
    layers = [*images.random_layers(3, 1_300_000, seed=1), images.layer_tar({"etc/x": b"x\n"})]
    archive = tmp_path / "image.tar"
    built = images.docker_archive(archive, "dku-exec-base-abc:13.2.0", layers, layout=layout)
    dest = f"{registry.host}/dss/exec:13.2.0"
    report = push(f"docker-archive:{archive}", dest, tmp_path)
    assert report.layers_pushed == 4
    info = report.to_dict()
    assert all(layer["compressed"] for layer in info["layers"])
    manifest = read_back(registry, "dss/exec:13.2.0", tmp_path, layers)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["digest"] == built["config"]
    assert all(m["mediaType"].endswith("tar.gzip") for m in manifest["layers"])
    assert registry.inspect("dss/exec:13.2.0")["Digest"] == report.digest

    # Warm: the compressed digests are remembered, nothing is compressed or uploaded again.
    again = push(f"docker-archive:{archive}", dest, tmp_path)
    assert (again.layers_pushed, again.layers_skipped, again.bytes_uploaded) == (0, 4, 0)
    assert again.digest == report.digest


def test_blobs_of_another_repository_are_mounted(registry, tmp_path):
    layers = images.random_layers(2, 500_000, seed=2)
    images.oci_layout(tmp_path / "layout", layers)
    push(f"oci:{tmp_path / 'layout'}", f"{registry.host}/team-a/base:1", tmp_path)
    report = push(f"oci:{tmp_path / 'layout'}", f"{registry.host}/team-b/base:1", tmp_path)
    assert (report.layers_pushed, report.layers_mounted) == (0, 2)
    read_back(registry, "team-b/base:1", tmp_path, layers)


def test_docker_daemon_source(registry, tmp_path):
    layers = images.random_layers(2, 800_000, seed=3)
    archive = tmp_path / "saved.tar"
    images.docker_archive(archive, "dku-spark-base-abc:13.2.0", layers, layout="oci")
    socket_path = tmp_path / "docker.sock"
    with FakeDockerEngine(socket_path, {"dku-spark-base-abc:13.2.0": archive}) as engine:
        report = push(
            "docker-daemon:dku-spark-base-abc:13.2.0",
            f"{registry.host}/dss/spark:13.2.0",
            tmp_path,
            docker_socket=str(socket_path),
        )
        assert "/images/dku-spark-base-abc:13.2.0/get" in engine.requests
        with pytest.raises(dss_gke.RegistryError, match=r"unknown image.*docker images"):
            push(
                "docker-daemon:dku-exec-base-nope:1",
                f"{registry.host}/dss/nope:1",
                tmp_path,
                docker_socket=str(socket_path),
            )
    assert report.layers_pushed == 2
    read_back(registry, "dss/spark:13.2.0", tmp_path, layers)
    assert not registry.exists("dss/nope:1")
    leftovers = [p for p in os.listdir(os.environ.get("TMPDIR", "/tmp")) if "docker-save" in p]
    assert leftovers == [], "the spooled save stream is removed"


def test_truncated_archive_is_refused_and_nothing_is_tagged(registry, tmp_path):
    layers = images.random_layers(2, 600_000, seed=4)
    archive = tmp_path / "image.tar"
    images.docker_archive(archive, "dku-exec-base-x:1", layers)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(dss_gke.RegistryError) as info:
        push(f"docker-archive:{archive}", f"{registry.host}/dss/trunc:1", tmp_path)
    message = str(info.value)
    assert str(archive) in message and "corrupt or truncated" in message
    assert "save or copy the image again" in message
    assert not registry.exists("dss/trunc:1")


def test_digest_mismatch_is_refused_and_nothing_is_tagged(registry, tmp_path):
    layers = images.random_layers(2, 400_000, seed=6)
    layout = images.oci_layout(tmp_path / "layout", layers)
    blob = tmp_path / "layout" / "blobs" / "sha256" / layout["layers"][1].split(":")[1]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(dss_gke.RegistryError, match="digest mismatch") as info:
        push(f"oci:{tmp_path / 'layout'}", f"{registry.host}/dss/bad:1", tmp_path)
    assert "oci:" in str(info.value)
    assert not registry.exists("dss/bad:1")


def test_refused_credentials_and_unreachable_registries(registry, tmp_path):
    images.oci_layout(tmp_path / "layout", images.random_layers(1, 1000))
    source = f"oci:{tmp_path / 'layout'}"
    with pytest.raises(dss_gke.RegistryError) as info:
        dss_gke.push_image(source, f"{registry.host}/dss/x:1", username=USER, password="wrong")
    message = str(info.value)
    assert "401" in message and "check the username and password" in message
    assert (info.value.status, info.value.code) == (401, "UNAUTHORIZED")
    assert "wrong" not in message and source in message
    with pytest.raises(dss_gke.RegistryError, match="requires credentials"):
        dss_gke.push_image(source, f"{registry.host}/dss/x:1")
    with pytest.raises(dss_gke.RegistryError, match="unreachable") as info:
        dss_gke.push_image(source, "127.0.0.1:9/dss/x:1", **CREDS)
    assert PASSWORD not in str(info.value)
    assert (info.value.status, info.value.code) == (None, None)
    with pytest.raises(dss_gke.RegistryError, match=r"unknown image.*tags are \[latest\]"):
        push(f"{source}:v9", f"{registry.host}/dss/x:1", tmp_path)
    with pytest.raises(dss_gke.ValidationError, match="no known transport"):
        push(str(tmp_path), f"{registry.host}/dss/x:1", tmp_path)
    assert not registry.exists("dss/x:1")


def test_a_push_cut_by_a_registry_crash_completes_when_run_again(registry, tmp_path):
    layers = images.random_layers(5, 3_000_000, seed=7)
    archive = tmp_path / "image.tar"
    images.docker_archive(archive, "dku-exec-base-big:1", layers)
    dest = f"{registry.host}/dss/big:1"

    def crash_after_two_layers(done, total, layers_done, layers_total):
        if layers_done >= 2:
            registry.stop()

    with pytest.raises(dss_gke.RegistryError, match="run the push again"):
        push(
            f"docker-archive:{archive}",
            dest,
            tmp_path,
            parallelism=1,
            progress=crash_after_two_layers,
        )
    registry.start()
    assert not registry.exists("dss/big:1"), "no tag points at missing blobs"
    report = push(f"docker-archive:{archive}", dest, tmp_path)
    assert report.layers_skipped >= 2 and report.layers_pushed >= 1
    assert report.layers_skipped + report.layers_pushed == 5
    read_back(registry, "dss/big:1", tmp_path, layers)


def test_command_line(registry, tmp_path):
    layers = images.random_layers(1, 10_000, seed=8)
    images.oci_layout(tmp_path / "layout", layers)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dss_gke",
            "push",
            f"oci:{tmp_path / 'layout'}",
            f"{registry.host}/cli/img:2",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "REGISTRY_CREDS": f"{USER}:{PASSWORD}",
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["destination"] == f"{registry.host}/cli/img:2"
    assert registry.inspect("cli/img:2")["Digest"] == report["digest"]
    cache = tmp_path / "cache" / "gke-native" / "blob-info.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert PASSWORD not in cache.read_text()


@pytest.mark.parametrize("source_kind", ["oci", "docker-archive"])
def test_a_registry_token_that_expires_mid_push_is_renewed(registry, tmp_path, source_kind):
    """Behind a token service (as Artifact Registry's docker endpoint), the token expiring at
    any request of the push (a HEAD, an upload's start, a streamed layer, the manifest) costs a
    new token, not the push."""
    layers = images.random_layers(2, 300_000, seed=11)
    if source_kind == "oci":
        images.oci_layout(tmp_path / "layout", layers, tag="v1")
        source = f"oci:{tmp_path / 'layout'}:v1"
    else:
        images.docker_archive(tmp_path / "image.tar", "dku-exec-base-t:1", layers)
        source = f"docker-archive:{tmp_path / 'image.tar'}"
    refused = set()
    with TokenRegistry(registry.host, USER, PASSWORD) as front:
        # The token expires at the 1st, 2nd, … request after login, until the push is over first.
        for expire_after in range(1, 40):
            front.expire_after(expire_after)
            issued, seen = front.tokens_issued, len(front.refused)
            image = f"dss/renewed-{expire_after}:v1"
            report = dss_gke.push_image(
                source,
                f"{front.host}/{image}",
                **CREDS,
                parallelism=1,
                cache_file=str(tmp_path / f"blobs-{expire_after}.json"),
            )
            assert report.layers_pushed == 2
            read_back(registry, image, tmp_path, layers)
            if len(front.refused) == seen:
                assert front.tokens_issued - issued == 1  # the push ended first
                break
            assert front.tokens_issued - issued == 2, expire_after  # at the start, once more
            assert len(front.refused) - seen == 1, (expire_after, front.refused)
            method, path = front.refused[-1]
            refused.add((method, path.split("/")[-2]))  # e.g. ("PATCH", "uploads")
    # Replayed requests (blob checks, upload starts, the config, the manifest) and streamed
    # layers (a PUT of a stored gzip layer, a PATCH of one compressed on the way) alike.
    streamed = ("PUT", "uploads") if source_kind == "oci" else ("PATCH", "uploads")
    assert {("HEAD", "blobs"), ("POST", "uploads"), ("PUT", "manifests"), streamed} <= refused, (
        refused
    )


def test_dot_segments_and_invalid_components_are_refused_before_any_request(registry, tmp_path):
    images.oci_layout(tmp_path / "layout", images.random_layers(1, 1000))
    source = f"oci:{tmp_path / 'layout'}"
    for destination, says in [
        (f"{registry.host}/team-a/../team-b/img:1", "'..' path component"),
        (f"{registry.host}/team-a/./img:1", "'.' path component"),
        (f"{registry.host}/team-a//img:1", "empty path component"),
        (f"{registry.host}/-team/img:1", "invalid path component '-team'"),
        (f"{registry.host}/team/img:.1", "invalid tag"),
    ]:
        with pytest.raises(dss_gke.ValidationError) as info:
            push(source, destination, tmp_path)
        assert f"destination: '{destination}' " in str(info.value)
        assert says in str(info.value)
    assert not registry.exists("team-b/img:1")
