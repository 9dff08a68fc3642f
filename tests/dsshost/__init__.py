"""The DSS host harness: installs a plugin zip into a temporary DIP_HOME and runs its components
the way DSS does (../shared/dss-plugin-contract.md): each in its own process of the plugin's code
env, with `python-lib` on sys.path, the resource folder in DKU_CUSTOM_RESOURCE_FOLDER, resolved
configs, and the cluster's working directory for cluster types.
"""

import copy
import json
import os
import pathlib
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass, field

from .descriptors import validate_plugin

HERE = pathlib.Path(__file__).resolve().parent
STUB = HERE / "stub"
RUNNER = HERE / "runner.py"

__all__ = ["ComponentFailed", "DssHost", "MacroRun", "make_code_env", "validate_plugin"]


class ComponentFailed(Exception):
    """A component raised: what DSS would show as the job's or action's failure."""

    def __init__(self, error: dict, log: str):
        self.type = error["type"]
        self.message = error["message"]
        self.traceback = error["traceback"]
        self.attributes = error.get("attributes", {})
        self.log = log
        super().__init__(f"{self.type}: {self.message}")


@dataclass
class MacroRun:
    result: object
    progress_target: object
    progress: list
    log: str


@dataclass
class ComponentRun:
    value: object
    log: str
    extra: dict = field(default_factory=dict)


# What DSS installs in a code env whose desc.json says installCorePackages (the part of DSS's
# core packages plugin components use).
DSS_CORE_PACKAGES = ["pandas>=1.5,<3"]


