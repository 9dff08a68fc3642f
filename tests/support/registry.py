"""Debian's docker-registry (the CNCF distribution server) on loopback with htpasswd
authentication and on-disk storage (kept across `restart()`), and skopeo reading back from it."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

USER, PASSWORD = "pusher", "s3cret-push"
# What Artifact Registry's docker endpoint accepts: the user `oauth2accesstoken` and an access
# token; here the token the emulator's metadata server hands out.
TOKEN_USER, TOKEN = "oauth2accesstoken", "ya29.gke-emulator-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} is not installed: run the tests with `make test` (make deps)")
    return path


class LocalRegistry:
    """One docker-registry. `users` maps user → password (bcrypt htpasswd)."""

    def __init__(self, root: pathlib.Path, users=None):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.users = users or {USER: PASSWORD, TOKEN_USER: TOKEN}
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._process = None
        htpasswd = self.root / "htpasswd"
        htpasswd.write_text("")
        for user, password in self.users.items():
            subprocess.run(
                [_binary("htpasswd"), "-Bb", str(htpasswd), user, password],
                check=True,
                capture_output=True,
            )
        os.chmod(htpasswd, 0o600)
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": "gke-native-tests"},
            "auth": {"htpasswd": {"realm": "gke-native-tests", "path": str(htpasswd)}},
        }
        # docker-registry reads YAML; JSON is YAML.
        (self.root / "config.yml").write_text(json.dumps(config))

    def start(self) -> "LocalRegistry":
        self._log = open(self.root / "registry.log", "ab")
        self._process = subprocess.Popen(
            [_binary("docker-registry"), "serve", str(self.root / "config.yml")],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1)
                return self
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return self
            except OSError:
                pass
            if self._process.poll() is not None:
                raise RuntimeError(
                    "docker-registry exited at start: "
                    + (self.root / "registry.log").read_text()[-2000:]
                )
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer within 20 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
            self._log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()

    # --- reading back with skopeo -------------------------------------------------------------

    def skopeo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_binary("skopeo"), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
            env={**os.environ, "TMPDIR": tempfile.gettempdir()},
        )

    def inspect(self, image: str, raw: bool = False, creds=(USER, PASSWORD)):
        """`skopeo inspect` of `image` (a path in this registry); JSON."""
        args = ["inspect", "--tls-verify=false", "--creds", f"{creds[0]}:{creds[1]}"]
        if raw:
            args.append("--raw")
        out = self.skopeo(*args, f"docker://{self.host}/{image}").stdout
        return json.loads(out)

    def exists(self, image: str) -> bool:
        args = ["inspect", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}", "--raw"]
        return self.skopeo(*args, f"docker://{self.host}/{image}", check=False).returncode == 0

    def copy_to_dir(self, image: str, target: pathlib.Path) -> dict:
        """`skopeo copy` to a `dir:` target; returns its manifest (skopeo verifies every digest)."""
        self.skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            f"{USER}:{PASSWORD}",
            f"docker://{self.host}/{image}",
            f"dir:{target}",
        )
        return json.loads((target / "manifest.json").read_text())
