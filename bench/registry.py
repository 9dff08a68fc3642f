"""Image push: `python -m dss_gke push` versus `skopeo copy` (Debian's), against the same local
docker-registry (htpasswd, on-disk storage, plain HTTP on loopback), in the same run.

1. Cold push of a synthetic image of about 1 GB in 10 gzip layers (incompressible content),
   each run to a fresh, empty registry; plus a floor: every blob uploaded at once by plain
   parallel HTTP PUTs (Python threads, no hashing, no checks). Targets: ours ≤ 0.75 × skopeo
   and ≤ 1.15 × the floor.
2. Warm re-push of the same image to the same repository (everything already there).
   Target: ours ≤ skopeo.
3. Cold push of a `docker-archive` whose layers are uncompressed tars (compression included).
4. Peak RSS of ours, whatever the image size. Target: ≤ 64 MB, over every push above and one
   more: a `docker-archive` of `BENCH_BIG_IMAGE_MB` (default 2000) pushed once by ours alone.

Each contender runs in its own process; wall time, CPU time (user + system) and peak RSS come
from that process's rusage (`os.wait4`). Medians of 3 runs. `BENCH_IMAGE_MB` sets the size.
"""

import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

from tests.support.registry import PASSWORD, USER, LocalRegistry

RUNS = 3
LAYERS = 10
IMAGE_MB = int(os.environ.get("BENCH_IMAGE_MB", "1000"))
BIG_IMAGE_MB = int(os.environ.get("BENCH_BIG_IMAGE_MB", "2000"))
COLD_VS_SKOPEO, COLD_VS_FLOOR, RSS_MB = 0.75, 1.15, 64


def layer_tars(root: pathlib.Path, image_mb: int = IMAGE_MB) -> list:
    """LAYERS uncompressed layer tars of incompressible bytes, written to files."""
    size = image_mb * 1_000_000 // LAYERS
    paths = []
    for i in range(LAYERS):
        path = root / f"layer{image_mb}-{i}.tar"
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(f"l{i}/data.bin")
            info.size = size
            tar.addfile(info, _Random(size, seed=i))
        paths.append(path)
    return paths


class _Random:
    """A file-like object of `size` pseudo-random bytes (SHAKE-256, 1 MiB at a time)."""

    def __init__(self, size: int, seed: int):
        self.left = size
        self.seed = seed
        self.counter = 0
        self.buffer = b""

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        while len(self.buffer) < n:
            self.counter += 1
            self.buffer += hashlib.shake_256(f"{self.seed}:{self.counter}".encode()).digest(1 << 20)
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        self.left -= n
        return out


