"""A GCE metadata server on loopback for tests that need one, with scriptable answers."""

import http.server
import json
import time

from tests.support.loopback import Served

DEFAULT_VALUES = {
    "project/project-id": "dss-prod-1234",
    "instance/zone": "projects/123456789/zones/europe-west1-b",
    "instance/name": "dss-host",
    "instance/network-interfaces/0/network": "projects/123456789/networks/dss-vpc",
    "instance/network-interfaces/0/ip": "10.132.0.7",
    "instance/service-accounts/default/email": "dss-host@dss-prod-1234.iam.gserviceaccount.com",
}


class MetadataServer(Served):
    """Answers `/computeMetadata/v1/PATH` from `values`; `errors[PATH] = (status, body)` and
    `delay` (seconds) script failures; `requests` records each path asked."""

    def __init__(self):
        self.values = dict(DEFAULT_VALUES)
        self.errors = {}
        self.delay = 0.0
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.removeprefix("/computeMetadata/v1/")
                server.requests.append(path)
                if server.delay:
                    time.sleep(server.delay)
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self._send(403, "Missing Metadata-Flavor:Google header.")
                if path in server.errors:
                    return self._send(*server.errors[path])
                if path not in server.values:
                    return self._send(404, "not found")
                return self._send(200, server.values[path])

            def _send(self, status, body):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self._httpd.server_address[1]}"
