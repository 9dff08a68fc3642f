"""A loopback stand-in of the DSS backend's HTTP routes that plugin components and the tests use.

Components reach it as they reach DSS: `dataiku.api_client()` is the real `dataikuapi.DSSClient`
(PyPI `dataiku-api-client`) pointed here, so the client's own accessors (`get_settings()`,
`get_raw()`, `get_plugin_data()`, `save()`) decide the shapes; and
`dataiku.core.intercom.backend_json_call("plugins/get-resolved-settings", ...)` posts here.
Only the routes used are served; anything else answers 404 as DSS does for an unknown route.

Routes (paths as `dataikuapi` builds them: `{host}/dip/publicapi{path}`):
- `GET /admin/clusters/`: the cluster list (`id`, `name`, `type`, `architecture`, `state`).
- `POST /admin/clusters/`: create (`DSSClient.create_cluster`).
- `GET|PUT|DELETE /admin/clusters/{id}`: the whole definition, as DSS keeps it: `id`, `name`,
  `type` (`pycluster_<plugin>_<component>`), `architecture`, `params.config` (presets as
  references, unresolved), `data` (what start() returned), `containerSettings`, `sparkSettings`.
- `GET /admin/clusters/{id}/status`.
- `GET|PUT /admin/general-settings`: the whole instance settings (`DSSGeneralSettings`), saved
  whole; a list of containerized-execution or Spark configs holding a name twice is refused,
  as DSS's settings screen refuses it.
- `GET|POST /admin/connections/`, `GET|PUT|DELETE /admin/connections/{name}`: connections as
  `DSSClient.create_connection` creates them and `DSSConnectionSettings` reads and saves them;
  creating a name that exists is refused.
- `POST /dip/api/tintercom/plugins/get-resolved-settings` (form: `elementConfig` JSON,
  `elementType`): `{"config", "pluginConfig"}` resolved by the harness as DSS resolves them.
"""

import copy
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PUBLIC = "/dip/publicapi"
INTERCOM = "/dip/api/tintercom/"


# A fresh DSS's general settings, as far as the tests need them: the container and Spark config
# lists (keys from Dataiku's public material: gke-core's dss_setup/fields.rs names the sources),
# the Spark config a new DSS has, and settings the plugin must leave as they are.
FRESH_GENERAL_SETTINGS = {
    "containerSettings": {"executionConfigs": [], "executionConfigsGenericOverrides": {}},
    "sparkSettings": {
        "executionConfigs": [{"name": "default", "description": "", "conf": []}],
        "executionConfigsGenericOverrides": {},
    },
    "impersonation": {"userRules": [], "groupRules": []},
    "ldapSettings": {"enabled": False},
}

# A connection as DSS keeps it (`DSSConnectionSettings`'s accessors), the create body aside.
CONNECTION_DEFAULTS = {
    "allowWrite": True,
    "allowManagedDatasets": True,
    "allowManagedFolders": True,
    "credentialsMode": "GLOBAL",
    "detailsReadability": {"readableBy": "NONE", "allowedGroups": []},
}


class _Refused(Exception):
    """DSS refuses the request (400) with this message."""

    def __init__(self, message: str):
        self.message = message


class _NotFound(Exception):
    def __init__(self, message: str):
        self.message = message


def _cluster_definition(cluster_id: str, name: str, cluster_type: str, architecture: str, params):
    return {
        "id": cluster_id,
        "name": name,
        "type": cluster_type,
        "architecture": architecture,
        "params": copy.deepcopy(params) if params is not None else {},
        "owner": "admin",
        "usableByAll": False,
        "permissions": [],
        "containerSettings": {"executionConfigsGenericOverrides": {}},
        "sparkSettings": {"executionConfigsGenericOverrides": {}},
        "data": None,
        "state": "NONE",
    }


