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
   `transfer_manager.upload_many_from_filenames` (its default process pool), and versus
   `rclone sync` (Debian's rclone, what admins pick for syncing); every contender makes 8
   transfers at once (ours' `parallelism`, transfer_manager's workers, rclone's `--transfers`
   and `--checkers`). Targets: ours ≥ 2.5 × faster than transfer_manager; against rclone, wall
   time ≤ rclone's and client CPU ≤ 0.5 × rclone's (issue 16).
2. Download of the same files into an empty folder: ours versus
   `transfer_manager.download_many_to_path` and `rclone sync` the other way.
   Targets (issue 16): wall time ≤ rclone's, client CPU ≤ 0.5 × rclone's.
The no-change re-sync is bench/resync.py.

For the upload each contender gets a fresh server for each run (fake-gcs-server's inserts slow
down as a bucket fills); the downloads share one server, preloaded once, each run into a folder
of its own. Runs alternate between the contenders, medians of `GCS_BENCH_RUNS` (default 3)
runs are compared, and the server's CPU time is shown next to the client's (this process with
its Rust threads, plus transfer_manager's worker processes and rclone).
"""

import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request

import dss_gke
from tests.support.emulator import Emulator, binary
from tests.support.gcs import FakeGcs

SMALL_FILES, SMALL_SIZE = 2000, 64 * 2**10
LARGE_FILES, LARGE_SIZE = 4, 64 * 2**20
UPLOAD_SPEEDUP_TARGET = 2.5
# Transfers at once, the same for every contender (ours, transfer_manager's workers, rclone's
# --transfers and --checkers).
PARALLELISM = 8
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


def python_transfer(server, names: list, folder: pathlib.Path, upload: bool) -> None:
    """transfer_manager uploading `names` from `folder` to the bucket "bench", or downloading
    them into it."""
    from google.cloud.storage import transfer_manager

    bucket = server.client().bucket("bench")
    if upload:
        results = transfer_manager.upload_many_from_filenames(
            bucket, names, source_directory=str(folder), max_workers=PARALLELISM
        )
    else:
        results = transfer_manager.download_many_to_path(
            bucket, names, destination_directory=str(folder), max_workers=PARALLELISM
        )
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise failures[0]


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


def measured(server, work) -> tuple:
    """(seconds, server CPU seconds, client CPU seconds) of `work(server)`."""
    cpu, client = server.cpu_seconds(), client_cpu_seconds()
    seconds, _ = timed(lambda: work(server))
    return seconds, server.cpu_seconds() - cpu, client_cpu_seconds() - client


def on_fresh_server(server_class, work) -> tuple:
    """`measured` against a server of its own, with an empty bucket "bench"."""
    server = server_class().start()
    try:
        server.create_bucket("bench")
        return measured(server, work)
    finally:
        server.close()


def medians(runs: list) -> tuple:
    return tuple(statistics.median(column) for column in zip(*runs))


def compare(run, contenders: dict) -> dict:
    """Median (seconds, server CPU, client CPU) of each contender's `run(work)` over RUNS runs,
    alternated so that all see the same machine; a contender that fails (rclone absent, say)
    is None."""
    runs = {name: [] for name in contenders}
    failed = {}
    for i in range(RUNS):
        line = []
        for name, work in contenders.items():
            if name in failed:
                continue
            try:
                runs[name].append(run(work))
            except Exception as e:  # an anchor that cannot run is reported, not fatal
                failed[name] = e
                line.append(f"{name} failed ({e})")
                continue
            seconds, server, client = runs[name][-1]
            line.append(f"{name} {seconds:6.2f} s (CPU server {server:4.1f}, client {client:4.1f})")
        print(f"    run {i + 1}: " + ", ".join(line), flush=True)
    return {name: (medians(r) if r and name not in failed else None) for name, r in runs.items()}


def row(case, results, target, met):
    """One case: ours, then each anchor with its ratio (anchor time / ours: > 1 is ours
    faster) and the client CPU of both."""
    ours = results["ours"]
    cells = [f"{case:38} ours {ours[0]:6.2f} s"]
    for name, theirs in results.items():
        if name == "ours":
            continue
        if theirs is None:
            cells.append(f"{name}: n/a")
            continue
        cells.append(
            f"{name} {theirs[0]:6.2f} s ({theirs[0] / ours[0]:4.1f}x, client CPU"
            f" {ours[2] / max(theirs[2], 1e-9):4.2f}x of it)"
        )
    print("  ".join(cells) + f"  target {target}: {'met' if met else 'NOT MET'}")


def against_rclone(results: dict) -> bool:
    """Issue 16's targets against rclone: wall time <= rclone's, client CPU <= 0.5x."""
    ours, rc = results["ours"], results["rclone"]
    return rc is not None and ours[0] <= rc[0] and ours[2] <= 0.5 * rc[2]


def add_to_summary(summary, server: str, upload: dict, download: dict) -> None:
    """The GCS rows of the final table: the upload's wall time against transfer_manager; wall
    time and client CPU of upload and download against rclone."""
    ours_up, python = upload["ours"], upload["python"]
    summary.add(
        f"GCS upload ({server})", ours_up[0], "transfer_manager", python[0],
        f">= {UPLOAD_SPEEDUP_TARGET}x faster", python[0] / ours_up[0] >= UPLOAD_SPEEDUP_TARGET,
    )  # fmt: skip
    for what, results in (("upload", upload), ("download", download)):
        ours, rc = results["ours"], results["rclone"]
        if rc is None:
            continue
        summary.add(
            f"GCS {what} ({server})", ours[0], "rclone", rc[0], "<= rclone", ours[0] <= rc[0]
        )
        summary.add(
            f"GCS {what} client CPU ({server})", ours[2], "rclone", rc[2],
            "<= 0.5x rclone", ours[2] <= 0.5 * rc[2],
        )  # fmt: skip


def rclone(*args) -> None:
    """`rclone` with an on-the-fly GCS remote (no config file, no credentials)."""
    if shutil.which("rclone") is None:
        raise RuntimeError("rclone is not installed (make bench installs Debian's)")
    proc = subprocess.run(
        ["rclone", *args, "--config", "/dev/null", "--gcs-anonymous", "--gcs-no-check-bucket",
         "--transfers", str(PARALLELISM), "--checkers", str(PARALLELISM), "-q"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-300:])


def rclone_remote(server, path: str) -> list:
    return [f":gcs:{path}", "--gcs-endpoint", f"{server.url}/storage/v1/"]


def downloads(server_class, preload: pathlib.Path, names: list, tmp: pathlib.Path) -> dict:
    """Each contender downloads the preloaded bucket into a folder of its own, RUNS times, from
    one server; every file is checked for its size once the run is timed."""
    server = server_class(preload=preload).start()

    def into_fresh_folder(download):
        """One timed run of `download`, then the check. The folders are kept until the end:
        deleting thousands of files just before the next run makes ext4 slow to find inodes
        for its files (a kernel cost that would fall on whoever runs next)."""

        def run():
            dest = pathlib.Path(tempfile.mkdtemp(prefix="download-", dir=tmp))
            result = measured(server, lambda s: download(s, dest))
            for name in names:
                if (dest / name).stat().st_size != (preload / "bench" / name).stat().st_size:
                    raise RuntimeError(f"{name} was not downloaded whole")
            return result

        return run

    contenders = {
        "ours": lambda s, d: dss_gke.gcs_sync(
            "gs://bench", d, endpoint=s.url, parallelism=PARALLELISM
        ).check(),
        "python": lambda s, d: python_transfer(s, names, d, upload=False),
        "rclone": lambda s, d: rclone("sync", *rclone_remote(s, "bench"), str(d)),
    }
    try:
        return compare(
            lambda run: run(),
            {name: into_fresh_folder(download) for name, download in contenders.items()},
        )
    finally:
        server.close()


def main(summary=None) -> None:
    what = SERVERS["gke-emulator"][1].format(pathlib.Path(binary()).parent.name)
    SERVERS["gke-emulator"] = (EmulatorGcs, what)
    with tempfile.TemporaryDirectory(prefix="gcs-bench-") as tmp:
        # The files, as BUCKET/OBJECT under `preload` (the downloads' servers start with them).
        preload = pathlib.Path(tmp, "preload")
        upload_dir = preload / "bench"
        names = write_files(upload_dir, SMALL_FILES, SMALL_SIZE, "small")
        names += write_files(upload_dir, LARGE_FILES, LARGE_SIZE, "large")
        total_mib = (SMALL_FILES * SMALL_SIZE + LARGE_FILES * LARGE_SIZE) / 2**20

        def ours_upload(server):
            dss_gke.gcs_sync(
                upload_dir, "gs://bench", endpoint=server.url, parallelism=PARALLELISM
            ).check()

        def python_upload_(server):
            python_transfer(server, names, upload_dir, upload=True)

        def rclone_upload(server):
            rclone("sync", str(upload_dir), *rclone_remote(server, "bench"))

        results = {}
        for server, (server_class, what) in SERVERS.items():
            print(f"\nGCS against {server} ({what}, loopback), median of {RUNS} runs")
            print(f"  upload of {total_mib:.0f} MiB, a fresh server each run:")
            upload = compare(
                lambda work, server_class=server_class: on_fresh_server(server_class, work),
                {"ours": ours_upload, "python": python_upload_, "rclone": rclone_upload},
            )
            print(f"  download of {total_mib:.0f} MiB into an empty folder, one server:")
            download = downloads(server_class, preload, names, pathlib.Path(tmp))
            results[server] = upload, download

    for server, (upload, download) in results.items():
        print(f"\nGCS against {server} ({SERVERS[server][1]}), median of {RUNS} runs")
        rclone_target = "<= rclone, client CPU <= 0.5x rclone"
        row(
            f"upload {SMALL_FILES}x64KiB + {LARGE_FILES}x64MiB",
            upload,
            f">= {UPLOAD_SPEEDUP_TARGET}x python; {rclone_target}",
            upload["python"][0] / upload["ours"][0] >= UPLOAD_SPEEDUP_TARGET
            and against_rclone(upload),
        )
        row("download, the same files", download, rclone_target, against_rclone(download))
        if summary is not None:
            add_to_summary(summary, server, upload, download)
        for what, results_ in (("upload", upload), ("download", download)):
            print(
                f"{what} throughput: "
                + ", ".join(
                    f"{name} {total_mib / r[0]:.0f} MiB/s"
                    for name, r in results_.items()
                    if r is not None
                )
            )
    # fake-gcs-server's CPU per insert grows with the bucket (it scans the bucket's objects,
    # under a lock), whatever the object's size: its CPU time for our upload is a floor no
    # client can go under there. Inserts are serial (the small files take as long with 2
    # transfers at once as with 32); only the large files' bytes spread over the other core.
    upload = results["fake-gcs-server"][0]
    ours_up, theirs_up = upload["ours"], upload["python"]
    cores = os.cpu_count() or 1
    serial, spread = ours_up[1], ours_up[1] / cores
    print(
        f"\nfake-gcs-server floor: {serial:.1f} s of server CPU for our upload (at least"
        f" {spread:.1f} s on {cores} cores); a client costing nothing would reach"
        f" {theirs_up[0] / serial:.1f}x to {theirs_up[0] / spread:.1f}x there"
    )


if __name__ == "__main__":
    main()
