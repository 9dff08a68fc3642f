"""GCS transfers: `dss_gke.gcs_sync` versus Google's Python client, both against the same
server in the same run, and that against two servers in turn:

- fake-gcs-server (Go, in memory), the double the tests use. It inserts small objects one at a
  time, with CPU per insert growing with the bucket: its own time is a floor (some 3.5 s for
  the 2,000 small files) that hides most of the clients' difference.
- gke-emulator's Cloud Storage surface (Rust, in memory; `make bench` builds it in release):
  its CPU per object stays flat however full the bucket (some 1.4 s for the whole upload, the
  same for both clients, mostly MD5 and CRC32C of every byte, as GCS computes them), so the
  difference that shows is the clients' own. A debug build costs about 2.5 s, more than our
  client, which on 2 cores slows both.

1. Upload of 2,000 × 64 KiB + 4 × 64 MiB files: ours versus
   `transfer_manager.upload_many_from_filenames` (8 workers, its default process pool).
   Target: ours ≥ 2.5 × faster.
2. No-change re-sync of 10,000 objects (list, compare size and CRC32C of every file, move
   nothing): ours versus the same work with the Python client (`list_blobs` + `google_crc32c`).
   Target: ours ≤ 1.5 s.

Each contender gets a fresh server for each run (fake-gcs-server's inserts slow down as a
bucket fills), runs alternate between ours and Python's, medians of `GCS_BENCH_RUNS` (default 3)
runs are compared, and the server's CPU time is shown next to the client's (this process with
its Rust threads, plus transfer_manager's worker processes).
"""

import base64
import json
import os
import pathlib
import resource
import shutil
import statistics
import tempfile
import time
import urllib.request

import dss_gke
from tests.support.emulator import Emulator, binary
from tests.support.gcs import FakeGcs

SMALL_FILES, SMALL_SIZE = 2000, 64 * 2**10
LARGE_FILES, LARGE_SIZE = 4, 64 * 2**20
RESYNC_FILES, RESYNC_SIZE = 10_000, 4 * 2**10
UPLOAD_SPEEDUP_TARGET = 2.5
RESYNC_TARGET_S = 1.5
# Runs of each case per server (fresh server each run); the medians are compared.
RUNS = int(os.environ.get("GCS_BENCH_RUNS", "3"))


def write_files(root: pathlib.Path, count: int, size: int, prefix: str) -> list:
    names = []
    for i in range(count):
        rel = f"{prefix}/{i // 500:02d}/{i:05d}.bin"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        names.append(rel)
    return names


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def python_upload(server: FakeGcs, root: pathlib.Path, names: list) -> None:
    from google.cloud.storage import transfer_manager

    bucket = server.client().bucket("bench")
    results = transfer_manager.upload_many_from_filenames(
        bucket, names, source_directory=str(root), max_workers=8
    )
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise failures[0]


def python_resync(server: FakeGcs, root: pathlib.Path, prefix: str) -> int:
    """What the Python client needs for the same no-change check; returns files to move."""
    import google_crc32c

    remote = {
        b.name[len(prefix) :]: (b.size, b.crc32c)
        for b in server.client().list_blobs("bench", prefix=prefix)
    }
    changed = 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        size, crc = remote.get(rel, (None, None))
        if size != path.stat().st_size:
            changed += 1
            continue
        local = base64.b64encode(google_crc32c.Checksum(path.read_bytes()).digest()).decode()
        changed += local != crc
    return changed


