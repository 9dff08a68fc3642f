"""GCS no-change re-sync: `dss_gke.gcs_sync` of a folder whose every file GCS already holds,
against `rclone sync` in its default mode (size + modification time) and with `--checksum`
(size + MD5), in the same run, against the same server.

- 10,000 objects against fake-gcs-server and against gke-emulator's Cloud Storage; 100,000
  against gke-emulator only (fake-gcs-server's preload is quadratic: 10,000 objects take it
  some 20 s, 100,000 would take most of an hour).
- A re-sync changes nothing, so the contenders share one server per case. Each is primed
  once, as after its own earlier sync: ours remembers the files' checksums (`gcs-checksums`),
  rclone's default mode stores its modification times on its first pass. Then `RUNS` timed
  runs each, alternating; medians.
- Each run is a process of its own (ours: `python -c` calling `gcs_sync`, its start-up
  included), measured by its own rusage: wall time, CPU time; peak RSS is ours' own `VmHWM`
  (a child's rusage peak also counts the bench's memory it was forked from: for rclone the
  figure shown is that upper bound). The RSS growth per
  object between 10,000 and 100,000 objects is printed (target: at most 1 KiB per object).

Targets (issue 16): ours ≤ rclone's default mode at 10,000 and at 100,000 objects.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench.gcs import PARALLELISM, EmulatorGcs, write_files
from tests.support.gcs import FakeGcs

SIZE = 1024
CASES = [("fake-gcs-server", FakeGcs, 10_000), ("gke-emulator", EmulatorGcs, 10_000),
         ("gke-emulator", EmulatorGcs, 100_000)]  # fmt: skip
RUNS = int(os.environ.get("GCS_BENCH_RUNS", "3"))
RSS_PER_OBJECT_KIB = 1.0

# Nothing moved: the summary counts only skipped files ("…: 10000 skipped (9.8 MiB) in 0.2s").
# (`report.entries()` would build a Python dict per file: the script's memory, not the sync's.)
OURS = """
import re, sys, dss_gke
report = dss_gke.gcs_sync(
    sys.argv[1], sys.argv[2], endpoint=sys.argv[3], parallelism=int(sys.argv[4])
)
counted = re.findall(r"(\\d+) ([a-z ]+?) \\(", report.summary)
moved = [c for c in counted if c[1] != "skipped"]
if moved or report.failed:
    sys.exit(f"the no-change re-sync moved files: {report.summary}")
# This process's own peak (its rusage would also count the bench's memory it was forked from).
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("vmhwm_kb", line.split()[1])
"""


def measured(command: list, env: dict) -> dict:
    """Runs `command`; its wall time, CPU time and peak RSS (MiB), from its own rusage."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[0]} failed: {errors.strip()[-300:]}")
    # A child's rusage peak counts the memory of the process it was forked from (this bench,
    # grown by the preloads): ours prints its own; for rclone it is an upper bound.
    own = [line.split()[1] for line in printed.splitlines() if line.startswith("vmhwm_kb ")]
    rss_kb = int(own[-1]) if own else usage.ru_maxrss
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss_kb / 1024}


def rclone_command(server, folder: pathlib.Path, *mode) -> list:
    return [
        "rclone", "sync", *mode, str(folder), ":gcs:bench/resync",
        "--gcs-endpoint", f"{server.url}/storage/v1/", "--config", "/dev/null",
        "--gcs-anonymous", "--gcs-no-check-bucket", "--transfers", str(PARALLELISM),
        "--checkers", str(PARALLELISM), "-q",
    ]  # fmt: skip


def case(server_class, count: int, tmp: pathlib.Path) -> dict:
    """Medians of each contender on one server holding `count` objects."""
    folder = tmp / f"resync-{count}"
    if not folder.exists():
        write_files(folder, count, SIZE, "r")
    preload = tmp / f"preload-{count}"
    if not preload.exists():
        shutil.copytree(folder, preload / "bench" / "resync")
    env = {**os.environ, "GKE_NATIVE_STATE_DIR": str(tmp / "state")}
    server = server_class(preload=preload).start()
    try:
        contenders = {
            "ours": [
                sys.executable,
                "-c",
                OURS,
                str(folder),
                "gs://bench/resync",
                server.url,
                str(PARALLELISM),
            ],
        }
        if shutil.which("rclone"):
            contenders["rclone"] = rclone_command(server, folder)
            contenders["rclone --checksum"] = rclone_command(server, folder, "--checksum")
        for name, command in contenders.items():
            primed = measured(command, env)
            print(f"    {name:18} primed in {primed['wall']:6.2f} s", flush=True)
        runs = {name: [] for name in contenders}
        for i in range(RUNS):
            line = []
            for name, command in contenders.items():
                m = measured(command, env)
                runs[name].append(m)
                line.append(f"{name} {m['wall']:.2f} s")
            print(f"    run {i + 1}: " + ", ".join(line), flush=True)
    finally:
        server.close()
    return {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }


def main(summary=None) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="gcs-resync-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        for server, server_class, count in CASES:
            print(f"\nNo-change re-sync of {count} objects against {server}, median of {RUNS}")
            results[(server, count)] = case(server_class, count, tmp)
    print(f"\n{'case':44} {'wall s':>8} {'cpu s':>8} {'rss MB':>8}")
    for (server, count), contenders in results.items():
        for name, m in contenders.items():
            label = f"{count} objects, {server}, {name}"
            print(f"{label:44} {m['wall']:8.2f} {m['cpu']:8.2f} {m['rss_mb']:8.0f}")
        ours, rclone = contenders["ours"], contenders.get("rclone")
        if summary is not None and rclone is not None:
            summary.add(
                f"GCS no-change re-sync {count} ({server})", ours["wall"],
                "rclone (size+time)", rclone["wall"], "<= rclone", ours["wall"] <= rclone["wall"],
            )  # fmt: skip
            summary.add(
                f"GCS re-sync client CPU {count} ({server})", ours["cpu"], "rclone (size+time)",
                rclone["cpu"], "<= 0.5x rclone", ours["cpu"] <= 0.5 * rclone["cpu"],
            )  # fmt: skip
    small = results.get(("gke-emulator", 10_000), {}).get("ours")
    large = results.get(("gke-emulator", 100_000), {}).get("ours")
    if small and large:
        per_object = (large["rss_mb"] - small["rss_mb"]) * 1024 / 90_000
        print(
            f"peak RSS of ours: {small['rss_mb']:.0f} MB at 10,000 objects, "
            f"{large['rss_mb']:.0f} MB at 100,000: {per_object:.2f} KiB per object "
            f"(target <= {RSS_PER_OBJECT_KIB})"
        )
        if summary is not None:
            summary.add(
                "GCS re-sync RSS growth per object", per_object, "target", RSS_PER_OBJECT_KIB,
                f"<= {RSS_PER_OBJECT_KIB} KiB", per_object <= RSS_PER_OBJECT_KIB, unit="KiB",
            )  # fmt: skip


if __name__ == "__main__":
    main()
