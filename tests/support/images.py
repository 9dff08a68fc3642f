"""Images built by the tests: layer tars, OCI layouts, `docker save` archives (legacy and OCI
layouts), and a small fake Docker Engine on a unix socket serving them as `docker save` does."""

import gzip
import hashlib
import http.server
import io
import json
import os
import pathlib
import socketserver
import tarfile
import threading
import urllib.parse


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict) -> bytes:
    """An uncompressed layer: `files` maps path → bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def random_layers(count: int, size: int, seed: int = 0) -> list:
    """`count` layers, each a file of `size` incompressible bytes plus a small text file."""
    layers = []
    for i in range(count):
        noise = hashlib.sha256(f"{seed}-{i}".encode()).digest() * 1
        data = bytearray()
        block = noise
        while len(data) < size:
            block = hashlib.sha512(block).digest()
            data += block
        files = {f"layer{i}/data.bin": bytes(data[:size]), f"layer{i}/README": b"layer %d\n" % i}
        layers.append(layer_tar(files))
    return layers


def image_config(layers: list) -> bytes:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    return json.dumps(config, sort_keys=True).encode()


def _write_blob(blobs: pathlib.Path, data: bytes) -> str:
    digest = sha256(data)
    (blobs / digest.split(":")[1]).write_bytes(data)
    return digest


def oci_layout(directory: pathlib.Path, layers: list, tag: str = "latest", compress=True) -> dict:
    """An OCI image layout with one image tagged `tag`; gzip layers unless `compress=False`.
    Returns the manifest digest and the blobs' digests."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    config = image_config(layers)
    descriptors = []
    for tar in layers:
        data = gzip.compress(tar, compresslevel=1, mtime=0) if compress else tar
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        descriptors.append(
            {"mediaType": media, "digest": _write_blob(blobs, data), "size": len(data)}
        )
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _write_blob(blobs, config),
            "size": len(config),
        },
        "layers": descriptors,
    }
    manifest_bytes = json.dumps(manifest).encode()
    manifest_digest = _write_blob(blobs, manifest_bytes)
    index_path = directory / "index.json"
    index = (
        json.loads(index_path.read_text())
        if index_path.exists()
        else {"schemaVersion": 2, "manifests": []}
    )
    index["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    )
    index_path.write_text(json.dumps(index))
    return {
        "manifest_digest": manifest_digest,
        "layers": [d["digest"] for d in descriptors],
        "config": manifest["config"]["digest"],
    }


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def docker_archive(path: pathlib.Path, reference: str, layers: list, layout: str = "legacy"):
    """What `docker save REFERENCE` writes: `layout="legacy"` (`<id>/layer.tar`, Docker < 25)
    or `"oci"` (an OCI layout plus Docker's manifest.json, Docker ≥ 25). Layers uncompressed."""
    config = image_config(layers)
    config_hex = sha256(config).split(":")[1]
    name, tag = reference.rsplit(":", 1)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        if layout == "legacy":
            paths = []
            parent = ""
            for t in layers:
                layer_id = hashlib.sha256(f"{parent}{sha256(t)}".encode()).hexdigest()
                _add(tar, f"{layer_id}/VERSION", b"1.0")
                meta = {"id": layer_id, "parent": parent} if parent else {"id": layer_id}
                _add(tar, f"{layer_id}/json", json.dumps(meta).encode())
                _add(tar, f"{layer_id}/layer.tar", t)
                paths.append(f"{layer_id}/layer.tar")
                parent = layer_id
            _add(tar, f"{config_hex}.json", config)
            config_path = f"{config_hex}.json"
            repositories = {name: {tag: parent}}
        else:
            paths = []
            descriptors = []
            for t in layers:
                digest = sha256(t)
                _add(tar, f"blobs/sha256/{digest.split(':')[1]}", t)
                paths.append(f"blobs/sha256/{digest.split(':')[1]}")
                descriptors.append(
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest,
                        "size": len(t),
                    }
                )
            _add(tar, f"blobs/sha256/{config_hex}", config)
            config_path = f"blobs/sha256/{config_hex}"
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": sha256(config),
                        "size": len(config),
                    },
                    "layers": descriptors,
                }
            ).encode()
            _add(tar, f"blobs/sha256/{sha256(manifest).split(':')[1]}", manifest)
            index = {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": sha256(manifest),
                        "size": len(manifest),
                        "annotations": {"io.containerd.image.name": reference},
                    }
                ],
            }
            _add(tar, "index.json", json.dumps(index).encode())
            _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
            repositories = {name: {tag: config_hex}}
        docker_manifest = [{"Config": config_path, "RepoTags": [reference], "Layers": paths}]
        _add(tar, "manifest.json", json.dumps(docker_manifest).encode())
        _add(tar, "repositories", json.dumps(repositories).encode())
    return {"config": sha256(config), "diff_ids": [sha256(t) for t in layers]}


class FakeDockerEngine:
    """The Docker Engine API subset a push reads, on a unix socket: `GET /_ping`, `/version`,
    `/images/json` and `/images/{name}/get` (the `docker save` stream of a prepared archive).
    `images` maps `name:tag` → archive path."""

    def __init__(self, socket_path: pathlib.Path, images: dict):
        self.socket_path = str(socket_path)
        self.images = dict(images)
        self.requests = []
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def address_string(self):
                return "unix"

            def _json(self, status: int, value) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                engine.requests.append(path)
                if path.startswith("/v1."):
                    path = "/" + path.split("/", 2)[2]
                if path == "/_ping":
                    body = b"OK"
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(body)
                elif path == "/version":
                    self._json(200, {"Version": "26.1.5", "ApiVersion": "1.45"})
                elif path == "/images/json":
                    listing = [
                        {
                            "Id": "sha256:" + hashlib.sha256(ref.encode()).hexdigest(),
                            "RepoTags": [ref],
                            "Size": os.path.getsize(p),
                        }
                        for ref, p in engine.images.items()
                    ]
                    listing.append({"Id": "sha256:" + "0" * 64, "RepoTags": ["<none>:<none>"]})
                    self._json(200, listing)
                elif path.startswith("/images/") and path.endswith("/get"):
                    ref = path[len("/images/") : -len("/get")]
                    if ":" not in ref.rsplit("/", 1)[-1]:
                        ref += ":latest"
                    archive = engine.images.get(ref)
                    if archive is None:
                        return self._json(404, {"message": f"reference does not exist: {ref}"})
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-tar")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    with open(archive, "rb") as f:
                        while chunk := f.read(256 * 1024):
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._json(404, {"message": f"page not found: {path}"})

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self._server = Server(self.socket_path, Handler)

    def __enter__(self) -> "FakeDockerEngine":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        os.unlink(self.socket_path)