def make_code_env(plugin_dir: pathlib.Path, where: pathlib.Path) -> pathlib.Path:
    """A virtualenv built from the plugin's code-env spec, as DSS builds it; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    desc = json.loads((plugin_dir / "code-env" / "python" / "desc.json").read_text())
    requirements = plugin_dir / "code-env" / "python" / "spec" / "requirements.txt"
    wanted = [
        line
        for line in requirements.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if desc.get("installCorePackages"):
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *DSS_CORE_PACKAGES,
            ],
            check=True,
        )
    if wanted:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True
        )
    return python


class DssHost:
    """One DSS instance: a DIP_HOME with one plugin installed, presets and clusters."""

    def __init__(self, dip_home: pathlib.Path, python: pathlib.Path, extra_env=None):
        self.dip_home = pathlib.Path(dip_home)
        self.python = pathlib.Path(python)
        self.extra_env = dict(extra_env or {})
        self.plugin_dir = None
        self.plugin_id = None
        self.presets = {}  # (parameter set id, preset name) -> params
        self.plugin_settings = {}
        (self.dip_home / "harness" / "clusters").mkdir(parents=True, exist_ok=True)

    # --- installation -------------------------------------------------------------------------
    def install(self, zip_path: pathlib.Path) -> pathlib.Path:
        with zipfile.ZipFile(zip_path) as z:
            plugin_id = json.loads(z.read("plugin.json"))["id"]
            target = self.dip_home / "plugins" / "installed" / plugin_id
            z.extractall(target)
        for info in zipfile.ZipFile(zip_path).infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target / info.filename, mode)
        self.plugin_dir, self.plugin_id = target, plugin_id
        problems = validate_plugin(target)
        if problems:
            raise ValueError("DSS refuses the plugin:\n  " + "\n  ".join(problems))
        return target

    def descriptor(self, folder: str, component: str) -> dict:
        name = {
            "python-clusters": "cluster.json",
            "python-runnables": "runnable.json",
            "custom-recipes": "recipe.json",
            "python-steps": "step.json",
        }[folder]
        return json.loads((self.plugin_dir / folder / component / name).read_text())

    # --- presets and config resolution --------------------------------------------------------
    def define_preset(self, parameter_set: str, name: str, params: dict) -> dict:
        """Saves a preset; returns the reference a user config holds for it."""
        if not (self.plugin_dir / "parameter-sets" / parameter_set).is_dir():
            raise KeyError(f"no parameter set {parameter_set}")
        self.presets[(parameter_set, name)] = copy.deepcopy(params)
        return {"mode": "PRESET", "name": name}

    def _parameter_set(self, set_id: str) -> dict:
        path = self.plugin_dir / "parameter-sets" / set_id / "parameter-set.json"
        return json.loads(path.read_text())

    def _resolve_preset(self, set_id: str, ref):
        if ref is None:
            return None
        if isinstance(ref, dict) and ref.get("mode") == "INLINE":
            raw = ref.get("inlineParams", {})
        elif isinstance(ref, dict) and ref.get("mode") == "PRESET":
            key = (set_id, ref.get("name"))
            if key not in self.presets:
                raise KeyError(f"preset {ref.get('name')!r} of {set_id} does not exist")
            raw = self.presets[key]
        else:
            raise ValueError(f"not a preset reference: {ref!r}")
        return self.resolve(self._parameter_set(set_id)["params"], raw)

    def resolve(self, params: list, config: dict) -> dict:
        """The config a component receives: defaults filled, presets resolved into dicts."""
        out = {}
        for param in params:
            name, ptype = param["name"], param["type"]
            if ptype == "SEPARATOR":
                continue
            if name in config:
                value = copy.deepcopy(config[name])
            elif "defaultValue" in param:
                value = copy.deepcopy(param["defaultValue"])
            else:
                continue
            if ptype == "PRESET":
                value = self._resolve_preset(param["parameterSetId"], value)
            elif ptype == "PRESETS":
                value = [self._resolve_preset(param["parameterSetId"], v) for v in value or []]
            out[name] = value
        for name, value in config.items():
            out.setdefault(name, copy.deepcopy(value))
        return out

    def plugin_config(self) -> dict:
        plugin = json.loads((self.plugin_dir / "plugin.json").read_text())
        return self.resolve(plugin.get("params", []), self.plugin_settings)

    # --- running components -------------------------------------------------------------------
    def _run(self, request: dict, cwd: pathlib.Path, env=None, timeout=600) -> tuple:
        run_dir = self.dip_home / "harness" / "runs" / uuid.uuid4().hex[:12]
        run_dir.mkdir(parents=True)
        request = dict(request)
        request["python_lib"] = str(self.plugin_dir / "python-lib")
        request["result_path"] = str(run_dir / "result.json")
        request["plugin_config"] = self.plugin_config()
        context = run_dir / "context.json"
        context.write_text(json.dumps(request))
        cwd.mkdir(parents=True, exist_ok=True)
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        full_env.update(
            {
                "PYTHONPATH": str(STUB),
                "DIP_HOME": str(self.dip_home),
                "DKU_CUSTOM_RESOURCE_FOLDER": str(self.plugin_dir / "resource"),
                "DKU_HARNESS_CONTEXT": str(context),
            }
        )
        full_env.update(self.extra_env)
        full_env.update(env or {})
        full_env = {k: v for k, v in full_env.items() if v is not None}  # None: unset
        proc = subprocess.run(
            [str(self.python), str(RUNNER), str(context)],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        log = proc.stdout + proc.stderr
        result_path = pathlib.Path(request["result_path"])
        if not result_path.is_file():
            raise RuntimeError(f"component process died (exit {proc.returncode}):\n{log}")
        result = json.loads(result_path.read_text())
        if not result["ok"]:
            raise ComponentFailed(result["error"], log)
        return result, log

    def cluster_dir(self, cluster_id: str) -> pathlib.Path:
        return self.dip_home / "clusters" / cluster_id

    def _record_path(self, cluster_id: str) -> pathlib.Path:
        return self.dip_home / "harness" / "clusters" / f"{cluster_id}.json"

    def cluster_record(self, cluster_id: str) -> dict:
        return json.loads(self._record_path(cluster_id).read_text())

    def start_cluster(
        self, cluster_type: str, cluster_id: str, config: dict, env=None, timeout=600
    ):
        """DSS's "Start" of a cluster: saves its raw config, runs start(), stores its data."""
        desc = self.descriptor("python-clusters", cluster_type)
        self._record_path(cluster_id).write_text(
            json.dumps({"type": cluster_type, "raw": config, "plugin_data": None})
        )
        result, log = self._run(
            {
                "kind": "cluster",
                "action": "start",
                "component": str(self.plugin_dir / "python-clusters" / cluster_type),
                "cluster_id": cluster_id,
                "cluster_name": cluster_id,
                "config": self.resolve(desc["params"], config),
                "global_settings": {},
            },
            cwd=self.cluster_dir(cluster_id),
            env=env,
            timeout=timeout,
        )
        settings, data = result["value"]
        record = self.cluster_record(cluster_id)
        record["plugin_data"], record["settings"] = data, settings
        self._record_path(cluster_id).write_text(json.dumps(record))
        return ComponentRun(value=(settings, data), log=log)

    def stop_cluster(self, cluster_id: str, env=None) -> ComponentRun:
        record = self.cluster_record(cluster_id)
        desc = self.descriptor("python-clusters", record["type"])
        result, log = self._run(
            {
                "kind": "cluster",
                "action": "stop",
                "component": str(self.plugin_dir / "python-clusters" / record["type"]),
                "cluster_id": cluster_id,
                "cluster_name": cluster_id,
                "config": self.resolve(desc["params"], record["raw"]),
                "global_settings": {},
                "data": record["plugin_data"],
            },
            cwd=self.cluster_dir(cluster_id),
            env=env,
        )
        record["plugin_data"] = None
        self._record_path(cluster_id).write_text(json.dumps(record))
        return ComponentRun(value=result["value"], log=log)

    def run_macro(self, macro: str, config: dict, project_key="PROJECT", env=None) -> MacroRun:
        desc = self.descriptor("python-runnables", macro)
        result, log = self._run(
            {
                "kind": "macro",
                "component": str(self.plugin_dir / "python-runnables" / macro),
                "project_key": project_key,
                "config": self.resolve(desc["params"], config),
            },
            cwd=self.dip_home / "harness" / "macro-work",
            env=env,
        )
        return MacroRun(result["value"], result["progress_target"], result["progress"], log)

    def run_recipe(self, recipe: str, inputs: dict, outputs: dict, config: dict, env=None):
        desc = self.descriptor("custom-recipes", recipe)
        _, log = self._run(
            {
                "kind": "script",
                "component": str(self.plugin_dir / "custom-recipes" / recipe),
                "script": "recipe.py",
                "inputs": inputs,
                "outputs": outputs,
                "config": self.resolve(desc["params"], config),
            },
            cwd=self.dip_home / "harness" / "recipe-work",
            env=env,
        )
        return ComponentRun(value=None, log=log)

    def run_step(self, step: str, config: dict, env=None) -> ComponentRun:
        desc = self.descriptor("python-steps", step)
        _, log = self._run(
            {
                "kind": "script",
                "component": str(self.plugin_dir / "python-steps" / step),
                "script": "step.py",
                "config": self.resolve(desc["params"], config),
            },
            cwd=self.dip_home / "harness" / "step-work",
            env=env,
        )
        return ComponentRun(value=None, log=log)

    def folder(self, name: str) -> pathlib.Path:
        path = self.dip_home / "managed_folders" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def dataset_rows(self, name: str) -> list:
        return json.loads((self.dip_home / "datasets" / f"{name}.json").read_text())
