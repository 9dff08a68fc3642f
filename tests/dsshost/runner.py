"""Runs one plugin component in its own process, as DSS does; the harness reads the result file.

Usage: python runner.py CONTEXT_JSON
"""

import importlib.util
import inspect
import json
import logging
import runpy
import sys
import traceback


def load_class(path: str, base: type) -> type:
    spec = importlib.util.spec_from_file_location("plugin_component", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, base) and c is not base and c.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{path}: expected one subclass of {base.__name__}, found {found}")
    return found[0]


def run(request: dict) -> dict:
    component = request["component"]
    if request["kind"] == "cluster":
        from dataiku.cluster import Cluster

        cls = load_class(f"{component}/cluster.py", Cluster)
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

        cls = load_class(f"{component}/runnable.py", Runnable)
        macro = cls(request["project_key"], request["config"], request["plugin_config"])
        target = macro.get_progress_target()
        progress = []
        value = macro.run(progress.append)
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