def oci_gzip_layout(directory: pathlib.Path, tars: list) -> None:
    """An OCI layout whose layers are gzip (stored blocks: the content is incompressible)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    diff_ids, descriptors = [], []
    for tar in tars:
        plain, packed = hashlib.sha256(), hashlib.sha256()
        tmp = blobs / "tmp"
        with open(tar, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=0, mtime=0) as gz:
                while chunk := src.read(1 << 20):
                    plain.update(chunk)
                    gz.write(chunk)
        with open(tmp, "rb") as f:
            while chunk := f.read(1 << 20):
                packed.update(chunk)
        digest = "sha256:" + packed.hexdigest()
        size = tmp.stat().st_size
        tmp.rename(blobs / packed.hexdigest())
        diff_ids.append("sha256:" + plain.hexdigest())
        descriptors.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest,
                "size": size,
            }
        )
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    (blobs / hashlib.sha256(config).hexdigest()).write_bytes(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    (blobs / hashlib.sha256(manifest).hexdigest()).write_bytes(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "bench"},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))


def docker_archive(path: pathlib.Path, tars: list) -> None:
    """`docker save` legacy layout with the uncompressed tars as layer.tar (streamed in)."""
    diff_ids = []
    for t in tars:
        h = hashlib.sha256()
        with open(t, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        diff_ids.append("sha256:" + h.hexdigest())
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layers = []
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        for i, t in enumerate(tars):
            name = f"{i:064x}/layer.tar"
            out.add(str(t), arcname=name)
            layers.append(name)
        for name, data in (
            (config_name, config),
            (
                "manifest.json",
                json.dumps(
                    [{"Config": config_name, "RepoTags": ["bench:1"], "Layers": layers}]
                ).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def run_measured(command: list, env=None) -> dict:
    """Runs `command`; its wall time, CPU time and peak RSS (from its own rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    # Read the pipes on threads so the child never blocks on a full pipe.
    out = {}

    def drain(name, stream):
        out[name] = stream.read()

    threads = [
        threading.Thread(target=drain, args=(n, s))
        for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {out.get('err', b'').decode()[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


FLOOR = r"""
import base64, http.client, json, os, sys, threading, urllib.parse
host, repo, blobs_dir, user, password = sys.argv[1:6]
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
def put(name):
    conn = http.client.HTTPConnection(host, timeout=600)
    headers = {"Authorization": auth, "Content-Length": "0"}
    conn.request("POST", f"/v2/{repo}/blobs/uploads/", headers=headers)
    r = conn.getresponse(); r.read()
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    path = loc.path + "?" + (loc.query + "&" if loc.query else "") + "digest=sha256:" + name
    size = os.path.getsize(os.path.join(blobs_dir, name))
    with open(os.path.join(blobs_dir, name), "rb") as f:
        conn2 = http.client.HTTPConnection(host, timeout=600, blocksize=1 << 20)
        headers = {"Authorization": auth, "Content-Length": str(size)}
        conn2.request("PUT", path, body=f, headers=headers)
        r = conn2.getresponse(); r.read()
        assert r.status == 201, (r.status, name)
threads = [threading.Thread(target=put, args=(n,)) for n in os.listdir(blobs_dir)]
[t.start() for t in threads]; [t.join() for t in threads]
"""


def ours(source: str, dest: str, cache: pathlib.Path) -> dict:
    return run_measured(
        [sys.executable, "-m", "dss_gke", "push", source, dest],
        env={"REGISTRY_CREDS": f"{USER}:{PASSWORD}", "XDG_CACHE_HOME": str(cache)},
    )


def skopeo(source: str, dest: str) -> dict:
    return run_measured(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"{USER}:{PASSWORD}",
            source,
            f"docker://{dest}",
        ]
    )


def floor(registry: LocalRegistry, repo: str, blobs: pathlib.Path) -> dict:
    return run_measured(
        [sys.executable, "-c", FLOOR, registry.host, repo, str(blobs), USER, PASSWORD]
    )


def fresh_registry(work: pathlib.Path, name: str) -> LocalRegistry:
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    return LocalRegistry(root).start()


def cold(work: pathlib.Path, label: str, push) -> list:
    results = []
    for run in range(RUNS):
        registry = fresh_registry(work, f"registry-{label}-{run}")
        try:
            results.append(push(registry, run))
        finally:
            registry.close()
            shutil.rmtree(registry.root, ignore_errors=True)
    return results


def median(results: list) -> dict:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def row(name: str, m: dict) -> None:
    print(f"{name:46} {m['wall']:8.2f} {m['cpu']:8.2f} {m['rss_mb']:8.0f}")


def big_archive_push(work: pathlib.Path) -> dict:
    """Ours alone pushing a BIG_IMAGE_MB docker-archive once (for its peak RSS); the files are
    removed as soon as they are not needed."""
    big = work / "big"
    big.mkdir()
    try:
        tars = layer_tars(big, BIG_IMAGE_MB)
        archive = big / "image.tar"
        docker_archive(archive, tars)
        for t in tars:
            t.unlink()
        registry = fresh_registry(work, "registry-big")
        try:
            return ours(f"docker-archive:{archive}", f"{registry.host}/b/big:1", big / "cache")
        finally:
            registry.close()
            shutil.rmtree(registry.root, ignore_errors=True)
    finally:
        shutil.rmtree(big, ignore_errors=True)


def main(summary=None) -> None:
    print(f"\nImage push: {IMAGE_MB} MB in {LAYERS} layers, medians of {RUNS} runs")
    with tempfile.TemporaryDirectory(prefix="bench-registry-", dir="/var/tmp") as tmp:
        work = pathlib.Path(tmp)
        tars = layer_tars(work)
        layout = work / "layout"
        oci_gzip_layout(layout, tars)
        archive = work / "image.tar"
        docker_archive(archive, tars)
        for t in tars:
            t.unlink()
        src_oci = f"oci:{layout}:bench"
        blobs = layout / "blobs" / "sha256"

        cold_ours = cold(
            work, "ours", lambda r, i: ours(src_oci, f"{r.host}/b/img:1", work / f"cache-{i}")
        )
        cold_skopeo = cold(work, "skopeo", lambda r, i: skopeo(src_oci, f"{r.host}/b/img:1"))
        cold_floor = cold(work, "floor", lambda r, i: floor(r, "b/img", blobs))

        registry = fresh_registry(work, "registry-warm")
        try:
            ours(src_oci, f"{registry.host}/b/img:1", work / "cache-warm")
            warm_ours = [
                ours(src_oci, f"{registry.host}/b/img:1", work / "cache-warm") for _ in range(RUNS)
            ]
            warm_skopeo = [skopeo(src_oci, f"{registry.host}/b/img:1") for _ in range(RUNS)]
        finally:
            registry.close()
            shutil.rmtree(registry.root, ignore_errors=True)

        src_archive = f"docker-archive:{archive}"
        arch_ours = cold(
            work,
            "arch-ours",
            lambda r, i: ours(src_archive, f"{r.host}/b/arch:1", work / f"cache-a{i}"),
        )
        arch_skopeo = cold(
            work, "arch-skopeo", lambda r, i: skopeo(src_archive, f"{r.host}/b/arch:1")
        )
        big = big_archive_push(work)

    print(f"{'case':46} {'wall s':>8} {'cpu s':>8} {'rss MB':>8}")
    m = {
        "cold ours": median(cold_ours),
        "cold skopeo": median(cold_skopeo),
        "cold floor (parallel PUTs)": median(cold_floor),
        "warm ours": median(warm_ours),
        "warm skopeo": median(warm_skopeo),
        "docker-archive (uncompressed) ours": median(arch_ours),
        "docker-archive (uncompressed) skopeo": median(arch_skopeo),
    }
    for name, value in m.items():
        row(name, value)
    ratio_skopeo = m["cold ours"]["wall"] / m["cold skopeo"]["wall"]
    ratio_floor = m["cold ours"]["wall"] / m["cold floor (parallel PUTs)"]["wall"]
    warm_ratio = m["warm ours"]["wall"] / m["warm skopeo"]["wall"]
    row(f"docker-archive {BIG_IMAGE_MB} MB ours (once)", big)
    peak = max(r["rss_mb"] for r in cold_ours + warm_ours + arch_ours + [big])

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(
        f"cold: ours/skopeo {ratio_skopeo:.2f} (target ≤ {COLD_VS_SKOPEO}: "
        f"{verdict(ratio_skopeo <= COLD_VS_SKOPEO)}), ours/floor {ratio_floor:.2f} "
        f"(target ≤ {COLD_VS_FLOOR}: {verdict(ratio_floor <= COLD_VS_FLOOR)})"
    )
    print(f"warm: ours/skopeo {warm_ratio:.2f} (target ≤ 1: {verdict(warm_ratio <= 1)})")
    print(
        f"peak RSS of ours: {peak:.0f} MB, {big['rss_mb']:.0f} MB for the {BIG_IMAGE_MB} MB"
        f" image (target ≤ {RSS_MB}: {verdict(peak <= RSS_MB)})"
    )
    if summary is not None:
        wall = {k: v["wall"] for k, v in m.items()}
        summary.add(
            f"push {IMAGE_MB} MB OCI, cold", wall["cold ours"], "skopeo", wall["cold skopeo"],
            f"<= {COLD_VS_SKOPEO}x skopeo", ratio_skopeo <= COLD_VS_SKOPEO,
        )  # fmt: skip
        summary.add(
            f"push {IMAGE_MB} MB OCI, cold", wall["cold ours"], "parallel PUTs",
            wall["cold floor (parallel PUTs)"], f"<= {COLD_VS_FLOOR}x floor",
            ratio_floor <= COLD_VS_FLOOR,
        )  # fmt: skip
        summary.add(
            f"push {IMAGE_MB} MB OCI, warm", wall["warm ours"], "skopeo", wall["warm skopeo"],
            "<= 1x skopeo", warm_ratio <= 1,
        )  # fmt: skip
        archive = wall["docker-archive (uncompressed) ours"]
        archive_skopeo = wall["docker-archive (uncompressed) skopeo"]
        summary.add(
            "push docker-archive (docker save)", archive, "skopeo", archive_skopeo,
            "<= 0.5x skopeo", archive <= 0.5 * archive_skopeo,
        )  # fmt: skip
        summary.add(
            f"push peak RSS (up to {BIG_IMAGE_MB} MB)", peak, "target", RSS_MB, f"<= {RSS_MB} MB",
            peak <= RSS_MB, unit="MB",
        )  # fmt: skip


if __name__ == "__main__":
    main()
