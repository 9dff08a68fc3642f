"""gke-emulator on loopback for the tests: start, admin surface, restart with its state file."""

import json
import os
import pathlib
import subprocess
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]

# What the emulated DSS host looks like (its metadata server and its Compute instance).
HOST = {
    "projectId": "dss-prod-1234",
    "zone": "europe-west1-b",
    "instanceName": "dss-host",
    "serviceAccountEmail": "dss-host@dss-prod-1234.iam.gserviceaccount.com",
}


def binary() -> str:
    path = os.environ.get("GKE_EMULATOR_BIN") or str(
        pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "gke-emulator"
    )
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no gke-emulator at {path}: run the tests with `make test`")
    return path


def discovery_dir() -> str:
    import googleapiclient

    return str(pathlib.Path(googleapiclient.__file__).parent / "discovery_cache" / "documents")


class Emulator:
    def __init__(self, state_file: pathlib.Path, operation_seconds: float = 0.3):
        self.state_file = state_file
        self.operation_seconds = operation_seconds
        self.port = 0
        self.proc = None
        self.url = None

    def start(self) -> "Emulator":
        self.proc = subprocess.Popen(
            [
                binary(),
                "--discovery-dir",
                discovery_dir(),
                "--port",
                str(self.port),
                "--state-file",
                str(self.state_file),
                "--operation-seconds",
                str(self.operation_seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"gke-emulator did not start: {self.url!r}")
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def admin(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def requests(self) -> list:
        return self.admin("GET", "requests")["requests"]

    def google_requests(self) -> list:
        """Calls to the Google APIs (not the clusters' Kubernetes APIs, not the metadata server)."""
        return [
            r
            for r in self.requests()
            if not r.get("cluster") and not r["path"].startswith("/computeMetadata")
        ]

    def env(self, home: pathlib.Path) -> dict:
        """Environment of a DSS process on the emulated host, with no ADC file of its own."""
        return {
            "GKE_NATIVE_API_ENDPOINT": self.url,
            "GCE_METADATA_HOST": self.host,
            "GCE_METADATA_IP": self.host,
            "HOME": str(home),
            "CLOUDSDK_CONFIG": str(home / "gcloud"),
            "GOOGLE_APPLICATION_CREDENTIALS": None,  # unset
            # Operations of a fraction of a second are polled at a third of their length
            # (GKE's take minutes: the product's 2 s period stands from 2 s operations on).
            "GKE_NATIVE_OPERATION_POLL_SECONDS": (
                f"{max(0.05, self.operation_seconds / 3):.3f}"
                if self.operation_seconds < 2
                else None
            ),
        }
