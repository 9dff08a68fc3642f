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

from .backend import DssBackend
from .descriptors import load_descriptor, validate_plugin

HERE = pathlib.Path(__file__).resolve().parent
STUB = HERE / "stub"
RUNNER = HERE / "runner.py"

__all__ = [
    "ComponentFailed",
    "DssHost",
    "MacroRun",
    "load_descriptor",
    "make_code_env",
    "validate_plugin",
]


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
# What every DSS process imports from DSS's own installation beside `dataiku`, whatever the
# code env: `dataiku.api_client()` returns its DSSClient. It never enters the plugin zip.
# (dataikuapi imports six without declaring it; DSS ships it.)
DSS_BUILTIN_PACKAGES = ["dataiku-api-client>=14,<16", "six>=1.16"]


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
    packages = DSS_BUILTIN_PACKAGES + (DSS_CORE_PACKAGES if desc.get("installCorePackages") else [])
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        check=True,
    )
    if wanted:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True
        )
    return python


class DssHost:
    """One DSS instance: a DIP_HOME with one plugin installed, presets, clusters, and the
    loopback backend its components reach through DSS's own API client."""

    def __init__(self, dip_home: pathlib.Path, python: pathlib.Path, extra_env=None):
        self.dip_home = pathlib.Path(dip_home)
        self.python = pathlib.Path(python)
        self.extra_env = dict(extra_env or {})
        self.plugin_dir = None
        self.plugin_id = None
        self.presets = {}  # (parameter set id, preset name) -> params
        self.plugin_settings = {}
        self.dip_home.mkdir(parents=True, exist_ok=True)
        self.backend = DssBackend(self._resolve_element)

    def close(self) -> None:
        self.backend.close()

    # --- installation -------------------------------------------------------------------------
    def install(self, zip_path: pathlib.Path) -> pathlib.Path:
        with zipfile.ZipFile(zip_path) as z:
            plugin_id = load_descriptor(z.read("plugin.json").decode())["id"]
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
        return load_descriptor((self.plugin_dir / folder / component / name).read_text())

    def element_type(self, folder: str, component: str) -> str:
        """DSS's id of a component's type, e.g. `pycluster_gke-native_create-gke-cluster`."""
        prefix = {"python-clusters": "pycluster", "python-runnables": "pyrunnable"}[folder]
        return f"{prefix}_{self.plugin_id}_{component}"

    # --- presets and config resolution --------------------------------------------------------
    def define_preset(self, parameter_set: str, name: str, params: dict) -> dict:
        """Saves (or replaces) a preset; returns the reference a user config holds for it."""
        if not (self.plugin_dir / "parameter-sets" / parameter_set).is_dir():
            raise KeyError(f"no parameter set {parameter_set}")
        self.presets[(parameter_set, name)] = copy.deepcopy(params)
        return {"mode": "PRESET", "name": name}

    def _parameter_set(self, set_id: str) -> dict:
        path = self.plugin_dir / "parameter-sets" / set_id / "parameter-set.json"
        return load_descriptor(path.read_text())

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
            name, ptype = param.get("name"), param["type"]
            if ptype == "SEPARATOR":
                continue
            if name in config:
                value = copy.deepcopy(config[name])
            elif "defaultValue" in param:
                value = copy.deepcopy(param["defaultValue"])
            else:
                continue
            if ptype == "INT" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # DSS hands INT params over as floats (3.0)
            if ptype == "PRESET":
                value = self._resolve_preset(param["parameterSetId"], value)
            elif ptype == "PRESETS":
                value = [self._resolve_preset(param["parameterSetId"], v) for v in value or []]
            out[name] = value
        for name, value in config.items():
            out.setdefault(name, copy.deepcopy(value))
        return out

    def plugin_config(self) -> dict:
        plugin = load_descriptor((self.plugin_dir / "plugin.json").read_text())
        return self.resolve(plugin.get("params", []), self.plugin_settings)

    def _resolve_element(self, element_type: str, config: dict) -> dict:
        """What `plugins/get-resolved-settings` answers for a component's saved config."""
        folders = {"pycluster": "python-clusters", "pyrunnable": "python-runnables"}
        kind, _, rest = element_type.partition("_")
        plugin = f"{self.plugin_id}_"
        if kind not in folders or not rest.startswith(plugin):
            raise ValueError(f"unknown element type {element_type}")
        desc = self.descriptor(folders[kind], rest[len(plugin) :])
        return {
            "config": self.resolve(desc["params"], config),
            "pluginConfig": self.plugin_config(),
        }

    # --- DSS's API, as the tests' admin client ------------------------------------------------
    def client(self):
        """DSS's real API client (`dataikuapi.DSSClient`) on this DSS, with an admin API key."""
        from dataikuapi import DSSClient

        return DSSClient(self.backend.url, api_key=self.backend.api_key)

    def define_cluster(self, cluster_type: str, cluster_id: str, config: dict) -> dict:
        """Saves a cluster of this plugin's type `cluster_type` (or its new params), as the
        Clusters screen does; the config as the admin filled it (presets as references)."""
        desc = self.descriptor("python-clusters", cluster_type)
        return self.backend.define_cluster(
            cluster_id,
            self.element_type("python-clusters", cluster_type),
            desc.get("architecture", "KUBERNETES"),
            config,
        )

    def cluster_settings(self, cluster_id: str) -> dict:
        """The cluster's whole definition as DSS's API returns it (`get_settings().get_raw()`)."""
        return self.client().get_cluster(cluster_id).get_settings().get_raw()

    def cluster_overrides(self, cluster_id: str):
        """The settings overrides the cluster's last start() returned (DSS applies them)."""
        return self.backend.cluster(cluster_id).get("_overrides")

    # --- running components -------------------------------------------------------------------
    def _run(self, request: dict, cwd: pathlib.Path, env=None, timeout=600) -> tuple:
        run_dir = self.dip_home / "harness" / "runs" / uuid.uuid4().hex[:12]
        run_dir.mkdir(parents=True)
        request = dict(request)
        request["python_lib"] = str(self.plugin_dir / "python-lib")
        request["result_path"] = str(run_dir / "result.json")
        request.setdefault("plugin_config", self.plugin_config())
        context = run_dir / "context.json"
        context.write_text(json.dumps(request))
        cwd.mkdir(parents=True, exist_ok=True)
        full_env = self.process_env({"DKU_HARNESS_CONTEXT": str(context), **(env or {})})
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

    def process_env(self, env=None) -> dict:
        """The environment of a DSS process of this instance (a component, a notebook kernel):
        the stand-in `dataiku` package, DIP_HOME, and how it reaches the backend. A None value
        unsets the variable."""
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        full_env.update(
            {
                "PYTHONPATH": str(STUB),
                "DIP_HOME": str(self.dip_home),
                "DKU_CUSTOM_RESOURCE_FOLDER": str(self.plugin_dir / "resource"),
                "DKU_HARNESS_BACKEND_URL": self.backend.url,
                "DKU_HARNESS_TICKET": self.backend.ticket,
            }
        )
        full_env.update(self.extra_env)
        full_env.update(env or {})
        return {k: v for k, v in full_env.items() if v is not None}

    def set_cluster_data(self, cluster_id: str, data) -> None:
        """What DSS keeps as the cluster's data, as an older plugin version (or a crash) may
        have left it; the cluster counts as running."""
        self.backend.set_cluster_state(
            cluster_id, "RUNNING", data, self.cluster_overrides(cluster_id)
        )

    def cluster_dir(self, cluster_id: str) -> pathlib.Path:
        return self.dip_home / "clusters" / cluster_id

    def _cluster_request(self, cluster_id: str, action: str, definition: dict) -> dict:
        component = definition["type"].split("_", 2)[2]
        desc = self.descriptor("python-clusters", component)
        return {
            "kind": "cluster",
            "action": action,
            "component": str(self.plugin_dir / "python-clusters" / component),
            "cluster_id": cluster_id,
            "cluster_name": definition["name"],
            "config": self.resolve(desc["params"], definition["params"].get("config") or {}),
            "global_settings": {},
            "data": definition.get("data"),
        }

    def start_cluster(self, cluster_type: str, cluster_id: str, config=None, env=None, timeout=600):
        """DSS's "Start" of a cluster: saves `config` as its params (unless None: the saved
        ones), runs start() with them resolved, keeps the data and overrides it returns."""
        if config is not None:
            self.define_cluster(cluster_type, cluster_id, config)
        definition = self.backend.cluster(cluster_id)
        self.backend.set_cluster_state(cluster_id, "STARTING")
        try:
            result, log = self._run(
                self._cluster_request(cluster_id, "start", definition),
                cwd=self.cluster_dir(cluster_id),
                env=env,
                timeout=timeout,
            )
        except BaseException:
            self.backend.set_cluster_state(cluster_id, "NONE")
            raise
        settings, data = result["value"]
        self.backend.set_cluster_state(cluster_id, "RUNNING", data, settings)
        return ComponentRun(value=(settings, data), log=log)

    def stop_cluster(self, cluster_id: str, env=None) -> ComponentRun:
        """DSS's "Stop": runs stop(data) with the saved data; the data is forgotten after."""
        definition = self.backend.cluster(cluster_id)
        result, log = self._run(
            self._cluster_request(cluster_id, "stop", definition),
            cwd=self.cluster_dir(cluster_id),
            env=env,
        )
        self.backend.set_cluster_state(cluster_id, "NONE")
        return ComponentRun(value=result["value"], log=log)

    def _macro_config(self, macro: str, params: dict, cluster=None) -> tuple:
        desc = self.descriptor("python-runnables", macro)
        declared = {p.get("name") for p in desc.get("params", [])}
        # The form holds only the declared params; the Actions tab adds the cluster's id.
        form = {k: v for k, v in (params or {}).items() if k in declared}
        config = self.resolve(desc["params"], form)
        if cluster is not None:
            roles = [r for r in desc.get("macroRoles", []) if r.get("type") == "CLUSTER"]
            if not roles:
                raise ValueError(f"{macro} is not offered in a cluster's Actions tab")
            config[roles[0]["targetParamsKey"]] = cluster
        return config

    def run_macro(
        self, macro: str, params: dict, project_key="PROJECT", env=None, cluster=None
    ) -> MacroRun:
        """A macro run from a project's Macros menu: the params the form declares, presets
        resolved. With `cluster`, run from that cluster's Actions tab instead (DSS fills the
        macro role's targetParamsKey with the cluster's id)."""
        result, log = self._run(
            {
                "kind": "macro",
                "component": str(self.plugin_dir / "python-runnables" / macro),
                "project_key": project_key,
                "config": self._macro_config(macro, params, cluster),
            },
            cwd=self.dip_home / "harness" / "macro-work",
            env=env,
        )
        return MacroRun(result["value"], result["progress_target"], result["progress"], log)

    def run_cluster_action(self, macro: str, cluster_id: str, env=None, **params) -> MacroRun:
        """A macro from the cluster's Actions tab."""
        return self.run_macro(macro, params, env=env, cluster=cluster_id)

    def run_scenario_macro(
        self, runnable_type: str, params: dict, project_key="PROJECT", env=None
    ) -> MacroRun:
        """A scenario's "Run macro" step: `runnable_type` as the step names it
        (`pyrunnable_<plugin>_<macro>`), the params as the step's form holds them."""
        prefix = f"pyrunnable_{self.plugin_id}_"
        if not runnable_type.startswith(prefix):
            raise ValueError(f"{runnable_type} is not a macro of {self.plugin_id}")
        return self.run_macro(
            runnable_type[len(prefix) :], params, project_key=project_key, env=env
        )

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
        """A scenario step: `get_step_config()` is its config as saved; `get_plugin_config()`
        holds it resolved under "config" (where Dataiku's step plugins read their presets),
        not the plugin-level settings."""
        desc = self.descriptor("python-steps", step)
        _, log = self._run(
            {
                "kind": "script",
                "component": str(self.plugin_dir / "python-steps" / step),
                "script": "step.py",
                "config": dict(config),
                "plugin_config": {"config": self.resolve(desc["params"], config)},
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