class DssBackend:
    """The backend of one DSS instance. `resolve(element_type, config)` returns the resolved
    `{"config", "pluginConfig"}` of a component's saved config."""

    def __init__(self, resolve):
        self._resolve = resolve
        self._lock = threading.Lock()
        self._clusters = {}
        self.general_settings = copy.deepcopy(FRESH_GENERAL_SETTINGS)
        self.connections = {
            "filesystem_managed": {
                "name": "filesystem_managed",
                "type": "Filesystem",
                "params": {"root": "${dip.home}/managed_datasets"},
                "usableBy": "ALL",
                "allowedGroups": [],
                **copy.deepcopy(CONNECTION_DEFAULTS),
            }
        }
        self.failing = []  # (method, path prefix): answered 500 from now on, for fault tests
        self.requests = []  # (method, path) of every call, for tests
        self.ticket = secrets.token_hex(16)  # what components authenticate with
        self.api_key = secrets.token_hex(16)  # what the tests' own admin client uses
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                backend._serve(self, "GET")

            def do_POST(self):
                backend._serve(self, "POST")

            def do_PUT(self):
                backend._serve(self, "PUT")

            def do_DELETE(self):
                backend._serve(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    # --- what the harness itself does to its state (DSS's own actions) ------------------------
    def define_cluster(self, cluster_id, cluster_type, architecture, config):
        with self._lock:
            existing = self._clusters.get(cluster_id)
            if existing is None:
                self._clusters[cluster_id] = _cluster_definition(
                    cluster_id, cluster_id, cluster_type, architecture, {"config": config}
                )
            else:
                existing["params"]["config"] = copy.deepcopy(config)
            return copy.deepcopy(self._clusters[cluster_id])

    def cluster(self, cluster_id) -> dict:
        with self._lock:
            if cluster_id not in self._clusters:
                raise KeyError(f"no cluster {cluster_id}")
            return copy.deepcopy(self._clusters[cluster_id])

    def set_cluster_state(self, cluster_id, state, data=None, overrides=None):
        with self._lock:
            definition = self._clusters[cluster_id]
            definition["state"] = state
            definition["data"] = copy.deepcopy(data)
            definition["_overrides"] = copy.deepcopy(overrides)

    # --- HTTP ---------------------------------------------------------------------------------
    def _authorized(self, handler) -> bool:
        if handler.headers.get("X-DKU-APITicket") == self.ticket:
            return True
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            import base64

            user = base64.b64decode(auth[6:]).decode("utf-8", "replace").split(":", 1)[0]
            return user == self.api_key
        return False

    def _send(self, handler, status: int, body) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (a timeout): as DSS, nothing to tell it

    def _error(self, handler, status, error_type, message):
        self._send(
            handler,
            status,
            {"errorType": error_type, "message": message, "detailedMessage": message},
        )

    def _serve(self, handler, method: str) -> None:
        url = urllib.parse.urlsplit(handler.path)
        path = url.path
        self.requests.append((method, path))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if not self._authorized(handler):
            return self._error(
                handler, 401, "com.dataiku.dip.exceptions.UnauthorizedException", "Not logged in"
            )
        try:
            for fail_method, prefix in self.failing:
                if method == fail_method and path.startswith(PUBLIC + prefix):
                    raise RuntimeError(f"DSS backend error on {method} {prefix}")
            if path.startswith(INTERCOM):
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                return self._send(handler, 200, self._intercom(path[len(INTERCOM) :], form))
            if path.startswith(PUBLIC):
                body = json.loads(raw) if raw else None
                status, answer = self._public(method, path[len(PUBLIC) :], body)
                return self._send(handler, status, answer)
            raise _NotFound(f"no route {path}")
        except _NotFound as e:
            return self._error(
                handler, 404, "com.dataiku.dip.exceptions.UnknownObjectException", e.message
            )
        except _Refused as e:
            return self._error(handler, 400, "com.dataiku.dip.exceptions.CodedException", e.message)
        except Exception as e:  # a bad request from a component: DSS answers 500 with the reason
            return self._error(handler, 500, type(e).__name__, str(e))

    def _intercom(self, call: str, form: dict):
        if call == "plugins/get-resolved-settings":
            config = json.loads(form["elementConfig"])
            return self._resolve(form["elementType"], config)
        raise _NotFound(f"no backend call {call}")

    def _public(self, method: str, path: str, body):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["admin", "general-settings"]:
            return self._general_settings(method, body)
        if parts[:2] == ["admin", "connections"]:
            return self._connections(method, parts[2:], body)
        if parts[:2] != ["admin", "clusters"]:
            raise _NotFound(f"no route {path}")
        with self._lock:
            if len(parts) == 2 and method == "GET":
                return 200, [
                    {k: c[k] for k in ("id", "name", "type", "architecture", "state")}
                    for c in self._clusters.values()
                ]
            if len(parts) == 2 and method == "POST":
                cluster_id = body["name"]
                self._clusters[cluster_id] = _cluster_definition(
                    cluster_id,
                    body["name"],
                    body["type"],
                    body.get("architecture", "HADOOP"),
                    body.get("params"),
                )
                return 200, {"id": cluster_id, "messages": {"error": False, "messages": []}}
            cluster_id = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
            if cluster_id not in self._clusters:
                raise _NotFound(f"Cluster {cluster_id} does not exist")
            definition = self._clusters[cluster_id]
            if len(parts) == 3 and method == "GET":
                return 200, {k: v for k, v in definition.items() if not k.startswith("_")}
            if len(parts) == 3 and method == "PUT":
                kept = {k: v for k, v in definition.items() if k.startswith("_")}
                definition.clear()
                definition.update(copy.deepcopy(body), **kept)
                definition["id"] = cluster_id
                return 200, {k: v for k, v in definition.items() if not k.startswith("_")}
            if len(parts) == 3 and method == "DELETE":
                del self._clusters[cluster_id]
                return 200, {}
            if parts[3:] == ["status"] and method == "GET":
                return 200, {"state": definition.get("state", "NONE")}
        raise _NotFound(f"no route {method} {path}")

    def _general_settings(self, method: str, body):
        with self._lock:
            if method == "GET":
                return 200, copy.deepcopy(self.general_settings)
            if method == "PUT":
                if not isinstance(body, dict):
                    raise _Refused("general settings must be an object")
                for section, what in (
                    ("containerSettings", "container configuration"),
                    ("sparkSettings", "Spark configuration"),
                ):
                    names = [
                        c.get("name") for c in body.get(section, {}).get("executionConfigs", [])
                    ]
                    twice = sorted({n for n in names if names.count(n) > 1})
                    if twice:
                        raise _Refused(f"Duplicate {what} name: {', '.join(map(str, twice))}")
                self.general_settings = copy.deepcopy(body)
                return 200, None
        raise _NotFound(f"no route {method} /admin/general-settings")

    def _connections(self, method: str, rest: list, body):
        with self._lock:
            if not rest and method == "GET":
                return 200, {
                    name: {k: c.get(k) for k in ("name", "type", "usableBy", "allowedGroups")}
                    for name, c in self.connections.items()
                }
            if not rest and method == "POST":
                name = body.get("name") or ""
                if not name:
                    raise _Refused("a connection needs a name")
                if name in self.connections:
                    raise _Refused(f"Connection {name} already exists")
                if not isinstance(body.get("params"), dict) or not body.get("type"):
                    raise _Refused("a connection needs a type and params")
                self.connections[name] = {
                    **copy.deepcopy(CONNECTION_DEFAULTS),
                    **copy.deepcopy(body),
                }
                return 200, None
            name = urllib.parse.unquote(rest[0]) if rest else ""
            if name not in self.connections:
                raise _NotFound(f"Connection {name} does not exist")
            if len(rest) == 1 and method == "GET":
                return 200, copy.deepcopy(self.connections[name])
            if len(rest) == 1 and method == "PUT":
                if body.get("type") != self.connections[name]["type"]:
                    raise _Refused("a connection's type cannot be changed")
                self.connections[name] = {**copy.deepcopy(body), "name": name}
                return 200, {}
            if len(rest) == 1 and method == "DELETE":
                del self.connections[name]
                return 200, {}
        raise _NotFound(f"no route {method} /admin/connections/{'/'.join(rest)}")