def process_cpu_seconds(pid: int) -> float:
    """CPU time a process has used (Linux)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


class EmulatorGcs:
    """gke-emulator's Cloud Storage surface (in memory, in Rust), with FakeGcs's interface.
    Objects to preload (BUCKET/OBJECT files) are uploaded through the API at start."""

    def __init__(self, preload=None):
        self.preload = preload
        self._tmp = self._emulator = self.url = None

    def start(self) -> "EmulatorGcs":
        self._tmp = tempfile.mkdtemp(prefix="gcs-bench-emulator-")
        self._emulator = Emulator(pathlib.Path(self._tmp, "state.json")).start()
        self.url = self._emulator.url
        for bucket in sorted(self.preload.iterdir()) if self.preload else []:
            self.create_bucket(bucket.name)
            dss_gke.gcs_sync(bucket, f"gs://{bucket.name}", endpoint=self.url).check()
        return self

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self._emulator.proc.pid)

    def close(self) -> None:
        self._emulator.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    client = FakeGcs.client

    def create_bucket(self, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project=test",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()


SERVERS = {
    "fake-gcs-server": (FakeGcs, "Go, in memory, the tests' reference double"),
    # The build GKE_EMULATOR_BIN names (release with `make bench`) is filled in by main().
    "gke-emulator": (EmulatorGcs, "Rust, in memory, {} build"),
}


def client_cpu_seconds() -> float:
    """CPU time of this process (our Rust threads included) and of its reaped children
    (transfer_manager's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def on_fresh_server(server_class, work, preload=None):
    """(seconds, server CPU seconds, client CPU seconds) of `work(server)` against a server of
    its own."""
    server = server_class(preload=preload).start()
    try:
        if preload is None:
            server.create_bucket("bench")
        cpu, client = server.cpu_seconds(), client_cpu_seconds()
        seconds, _ = timed(lambda: work(server))
        return seconds, server.cpu_seconds() - cpu, client_cpu_seconds() - client
    finally:
        server.close()


def medians(runs: list) -> tuple:
    return tuple(statistics.median(column) for column in zip(*runs))


def compare(server_class, ours, theirs, preload=None) -> tuple:
    """Median (seconds, server CPU, client CPU) of ours and of theirs over RUNS runs each,
    alternated so that both see the same machine."""
    ours_runs, theirs_runs = [], []
    for i in range(RUNS):
        ours_runs.append(on_fresh_server(server_class, ours, preload))
        theirs_runs.append(on_fresh_server(server_class, theirs, preload))
        (o, o_server, o_client), (t, t_server, t_client) = ours_runs[-1], theirs_runs[-1]
        print(
            f"    run {i + 1}: ours {o:6.2f} s (CPU server {o_server:4.1f},"
            f" client {o_client:4.1f}), python {t:6.2f} s (CPU server {t_server:4.1f},"
            f" client {t_client:4.1f}), ratio {t / o:4.2f}x",
            flush=True,
        )
    return medians(ours_runs), medians(theirs_runs)


def row(case, ours, theirs, target, met):
    mark = "met" if met else "NOT MET"
    (o, o_server, o_client), (t, t_server, t_client) = ours, theirs
    print(
        f"{case:40} {o:8.2f} {t:9.2f} {t / o:6.1f}x  {target:17} {mark:8}"
        f" CPU s (server/client): ours {o_server:.1f}/{o_client:.1f},"
        f" python {t_server:.1f}/{t_client:.1f}"
    )


def main() -> None:
    what = SERVERS["gke-emulator"][1].format(pathlib.Path(binary()).parent.name)
    SERVERS["gke-emulator"] = (EmulatorGcs, what)
    with tempfile.TemporaryDirectory(prefix="gcs-bench-") as tmp:
        upload_dir = pathlib.Path(tmp, "upload")
        names = write_files(upload_dir, SMALL_FILES, SMALL_SIZE, "small")
        names += write_files(upload_dir, LARGE_FILES, LARGE_SIZE, "large")
        total_mib = (SMALL_FILES * SMALL_SIZE + LARGE_FILES * LARGE_SIZE) / 2**20

        # The re-sync's objects are loaded at the server's start (inserting 10,000 through
        # fake-gcs-server's API takes minutes); the server computes their CRC32C as GCS would.
        resync_dir = pathlib.Path(tmp, "resync")
        write_files(resync_dir, RESYNC_FILES, RESYNC_SIZE, "r")
        preload = pathlib.Path(tmp, "preload")
        shutil.copytree(resync_dir, preload / "bench" / "resync")

        def ours_upload(server):
            dss_gke.gcs_sync(upload_dir, "gs://bench", endpoint=server.url).check()

        def theirs_upload(server):
            python_upload(server, upload_dir, names)

        def ours_resync(server):
            report = dss_gke.gcs_sync(resync_dir, "gs://bench/resync", endpoint=server.url)
            moved = [e for e in report.entries() if e["action"] != "skipped"]
            if moved or report.failed:
                raise SystemExit(f"the no-change re-sync moved files: {moved[:3]}")

        def theirs_resync(server):
            if python_resync(server, resync_dir, "resync/"):
                raise SystemExit("the Python re-sync found changes")

        results = {}
        for server, (server_class, what) in SERVERS.items():
            print(f"\nGCS against {server} ({what}, loopback), median of {RUNS} runs")
            print(f"  upload of {total_mib:.0f} MiB, a fresh server each run:")
            upload = compare(server_class, ours_upload, theirs_upload)
            print(f"  no-change re-sync of {RESYNC_FILES} objects, a fresh server each run:")
            resync = compare(server_class, ours_resync, theirs_resync, preload)
            results[server] = (upload, resync)

    for server, ((ours_up, theirs_up), (ours_re, theirs_re)) in results.items():
        print(f"\nGCS against {server} ({SERVERS[server][1]}), median of {RUNS} runs")
        print(f"{'case':40} {'ours s':>8} {'python s':>9} {'ratio':>7}  {'target':17} result")
        row(
            f"upload {SMALL_FILES}x64KiB + {LARGE_FILES}x64MiB",
            ours_up,
            theirs_up,
            f">= {UPLOAD_SPEEDUP_TARGET}x faster",
            theirs_up[0] / ours_up[0] >= UPLOAD_SPEEDUP_TARGET,
        )
        row(
            f"no-change re-sync of {RESYNC_FILES} objects",
            ours_re,
            theirs_re,
            f"<= {RESYNC_TARGET_S} s",
            ours_re[0] <= RESYNC_TARGET_S,
        )
        print(
            f"upload throughput: ours {total_mib / ours_up[0]:.0f} MiB/s, "
            f"python {total_mib / theirs_up[0]:.0f} MiB/s"
        )
    # fake-gcs-server's CPU per insert grows with the bucket (it scans the bucket's objects,
    # under a lock), whatever the object's size: its CPU time for our upload is a floor no
    # client can go under there. Inserts are serial (the small files take as long with 2
    # transfers at once as with 32); only the large files' bytes spread over the other core.
    (ours_up, theirs_up), _ = results["fake-gcs-server"]
    cores = os.cpu_count() or 1
    serial, spread = ours_up[1], ours_up[1] / cores
    print(
        f"\nfake-gcs-server floor: {serial:.1f} s of server CPU for our upload (at least"
        f" {spread:.1f} s on {cores} cores); a client costing nothing would reach"
        f" {theirs_up[0] / serial:.1f}x to {theirs_up[0] / spread:.1f}x there"
    )


if __name__ == "__main__":
    main()
