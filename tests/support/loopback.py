"""What the tests' loopback HTTP servers share: serving on a daemon thread for a `with` block,
and reading a request body sent with Content-Length or chunked."""

import threading


class Served:
    """`with Server() as s:` serves `self._httpd` (a socketserver) until the block ends."""

    def __enter__(self):
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()


def read_body(handler) -> bytes:
    """The body of the request `handler` (a BaseHTTPRequestHandler) is reading."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
