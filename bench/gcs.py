"""GCS transfers: `dss_gke.gcs_sync` versus Google's Python client, against the same
fake-gcs-server (in memory, on loopback) in the same run.

1. Upload of 2,000 × 64 KiB + 4 × 64 MiB files: ours versus
   `transfer_manager.upload_many_from_filenames` (8 workers, its default process pool).
   Target: ours ≥ 2.5 × faster.
2. No-change re-sync of 10,000 objects (list, compare size and CRC32C of every file, move
   nothing): ours versus the same work with the Python client (`list_blobs` + `google_crc32c`).
   Target: ours ≤ 1.5 s.
"""

import base64
import os
import pathlib
import tempfile
import time

import dss_gke
from tests.support.gcs import FakeGcs

SMALL_FILES, SMALL_SIZE = 2000, 64 * 2**10
LARGE_FILES, LARGE_SIZE = 4, 64 * 2**20
RESYNC_FILES, RESYNC_SIZE = 10_000, 4 * 2**10
UPLOAD_SPEEDUP_TARGET = 2.5
RESYNC_TARGET_S = 1.5


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

    bucket = server.client().bucket("bench-py")
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


def row(case, ours, theirs, target, met):
    ratio = f"{theirs / ours:5.1f}x" if theirs else "     "
    mark = "met" if met else "NOT MET"
    theirs_text = f"{theirs:9.2f}" if theirs else " " * 9
    print(f"{case:44} {ours:9.2f} {theirs_text} {ratio:>7}  {target:22} {mark}")


def main() -> None:
    server = FakeGcs().start()
    try:
        for bucket in ("bench", "bench-py"):
            server.create_bucket(bucket)
        with tempfile.TemporaryDirectory(prefix="gcs-bench-") as tmp:
            upload_dir = pathlib.Path(tmp, "upload")
            names = write_files(upload_dir, SMALL_FILES, SMALL_SIZE, "small")
            names += write_files(upload_dir, LARGE_FILES, LARGE_SIZE, "large")
            total_mib = (SMALL_FILES * SMALL_SIZE + LARGE_FILES * LARGE_SIZE) / 2**20
            print(f"\nGCS against fake-gcs-server ({server.url}), {total_mib:.0f} MiB upload")

            ours_up, report = timed(
                lambda: dss_gke.gcs_sync(upload_dir, "gs://bench/up", endpoint=server.url)
            )
            report.check()
            theirs_up, _ = timed(lambda: python_upload(server, upload_dir, names))

            resync_dir = pathlib.Path(tmp, "resync")
            write_files(resync_dir, RESYNC_FILES, RESYNC_SIZE, "r")
            dss_gke.gcs_sync(resync_dir, "gs://bench/resync", endpoint=server.url).check()
            ours_re, again = timed(
                lambda: dss_gke.gcs_sync(resync_dir, "gs://bench/resync", endpoint=server.url)
            )
            moved = sum(e["action"] != "skipped" for e in again.entries())
            theirs_re, py_moved = timed(lambda: python_resync(server, resync_dir, "resync/"))
            if moved or py_moved:
                raise SystemExit(f"the no-change re-sync moved files: ours {moved}, py {py_moved}")

        print(f"{'case':44} {'ours s':>9} {'python s':>9} {'speedup':>7}  {'target':22} result")
        speedup = theirs_up / ours_up
        row(
            f"upload {SMALL_FILES}x64KiB + {LARGE_FILES}x64MiB",
            ours_up,
            theirs_up,
            f">= {UPLOAD_SPEEDUP_TARGET}x faster",
            speedup >= UPLOAD_SPEEDUP_TARGET,
        )
        row(
            f"no-change re-sync of {RESYNC_FILES} objects",
            ours_re,
            theirs_re,
            f"<= {RESYNC_TARGET_S} s",
            ours_re <= RESYNC_TARGET_S,
        )
        print(
            f"upload throughput: ours {total_mib / ours_up:.0f} MiB/s, "
            f"python {total_mib / theirs_up:.0f} MiB/s"
        )
    finally:
        server.close()


if __name__ == "__main__":
    main()
