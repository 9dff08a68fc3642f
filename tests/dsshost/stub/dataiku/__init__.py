"""Stand-in for DSS's `dataiku` package, as much of it as gke-native's components use.

It lives only under tests/ and never enters the plugin zip. What DSS's backend answers comes
from the harness's loopback backend (`api_client()`, `core.intercom`); the component's own
context (its config, inputs and outputs) from the file named by DKU_HARNESS_CONTEXT.
"""

import json
import os
import pathlib
import shutil
import sys

__all__ = ["Dataset", "Folder", "api_client", "default_project_key", "use_plugin_libs"]


def _dip_home() -> pathlib.Path:
    return pathlib.Path(os.environ["DIP_HOME"])


def _context() -> dict:
    return json.loads(pathlib.Path(os.environ["DKU_HARNESS_CONTEXT"]).read_text())


def default_project_key() -> str:
    return _context().get("project_key", "PROJECT")


def use_plugin_libs(plugin_id: str) -> None:
    """Puts an installed plugin's python-lib on sys.path, as DSS does in notebooks."""
    lib = _dip_home() / "plugins" / "installed" / plugin_id / "python-lib"
    if not lib.is_dir():
        raise Exception(f"Plugin {plugin_id} is not installed")
    if str(lib) not in sys.path:
        sys.path.insert(0, str(lib))


def api_client():
    """The real `dataikuapi.DSSClient`, authenticated as the component's DSS process is, talking
    to the harness's loopback stand-in of DSS's backend (tests/dsshost/backend.py)."""
    from dataikuapi import DSSClient

    return DSSClient(
        os.environ["DKU_HARNESS_BACKEND_URL"], internal_ticket=os.environ["DKU_HARNESS_TICKET"]
    )


class Folder:
    """A managed folder stored in DIP_HOME/managed_folders/NAME.

    Folders named in env DKU_HARNESS_NONLOCAL_FOLDERS (comma-separated) behave like DSS's
    non-local folders (S3, GCS, ...): no get_path(), only the streaming API."""

    def __init__(self, name: str):
        self.name = name
        self._root = _dip_home() / "managed_folders" / name
        self._root.mkdir(parents=True, exist_ok=True)
        nonlocal_names = os.environ.get("DKU_HARNESS_NONLOCAL_FOLDERS", "").split(",")
        self._local = name not in nonlocal_names

    def get_info(self) -> dict:
        info = {"id": self.name, "name": self.name, "type": "Filesystem" if self._local else "S3"}
        if self._local:
            info["path"] = str(self._root)
        return info

    def get_path(self) -> str:
        if not self._local:
            raise Exception(f"Folder {self.name} is not on the local filesystem")
        return str(self._root)

    def get_path_details(self, path: str = "/") -> dict:
        target = self._file(path)
        if not target.exists():
            return {"exists": False, "directory": False, "fullPath": path}
        stat = target.stat()
        return {
            "exists": True,
            "directory": target.is_dir(),
            "fullPath": path,
            "name": target.name,
            "size": stat.st_size,
            "lastModified": int(stat.st_mtime * 1000),
        }

    def _file(self, path: str) -> pathlib.Path:
        return self._root / path.lstrip("/")

    def list_paths_in_partition(self, partition: str = "") -> list:
        return sorted(
            "/" + p.relative_to(self._root).as_posix() for p in self._root.rglob("*") if p.is_file()
        )

    def get_download_stream(self, path: str):
        return open(self._file(path), "rb")

    def upload_stream(self, path: str, f) -> None:
        """Like DSS's object-store folders: the file appears whole, or not at all if `f` fails."""
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.uploading")
        try:
            with open(partial, "wb") as out:
                shutil.copyfileobj(f, out)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    def delete_path(self, path: str) -> None:
        self._file(path).unlink()


class Dataset:
    """A dataset stored as JSON records: DIP_HOME/datasets/NAME.json."""

    def __init__(self, name: str):
        self.name = name
        self._path = _dip_home() / "datasets" / f"{name}.json"

    def write_with_schema(self, df) -> None:
        records = df.to_dict(orient="records") if hasattr(df, "to_dict") else list(df)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(records))
