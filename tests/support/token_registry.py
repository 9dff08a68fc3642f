"""A registry token service in front of Debian's docker-registry, as Artifact Registry's docker
endpoint works: `/v2/…` wants `Bearer` tokens that `/token` hands out for Basic credentials,
and a token expires: `expire_after(n)` has the n+1-th request from now refused with 401 and the
Bearer challenge, as when a token expires mid-push. `forwarded` lists the requests passed on."""

import base64
import http.client
import http.server
import json
import threading

from tests.support.loopback import Served, read_body

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


class TokenRegistry(Served):
    def __init__(self, upstream_host: str, user: str, password: str):
        self.upstream_host = upstream_host
        self.basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.tokens_issued = 0
        self.refused = []  # (method, path) answered 401 for an expired token
        self.forwarded = []  # (method, path) passed on to the registry
        self._expire_at = None
        self._valid = None
        self._forwarded = 0
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self._httpd.server_address[1]}"

    def expire_after(self, requests: int):
        """The token in use expires once `requests` more requests were served with it."""
        with self._lock:
            self._expire_at = self._forwarded + requests

    def _handler(self):
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                return read_body(self)

            def _answer(self, status, headers, body=b"", length=None):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", length or str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _token(self):
                if self.headers.get("Authorization") != service.basic:
                    return self._answer(401, [("WWW-Authenticate", 'Basic realm="tokens"')])
                with service._lock:
                    service.tokens_issued += 1
                    service._valid = f"tok-{service.tokens_issued}"
                    token = service._valid
                body = json.dumps({"token": token, "expires_in": 60}).encode()
                self._answer(200, [("Content-Type", "application/json")], body)

            def _forward(self):
                body = self._body()
                if self.path.startswith("/token"):
                    return self._token()
                with service._lock:
                    valid = service._valid and (
                        self.headers.get("Authorization") == f"Bearer {service._valid}"
                    )
                    if valid:
                        service._forwarded += 1
                        if service._expire_at is not None and (
                            service._forwarded > service._expire_at
                        ):
                            service._expire_at = None
                            service._valid = None
                            valid = False
                    if not valid and self.headers.get("Authorization", "").startswith("Bearer"):
                        service.refused.append((self.command, self.path.split("?")[0]))
                if not valid:
                    challenge = (
                        f'Bearer realm="http://{service.host}/token",service="token-registry"'
                    )
                    return self._answer(401, [("WWW-Authenticate", challenge)])
                with service._lock:
                    service.forwarded.append((self.command, self.path.split("?")[0]))
                upstream = http.client.HTTPConnection(service.upstream_host, timeout=60)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in HOP_HEADERS | {"authorization", "content-length"}
                }
                headers["Authorization"] = service.basic
                headers["Content-Length"] = str(len(body))
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                kept = [
                    (k, v)
                    for k, v in response.getheaders()
                    if k.lower() not in HOP_HEADERS | {"content-length"}
                ]
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                upstream.close()
                self._answer(response.status, kept, data, length)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
