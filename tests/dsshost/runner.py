"""Runs one plugin component in its own process, as DSS does; the harness reads the result file.

Usage: python runner.py CONTEXT_JSON
"""

import inspect
import json
import logging
import runpy
import sys
import traceback


def get_clazz_in_code(path: str, parent: type) -> type:
    """The class DSS instantiates from a component's code: the one subclass of `parent` in the
    file's namespace once it ran, imported ones included (DSS execs the file's code and looks
    at what it defined and imported); none, or several, is an error, as in DSS."""
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    namespace = {"__name__": "dku_plugin_component", "__file__": path}
    exec(code, namespace)
    found = []
    for value in namespace.values():
        if (
            inspect.isclass(value)
            and issubclass(value, parent)
            and value is not parent
            and value not in found
        ):
            found.append(value)
    if not found:
        raise Exception(f"No class extending {parent.__name__} found in {path}")
    if len(found) > 1:
        names = ", ".join(sorted(c.__name__ for c in found))
        raise Exception(
            f"Ambiguous: several classes extending {parent.__name__} in {path} ({names})"
        )
    return found[0]


def _construct_macro(cls: type, project_key, config, plugin_config):
    """DSS picks the macro's constructor by its number of arguments."""
    params = [
        p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    args = [project_key, config, plugin_config][: min(len(params), 3)]
    return cls(*args)


def _as_sent(value):
    """A macro's result as DSS sends it on: `to_json()` when it has one, JSON for data, text
    as is."""
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "to_json"):
        value = value.to_json()
        return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(value)


def run(request: dict) -> dict:
    component = request["component"]
    if request["kind"] == "cluster":
        from dataiku.cluster import Cluster

        cls = get_clazz_in_code(f"{component}/cluster.py", Cluster)
        cluster = cls(
            request["cluster_id"],
            request["cluster_name"],
            request["config"],
            request["plugin_config"],
            request["global_settings"],
        )
        if request["action"] == "start":
            settings, data = cluster.start()
            return {"value": [settings, data]}
        return {"value": cluster.stop(request["data"])}
    if request["kind"] == "macro":
        from dataiku.runnables import Runnable

        cls = get_clazz_in_code(f"{component}/runnable.py", Runnable)
        macro = _construct_macro(
            cls, request["project_key"], request["config"], request["plugin_config"]
        )
        target = macro.get_progress_target()
        progress = []
        value = _as_sent(macro.run(progress.append))
        return {"value": value, "progress_target": target, "progress": progress}
    if request["kind"] == "script":
        runpy.run_path(f"{component}/{request['script']}", run_name="__main__")
        return {"value": None}
    raise ValueError(f"unknown component kind {request['kind']}")


def main() -> None:
    with open(sys.argv[1]) as f:
        request = json.load(f)
    sys.path.insert(0, request["python_lib"])
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s] [%(process)s] [%(levelname)s] [%(name)s] %(message)s",
    )
    try:
        outcome = {"ok": True, **run(request)}
        text = json.dumps(outcome)  # DSS stores what components return as JSON
    except BaseException as e:  # the harness reports every failure, as DSS does
        attributes = {
            k: v
            for k, v in vars(e).items()
            if isinstance(v, (str, int, float, bool, list, dict, type(None)))
        }
        error = {
            "type": type(e).__name__,
            "module": type(e).__module__,
            "message": str(e),
            "traceback": traceback.format_exc(),
            "attributes": attributes,
        }
        text = json.dumps({"ok": False, "error": error}, default=str)
    with open(request["result_path"], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
