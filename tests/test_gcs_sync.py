"""The GCS sync against fake-gcs-server: through `dss_gke.gcs_sync` as a notebook calls it, and
through the "Sync folder with GCS" recipe in the DSS host harness. What we wrote is read back
with Google's Python client and compared byte for byte."""

import gzip
import json
import os
import pathlib
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import dss_gke
from tests.support.gcs import FakeGcs, GcsProxy, ResumableGcs

BIG = 17 * 2**20  # above the 16 MiB threshold: a resumable upload

# A notebook's sync in a process of its own, killed by the test mid-upload.
SYNC_SCRIPT = """
import logging, sys
import dss_gke
logging.basicConfig(level=logging.DEBUG)
dss_gke.gcs_sync(sys.argv[1], sys.argv[2], endpoint=sys.argv[3], parallelism=1)
"""


@pytest.fixture(autouse=True)
def upload_sessions(tmp_path_factory, monkeypatch):
    """Saved upload sessions go to a directory of the test's, not the user's cache."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("GKE_NATIVE_STATE_DIR", str(state))
    return state


def make_tree(root: pathlib.Path) -> dict:
    files = {
        "a.txt": b"hello",
        "empty": b"",
        "sub/dir/data.bin": os.urandom(300_000),
        "sub/ünïcode name+%.csv": b"x,y\n1,2\n",
        "big.bin": os.urandom(BIG),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def actions(report) -> dict:
    return {e["path"]: e["action"] for e in report.entries()}


def test_upload_is_incremental_and_byte_exact(fake_gcs, tmp_path):
    files = make_tree(tmp_path)
    calls = []
    report = dss_gke.gcs_sync(
        tmp_path,
        "gs://bkt/in",
        endpoint=fake_gcs.url,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert actions(report) == dict.fromkeys(files, "uploaded"), report.summary
    assert report.failed == 0
    total = sum(map(len, files.values()))
    assert calls[-1] == (total, total)
    assert fake_gcs.objects("bkt", "in/") == {f"in/{k}": v for k, v in files.items()}

    again = dss_gke.gcs_sync(str(tmp_path), "gs://bkt/in/", endpoint=fake_gcs.url)
    assert set(actions(again).values()) == {"skipped"}
    assert {e["reason"] for e in again.entries()} == {"same size and CRC32C"}

    (tmp_path / "a.txt").write_bytes(b"HELLO")  # same size, other content
    (tmp_path / "new.txt").write_bytes(b"new")
    (tmp_path / "empty").unlink()
    plan = dss_gke.gcs_sync(tmp_path, "gs://bkt/in", endpoint=fake_gcs.url, dry_run=True)
    assert actions(plan)["a.txt"] == "would upload"
    assert actions(plan)["new.txt"] == "would upload"
    assert actions(plan)["empty"] == "skipped"  # deletion is off
    assert fake_gcs.objects("bkt", "in/a.txt") == {"in/a.txt": b"hello"}  # dry run: unchanged

    done = dss_gke.gcs_sync(tmp_path, "gs://bkt/in", endpoint=fake_gcs.url, delete_extra=True)
    got = actions(done)
    assert (got["a.txt"], got["new.txt"], got["empty"]) == ("uploaded", "uploaded", "deleted")
    rows = {e["path"]: e for e in done.entries()}
    assert rows["a.txt"]["reason"] == "CRC32C differs" and rows["a.txt"]["bytes"] == 5
    assert got["big.bin"] == "skipped"
    objects = fake_gcs.objects("bkt", "in/")
    assert "in/empty" not in objects and objects["in/a.txt"] == b"HELLO"
    assert "<table" in done.to_html()


def test_download_verifies_and_mirrors(fake_gcs, tmp_path):
    bucket = fake_gcs.client().bucket("bkt")
    content = {"x/1.bin": os.urandom(70_000), "x/2.txt": b"two", "top": b"t" * 10}
    for name, data in content.items():
        bucket.blob(f"pre/{name}").upload_from_string(data)
    bucket.blob("pre/folder-placeholder/").upload_from_string(b"")
    bucket.blob("elsewhere").upload_from_string(b"not under the prefix")
    (tmp_path / "stale.txt").write_text("only here")
    (tmp_path / "top").write_bytes(b"T" * 10)

    report = dss_gke.gcs_sync("gs://bkt/pre", tmp_path, endpoint=fake_gcs.url, delete_extra=True)
    assert actions(report) == {
        "x/1.bin": "downloaded",
        "x/2.txt": "downloaded",
        "top": "downloaded",
        "stale.txt": "deleted",
    }
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in files} == content
    again = dss_gke.gcs_sync("gs://bkt/pre", tmp_path, endpoint=fake_gcs.url)
    assert set(actions(again).values()) == {"skipped"}


# With the x-goog-hash header (as GCS sends it), Google's client checks the CRC32C; without it,
# the sync checks it itself.
@pytest.mark.parametrize("announced", [True, False], ids=["hash-announced", "hash-not-announced"])
def test_a_download_corrupted_on_the_way_never_becomes_a_file(announced, fake_gcs, tmp_path):
    # A small object (received whole, then written) and a large one (written as it comes, in
    # batches): neither appears, nor replaces the file already there, nor leaves a part file.
    bucket = fake_gcs.client().bucket("bkt")
    content = {"small.bin": os.urandom(10_000), "large.bin": os.urandom(3 * 2**20)}
    for name, data in content.items():
        bucket.blob(f"c/{name}").upload_from_string(data)
    (tmp_path / "large.bin").write_bytes(b"the user's own large.bin")
    with GcsProxy(fake_gcs) as proxy:
        proxy.corrupt_downloads = True
        proxy.strip_download_hash = not announced
        report = dss_gke.gcs_sync("gs://bkt/c", tmp_path, endpoint=proxy.url)
    assert actions(report) == {"small.bin": "failed", "large.bin": "failed"}
    # One clear reason, whoever saw the mismatch (no hint about the endpoint: it answered).
    reasons = {e["reason"] for e in report.entries()}
    assert len(reasons) == 1 and "do not match the object's checksum" in reasons.pop(), reasons
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.bin"]
    assert (tmp_path / "large.bin").read_bytes() == b"the user's own large.bin"
    again = dss_gke.gcs_sync("gs://bkt/c", tmp_path, endpoint=fake_gcs.url)
    assert actions(again) == {"small.bin": "downloaded", "large.bin": "downloaded"}
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == content


def test_a_gzip_encoded_object_is_downloaded_as_stored(fake_gcs, tmp_path):
    # GCS decompresses an object stored with Content-Encoding: gzip unless the client asks for
    # gzip; the sync asks for it for such objects (and only them), so what it writes is what
    # the bucket holds, verified against the stored size and CRC32C.
    stored = gzip.compress(b"a line of text\n" * 5000)
    blob = fake_gcs.client().bucket("bkt").blob("z/log.txt")
    blob.content_encoding = "gzip"
    blob.upload_from_string(stored, content_type="text/plain")
    (tmp_path / "plain.txt").write_bytes(b"beside it")
    dss_gke.gcs_sync(tmp_path, "gs://bkt/z", endpoint=fake_gcs.url)
    out = tmp_path / "out"
    out.mkdir()
    report = dss_gke.gcs_sync("gs://bkt/z", out, endpoint=fake_gcs.url)
    assert actions(report) == {"log.txt": "downloaded", "plain.txt": "downloaded"}
    assert (out / "log.txt").read_bytes() == stored
    assert (out / "plain.txt").read_bytes() == b"beside it"


def test_md5_is_compared_when_objects_have_no_crc32c(fake_gcs, tmp_path):
    (tmp_path / "f").write_bytes(b"same")
    dss_gke.gcs_sync(tmp_path, "gs://bkt", endpoint=fake_gcs.url)
    with GcsProxy(fake_gcs) as proxy:
        proxy.strip_crc32c = True
        report = dss_gke.gcs_sync(tmp_path, "gs://bkt", endpoint=proxy.url)
        assert report.entries()[0]["reason"] == "same size and MD5"
        (tmp_path / "f").write_bytes(b"SAME")
        report = dss_gke.gcs_sync(tmp_path, "gs://bkt", endpoint=proxy.url)
        assert report.entries()[0]["reason"] == "MD5 differs"
    assert fake_gcs.objects("bkt") == {"f": b"SAME"}


def test_emulator_host_from_the_environment(fake_gcs, tmp_path, monkeypatch):
    (tmp_path / "f").write_bytes(b"env")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.host)  # host:port, no scheme
    dss_gke.gcs_sync(tmp_path, "gs://bkt/e", parallelism=1)
    assert fake_gcs.objects("bkt", "e/") == {"e/f": b"env"}


class ChangingFolder:
    """A DSS folder (streaming API) whose file "moving" is rewritten while it is read."""

    def __init__(self, root: pathlib.Path):
        self.name = "changing"
        self.root = root

    def list_paths_in_partition(self, partition=""):
        return sorted("/" + p.relative_to(self.root).as_posix() for p in self.root.rglob("*"))

    def get_path_details(self, path="/"):
        stat = (self.root / path.lstrip("/")).stat()
        return {"exists": True, "directory": False, "size": stat.st_size,
                "lastModified": int(stat.st_mtime * 1000)}  # fmt: skip

    def get_download_stream(self, path):
        target = self.root / path.lstrip("/")
        stream = open(target, "rb")
        if target.name != "moving":
            return stream

        class Rewriting:
            rewritten = False

            def read(self, n=-1):
                data = stream.read(n)
                if not self.rewritten:
                    self.rewritten = True
                    target.write_bytes(os.urandom(target.stat().st_size))
                    os.utime(target, (1, 1))
                return data

            def close(self):
                stream.close()

        return Rewriting()

    def upload_stream(self, path, f):
        raise AssertionError("not used for uploads")

    def delete_path(self, path):
        raise AssertionError("not used for uploads")


@pytest.mark.parametrize("size", [10 * 2**20, BIG], ids=["one request", "resumable"])
def test_a_file_changing_during_the_upload_is_detected(fake_gcs, tmp_path, size):
    (tmp_path / "moving").write_bytes(os.urandom(size))  # streamed, not held whole
    (tmp_path / "still").write_bytes(b"calm")
    report = dss_gke.gcs_sync(ChangingFolder(tmp_path), "gs://bkt/c", endpoint=fake_gcs.url)
    rows = {e["path"]: e for e in report.entries()}
    assert rows["still"]["action"] == "uploaded"
    assert rows["moving"]["action"] == "failed"
    assert "changed while it was being uploaded" in rows["moving"]["reason"]
    assert fake_gcs.objects("bkt", "c/") == {"c/still": b"calm"}  # no mixed object left
    with pytest.raises(dss_gke.StorageError, match="1 of 2 files failed"):
        report.check()


def test_bad_bucket_is_a_clear_storage_error(fake_gcs, tmp_path):
    with pytest.raises(dss_gke.StorageError, match=r"404 .*check the bucket name") as info:
        dss_gke.gcs_sync(tmp_path, "gs://no-such-bucket/x", endpoint=fake_gcs.url)
    assert info.value.status == 404
    with pytest.raises(dss_gke.ValidationError, match="bucket name"):
        dss_gke.gcs_sync(tmp_path, "gs://No_Such", endpoint=fake_gcs.url)
    with pytest.raises(dss_gke.ValidationError, match="one must be a gs://"):
        dss_gke.gcs_sync(tmp_path, tmp_path)


def test_refused_credentials_are_a_clear_storage_error(fake_gcs, tmp_path):
    with GcsProxy(fake_gcs) as proxy:
        proxy.status_for_all = 401
        with pytest.raises(dss_gke.StorageError, match="credentials were not accepted") as info:
            dss_gke.gcs_sync(tmp_path, "gs://bkt/x", endpoint=proxy.url)
        assert info.value.status == 401
        proxy.status_for_all = 403
        with pytest.raises(dss_gke.StorageError, match="lacks a permission") as info:
            dss_gke.gcs_sync(tmp_path, "gs://bkt/x", endpoint=proxy.url)
        assert (info.value.status, info.value.code) == (403, "PERMISSION_DENIED")
    with pytest.raises(dss_gke.ValidationError, match="not a service-account key"):
        dss_gke.gcs_sync(tmp_path, "gs://bkt/x", endpoint=fake_gcs.url, key='{"type": "user"}')


def test_permission_denied_stops_the_sync_with_a_storage_error(fake_gcs, tmp_path):
    for i in range(20):
        (tmp_path / f"f{i}").write_bytes(b"x" * i)
    with GcsProxy(fake_gcs) as proxy:
        proxy.refuse_writes = 403
        report = dss_gke.gcs_sync(tmp_path, "gs://bkt/x", endpoint=proxy.url, parallelism=2)
        uploads = [r for r in proxy.requests if r[0] == "POST"]
    assert report.failed == 20
    assert len(uploads) < 20, "later files are not tried after a refusal"
    with pytest.raises(dss_gke.StorageError, match=r"403 .*lacks a permission.*objectAdmin"):
        report.check()


def test_server_restart_mid_sync_then_rerun_completes(tmp_path):
    server = FakeGcs(persistent=True).start()
    try:
        server.create_bucket("bkt")
        files = {f"small/{i:03d}": os.urandom(50_000) for i in range(60)}
        files["large"] = os.urandom(40 * 2**20)
        for rel, data in files.items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(data)
        restarted = threading.Event()

        def progress(done, total):
            if done > total // 4 and not restarted.is_set():
                restarted.set()
                server.restart()

        first = dss_gke.gcs_sync(
            tmp_path, "gs://bkt/r", endpoint=server.url, parallelism=4, progress=progress
        )
        assert restarted.is_set()
        # Whatever the interrupted run left in the bucket is whole and exact.
        for name, data in server.objects("bkt", "r/").items():
            assert data == files[name.removeprefix("r/")], name
        second = dss_gke.gcs_sync(tmp_path, "gs://bkt/r", endpoint=server.url)
        assert second.failed == 0, second.summary
        assert set(actions(second).values()) <= {"uploaded", "skipped"}
        # Every object is whole and exact: nothing partial survived the restart.
        assert server.objects("bkt", "r/") == {f"r/{k}": v for k, v in files.items()}
        # Transfers the restart cut are retried within the run (resets, then the server
        # answering again); what the retries could not cure says to run the sync again.
        assert len(first.entries()) == len(files)
        for row in first.entries():
            if row["action"] == "failed":  # what the restart cut short says so
                assert "run the sync again" in row["reason"], row
    finally:
        server.close()


def gcs_host(dss, fake_gcs, **connection):
    """The harness with the plugin's GCS endpoint set and a "GKE connection" preset; returns
    the preset's reference, as a recipe's config holds it."""
    dss.plugin_settings["storage_endpoint"] = fake_gcs.url
    return dss.define_preset("connection-info", "gcs", connection)


def test_recipe_uploads_a_local_folder(dss, fake_gcs):
    folder = dss.folder("data")
    (folder / "d").mkdir()
    (folder / "d" / "one.csv").write_text("a,b\n1,2\n")
    (folder / "two.bin").write_bytes(os.urandom(2 * 2**20))
    connection = gcs_host(dss, fake_gcs)
    config = {"bucket": "bkt", "prefix": "dss/data", "connection": connection}
    run = dss.run_recipe("gcs-sync", {"source_folder": ["data"]}, {"files": ["synced"]}, config)
    rows = dss.dataset_rows("synced")
    assert [(r["path"], r["action"], r["bytes"]) for r in rows] == [
        ("d/one.csv", "uploaded", 8),
        ("two.bin", "uploaded", 2 * 2**20),
    ]
    assert "GCS sync: 2.0 of 2.0 MiB (100%)" in run.log
    assert fake_gcs.objects("bkt", "dss/")["dss/data/two.bin"] == (folder / "two.bin").read_bytes()


def test_recipe_streams_non_local_folders_both_ways(dss, fake_gcs):
    source = dss.folder("remote_in")
    (source / "deep" / "er").mkdir(parents=True)
    payload = os.urandom(3 * 2**20 + 7)
    (source / "deep" / "er" / "blob").write_bytes(payload)
    env = {"DKU_HARNESS_NONLOCAL_FOLDERS": "remote_in,remote_out"}
    connection = gcs_host(dss, fake_gcs)
    config = {"bucket": "bkt", "prefix": "s", "connection": connection, "parallelism": 2}
    dss.run_recipe("gcs-sync", {"source_folder": ["remote_in"]}, {"files": ["up"]}, config, env=env)
    assert fake_gcs.objects("bkt", "s/") == {"s/deep/er/blob": payload}

    (dss.folder("remote_out") / "extra").write_text("to delete")
    down = {**config, "direction": "from_gcs", "delete_extra": True}
    dss.run_recipe(
        "gcs-sync", {}, {"target_folder": ["remote_out"], "files": ["down"]}, down, env=env
    )
    assert {(r["path"], r["action"]) for r in dss.dataset_rows("down")} == {
        ("deep/er/blob", "downloaded"),
        ("extra", "deleted"),
    }
    assert (dss.folder("remote_out") / "deep" / "er" / "blob").read_bytes() == payload


def test_recipe_config_problems_are_listed(dss, fake_gcs):
    from tests.dsshost import ComponentFailed

    connection = gcs_host(dss, fake_gcs)
    with pytest.raises(ComponentFailed) as failed:
        dss.run_recipe(
            "gcs-sync",
            {},
            {"files": ["x"]},
            {"bucket": "BAD", "parallelism": 0, "connection": connection},
        )
    assert failed.value.type == "ValidationError"
    assert "Bucket: bucket name" in failed.value.message
    assert "Parallel transfers: 0 is out of range" in failed.value.message
    with pytest.raises(ComponentFailed, match="needs a managed folder as the recipe's input"):
        dss.run_recipe(
            "gcs-sync", {}, {"files": ["x"]}, {"bucket": "bkt", "connection": connection}
        )


def test_recipe_uses_the_connection_presets_key(dss, fake_gcs):
    (dss.folder("data") / "f").write_text("x")
    bad_key = gcs_host(dss, fake_gcs, service_account_key='{"type": "authorized_user"}')
    from tests.dsshost import ComponentFailed

    with pytest.raises(ComponentFailed, match="GKE connection › Service-account key"):
        dss.run_recipe(
            "gcs-sync", {"source_folder": ["data"]}, {"files": ["x"]},
            {"bucket": "bkt", "connection": bad_key},
        )  # fmt: skip
    assert fake_gcs.objects("bkt") == {}


def killed_mid_upload(server, folder, url, state_dir, after) -> str:
    """Runs a sync in another process and kills it once `after` bytes reached the server;
    returns what the process logged."""
    server.stall_after = after
    server.stalled.clear()
    env = {**os.environ, "GKE_NATIVE_STATE_DIR": str(state_dir)}
    child = subprocess.Popen(
        [sys.executable, "-c", SYNC_SCRIPT, str(folder), url, server.url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert server.stalled.wait(60), "the upload never got going"
    finally:
        child.send_signal(signal.SIGKILL)
        output = child.communicate(timeout=30)[0].decode(errors="replace")
    return output


def test_a_killed_upload_resumes_in_the_next_run(tmp_path, monkeypatch, caplog):
    folder, state = tmp_path / "folder", tmp_path / "state"
    folder.mkdir()
    data = os.urandom(20 * 2**20 + 12345)
    (folder / "big.bin").write_bytes(data)
    monkeypatch.setenv("GKE_NATIVE_STATE_DIR", str(state))
    caplog.set_level("DEBUG")
    with ResumableGcs() as server:
        log = killed_mid_upload(server, folder, "gs://bkt/up", state, after=5 * 2**20)
        (session,) = server.sessions
        committed = len(server.sessions[session]["data"])
        assert committed >= 4 * 2**20 and "up/big.bin" not in server.objects
        # The session was kept for the next run, readable by this user only, and never logged.
        (saved,) = (state / "gcs-uploads").iterdir()
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
        assert session in saved.read_text() and session not in log

        server.puts.clear()
        report = dss_gke.gcs_sync(folder, "gs://bkt/up", endpoint=server.url)
        assert actions(report) == {"big.bin": "uploaded"}, report.summary
        # One status query, then only the bytes the server did not have.
        assert server.puts == [
            (f"*/{len(data)}", 0),
            (f"{committed}-{len(data) - 1}/{len(data)}", len(data) - committed),
        ]
        assert server.objects["up/big.bin"]["data"] == data
        assert list((state / "gcs-uploads").iterdir()) == [], "a finished session is forgotten"
        assert session not in caplog.text

        # A session the server forgot (expired) is replaced by a new one: the whole file again.
        data = os.urandom(18 * 2**20)
        (folder / "big.bin").write_bytes(data)
        killed_mid_upload(server, folder, "gs://bkt/up", state, after=2 * 2**20)
        server.sessions.clear()
        server.puts.clear()
        report = dss_gke.gcs_sync(folder, "gs://bkt/up", endpoint=server.url)
        assert actions(report) == {"big.bin": "uploaded"}, report.summary
        assert server.puts[-1] == (f"0-{len(data) - 1}/{len(data)}", len(data))
        assert server.objects["up/big.bin"]["data"] == data


def test_users_part_files_survive_a_sync_both_ways(fake_gcs, tmp_path):
    up, down = tmp_path / "up", tmp_path / "down"
    up.mkdir()
    down.mkdir()
    mine = {"x.gke-native-part": b"mine", ".y.gke-native-part": b"mine too"}
    for name, data in mine.items():
        (up / name).write_bytes(data)
    report = dss_gke.gcs_sync(up, "gs://bkt/part", endpoint=fake_gcs.url)
    assert actions(report) == dict.fromkeys(mine, "uploaded"), report.entries()
    assert {p.name: p.read_bytes() for p in up.iterdir()} == mine
    assert fake_gcs.objects("bkt", "part/") == {f"part/{k}": v for k, v in mine.items()}

    (down / "local.gke-native-part").write_bytes(b"only here")
    report = dss_gke.gcs_sync("gs://bkt/part", down, endpoint=fake_gcs.url)
    assert actions(report) == {
        **dict.fromkeys(mine, "downloaded"),
        "local.gke-native-part": "skipped",
    }
    assert {p.name: p.read_bytes() for p in down.iterdir()} == {
        **mine,
        "local.gke-native-part": b"only here",
    }


def test_two_downloads_into_one_folder_both_complete(fake_gcs, tmp_path):
    bucket = fake_gcs.client().bucket("bkt")
    content = {f"f{i}.bin": os.urandom(512 * 1024) for i in range(3)}
    for name, data in content.items():
        bucket.blob(f"two/{name}").upload_from_string(data)
    reports = {}

    def run(which):
        reports[which] = dss_gke.gcs_sync(
            "gs://bkt/two", tmp_path, endpoint=proxy.url, parallelism=1
        )

    with GcsProxy(fake_gcs) as proxy:
        proxy.slow_downloads = 0.02  # about 0.2 s a file
        first = threading.Thread(target=run, args=("first",))
        first.start()
        # The second starts while the first has a download in progress in the folder.
        deadline = time.monotonic() + 30
        while not any(p.name.endswith(".gke-native-part") for p in tmp_path.iterdir()):
            assert first.is_alive() and time.monotonic() < deadline, "no download started"
            time.sleep(0.002)
        run("second")
        first.join(60)
    for which, report in reports.items():
        assert report.failed == 0, (which, report.entries())
    assert set(actions(reports["first"]).values()) == {"downloaded"}
    # Both runs' files are whole, and neither left a partial behind.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == content


def test_entries_that_cannot_be_read_are_reported_and_the_sync_goes_on(fake_gcs, tmp_path):
    (tmp_path / "ok.txt").write_bytes(b"ok")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_bytes(b"deep")
    # "dangling" was a file that an earlier sync uploaded; it is now a link to nothing.
    fake_gcs.client().bucket("bkt").blob("odd/dangling").upload_from_string(b"earlier")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    os.symlink(tmp_path / "sub" / "loop", tmp_path / "sub" / "loop")
    with open(os.fsencode(tmp_path / "sub") + b"/caf\xe9.txt", "wb") as f:
        f.write(b"a Latin-1 name")
    report = dss_gke.gcs_sync(tmp_path, "gs://bkt/odd", endpoint=fake_gcs.url, delete_extra=True)
    rows = {e["path"]: e for e in report.entries()}
    assert {p: r["action"] for p, r in rows.items()} == {
        "ok.txt": "uploaded",
        "sub/deep.txt": "uploaded",
        "dangling": "skipped",
        "sub/loop": "skipped",
        "sub/caf\\xE9.txt": "failed",
    }
    assert "does not exist" in rows["dangling"]["reason"]
    assert "loops" in rows["sub/loop"]["reason"]
    assert "not UTF-8" in rows["sub/caf\\xE9.txt"]["reason"]
    # What the folder could not say is never deleted from the bucket.
    assert fake_gcs.objects("bkt", "odd/") == {
        "odd/ok.txt": b"ok",
        "odd/sub/deep.txt": b"deep",
        "odd/dangling": b"earlier",
    }
    with pytest.raises(dss_gke.StorageError, match=r"1 of 5 files failed.*caf\\xE9"):
        report.check()


@pytest.mark.parametrize("prefix", ["a\nb", "a\x00b", "in/a\rb/"], ids=["LF", "NUL", "CR"])
def test_control_characters_in_a_prefix_are_refused(fake_gcs, tmp_path, prefix):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(dss_gke.ValidationError, match=r"dst: prefix .* control character"):
        dss_gke.gcs_sync(tmp_path, f"gs://bkt/{prefix}", endpoint=fake_gcs.url)
    with pytest.raises(dss_gke.ValidationError, match=r"src: prefix .* control character"):
        dss_gke.gcs_sync(f"gs://bkt/{prefix}", tmp_path, endpoint=fake_gcs.url)
    assert fake_gcs.objects("bkt") == {}


def test_control_characters_in_the_recipes_prefix_are_refused(dss, fake_gcs):
    from tests.dsshost import ComponentFailed

    (dss.folder("data") / "f").write_text("x")
    config = {"bucket": "bkt", "prefix": "in\x00put", "connection": gcs_host(dss, fake_gcs)}
    with pytest.raises(ComponentFailed) as failed:
        dss.run_recipe("gcs-sync", {"source_folder": ["data"]}, {"files": ["x"]}, config)
    assert failed.value.type == "ValidationError"
    assert "Prefix: prefix" in failed.value.message and "control character" in failed.value.message
    assert fake_gcs.objects("bkt") == {}


@pytest.mark.parametrize("value", [-1, 0, 65, 2**70, -(2**70)])
def test_parallelism_out_of_range_is_a_validation_error(tmp_path, value):
    with pytest.raises(dss_gke.ValidationError, match=rf"parallelism: {value} is out of range"):
        dss_gke.gcs_sync(tmp_path, "gs://bkt/x", parallelism=value)


@pytest.mark.parametrize("value", [2.5, "4", True, None])
def test_parallelism_that_is_not_a_number_is_a_validation_error(tmp_path, value):
    with pytest.raises(dss_gke.ValidationError, match=r"parallelism: .* is not a whole number"):
        dss_gke.gcs_sync(tmp_path, "gs://bkt/x", parallelism=value)


def test_a_connection_reset_mid_upload_is_retried(fake_gcs, tmp_path):
    data = os.urandom(BIG)
    (tmp_path / "big.bin").write_bytes(data)
    with GcsProxy(fake_gcs) as proxy:
        proxy.reset_uploads = 1
        report = dss_gke.gcs_sync(tmp_path, "gs://bkt/reset", endpoint=proxy.url)
        ranges = list(proxy.ranges)
    assert proxy.resets == 1
    assert actions(report) == {"big.bin": "uploaded"}, report.entries()
    assert ranges[0] == f"bytes 0-{BIG - 1}/{BIG}"
    assert f"bytes */{BIG}" in ranges[1:], "after the reset it asks GCS what it holds"
    assert fake_gcs.objects("bkt", "reset/") == {"reset/big.bin": data}


def test_a_connection_reset_mid_upload_resumes_from_what_gcs_committed(tmp_path):
    n = 20 * 2**20 + 5
    data = os.urandom(n)
    (tmp_path / "big.bin").write_bytes(data)
    with ResumableGcs() as server:
        server.reset_after = 6 * 2**20
        report = dss_gke.gcs_sync(tmp_path, "gs://bkt/up", endpoint=server.url)
        assert actions(report) == {"big.bin": "uploaded"}, report.entries()
        committed = 6 * 2**20
        assert server.puts == [
            (f"0-{n - 1}/{n}", committed),
            (f"*/{n}", 0),
            (f"{committed}-{n - 1}/{n}", n - committed),
        ]
        assert server.objects["up/big.bin"]["data"] == data


def test_a_resync_remembers_checksums_and_still_sees_every_change(
    fake_gcs, tmp_path, upload_sessions
):
    """Files not modified since the last sync are not read again (their size and time are
    those they had); a file rewritten since is read, whatever its size."""
    folder = tmp_path / "folder"
    files = make_tree(folder)
    hour_ago = time.time() - 3600
    for rel in files:
        os.utime(folder / rel, (hour_ago, hour_ago))
    first = dss_gke.gcs_sync(folder, "gs://bkt/cached", endpoint=fake_gcs.url)
    assert set(actions(first).values()) == {"uploaded"}
    (kept,) = (upload_sessions / "gcs-checksums").iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    remembered = json.loads(kept.read_text())
    assert remembered["folder"] == str(folder.resolve())
    assert set(remembered["files"]) == set(files)

    (folder / "a.txt").write_bytes(b"HELLO")  # same size, other content, a new time
    again = dss_gke.gcs_sync(folder, "gs://bkt/cached", endpoint=fake_gcs.url)
    assert actions(again) == {**dict.fromkeys(files, "skipped"), "a.txt": "uploaded"}
    assert fake_gcs.objects("bkt", "cached/a.txt") == {"cached/a.txt": b"HELLO"}
    # A cache that cannot be read is an empty one: everything is compared by reading again.
    kept.write_text("{oops")
    third = dss_gke.gcs_sync(folder, "gs://bkt/cached", endpoint=fake_gcs.url)
    assert set(actions(third).values()) == {"skipped"}
