"""`make bench`: gke-native side by side with the reference tools, in the same run.

Import and client start-up (target: `import dss_gke` <= 50 ms) versus building the
discovery-based Python client of the GKE API (`googleapiclient.discovery.build("container",
"v1")`), each in a fresh process; then the cluster lifecycle (bench/lifecycle.py).

GCS transfers: bench/gcs.py (upload), bench/resync.py (no-change re-sync). Image push:
bench/registry.py.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import gcs, lifecycle, registry, resync
from bench.summary import Summary

RUNS = 7

CASES = {
    "import dss_gke": "import dss_gke",
    "googleapiclient container v1 client": (
        "from googleapiclient.discovery import build\n"
        "from google.auth.credentials import AnonymousCredentials\n"
        "build('container', 'v1', credentials=AnonymousCredentials(), static_discovery=True)"
    ),
}


def timed(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


IMPORT_TARGET_MS = 50


def import_time(summary: Summary) -> None:
    baseline = statistics.median(timed("pass") for _ in range(RUNS))
    print(f"Python start-up alone: {baseline * 1000:.0f} ms (subtracted below)")
    print(f"{'case':40} {'median ms':>10}")
    medians = {}
    for name, code in CASES.items():
        medians[name] = statistics.median(timed(code) for _ in range(RUNS)) - baseline
        print(f"{name:40} {medians[name] * 1000:10.0f}")
    ours, theirs = (
        medians["import dss_gke"] * 1000,
        medians["googleapiclient container v1 client"] * 1000,
    )
    summary.add(
        "import dss_gke", ours, "googleapiclient", theirs,
        f"<= {IMPORT_TARGET_MS} ms", ours <= IMPORT_TARGET_MS, unit="ms",
    )  # fmt: skip


def main() -> None:
    # Upload sessions and remembered checksums go to a directory of the bench's own.
    os.environ["GKE_NATIVE_STATE_DIR"] = tempfile.mkdtemp(prefix="gke-native-bench-state-")
    summary = Summary()
    started = time.perf_counter()
    # The push before the GCS cases: its peak RSS is each process's rusage, which also counts
    # the memory of this process at the fork (the GCS benches' preloads grow it).
    for section in (import_time, lifecycle.main, registry.main, gcs.main, resync.main):
        begun = time.perf_counter()
        section(summary)
        print(
            f"[{section.__module__}.{section.__name__}: {time.perf_counter() - begun:.0f} s]",
            flush=True,
        )
    summary.print()
    print(f"make bench's cases took {(time.perf_counter() - started) / 60:.1f} min (budget 15)")


if __name__ == "__main__":
    main()
