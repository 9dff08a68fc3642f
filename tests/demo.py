"""`make demo`: the main job, on the embedded local default — no cloud account, no network.

gke-emulator stands in for GKE, Compute and the metadata server of a DSS host on GCE; the DSS
host harness installs the built plugin zip as DSS would. Then, as a DSS admin: a connection
preset and two node-pool presets (one with a GPU), the plan, the creation with its progress,
the real kubectl on the written kubeconfig, and the deletion.
"""

import html
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import zipfile

from tests.dsshost import DssHost, make_code_env
from tests.support.emulator import HOST, Emulator


def say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def show_log(log: str) -> None:
    for line in log.splitlines():
        m = re.search(r"\[(INFO|WARNING|ERROR)\] \[(dss_gke[^\]]*)\] (.*)", line)
        if m:
            print(f"    {m.group(1):7} {m.group(3)}")


def report_text(page: str) -> str:
    """An action's HTML report as text: headings, verdicts and table rows, one per line."""
    page = re.sub(r"</(h3|p|tr)>", "\n", page)
    page = re.sub(r"</t[dh]>", " | ", page)
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    return "\n    ".join(line.strip(" |") for line in text.splitlines() if line.strip())


def dss_settings_table(client) -> str:
    """The container, Spark and connection settings of a DSS instance, one row each, and
    whether gke-native made it (its marker: a `gke-native` property or its description)."""

    def ours(setting: dict) -> str:
        marked = any(p.get("key") == "gke-native" for p in setting.get("properties") or [])
        made = marked or (setting.get("description") or "").startswith("Created by gke-native")
        return "yes" if made else "-"

    settings = client.get_general_settings().get_raw()
    rows = [("setting", "name", "by gke-native", "what it says")]
    for c in settings["containerSettings"]["executionConfigs"]:
        rows.append(
            ("container exec config", c["name"], ours(c), f"{c['type']}, {c['repositoryURL']}")
        )
    for c in settings["sparkSettings"]["executionConfigs"]:
        managed = c.get("kubernetesSettings", {}).get("managedKubernetes", False)
        rows.append(("Spark config", c["name"], ours(c), f"managed Spark-on-K8S: {managed}"))
    for name in client.list_connections():
        raw = client.get_connection(name).get_settings().get_raw()
        about = raw.get("description") or raw["params"].get("root", "")
        rows.append(("connection", name, ours(raw), f"{raw['type']}: {about}".rstrip(": ")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def main() -> int:
    zip_path = pathlib.Path(os.environ["GKE_NATIVE_ZIP"])
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gke-native-demo-") as tmp:
        tmp = pathlib.Path(tmp)
        say("starting gke-emulator (GKE, Compute, metadata server and cluster APIs on loopback)")
        emulator = Emulator(tmp / "emulator-state.json", operation_seconds=2).start()
        emulator.admin("PUT", "metadata", HOST)
        print(f"    {emulator.url}: DSS host '{HOST['instanceName']}' in {HOST['projectId']}, "
              f"{HOST['zone']}, running as {HOST['serviceAccountEmail']}")  # fmt: skip
        try:
            say(f"installing {zip_path.name} into a DSS host (code env from its spec)")
            spec = tmp / "spec"
            with zipfile.ZipFile(zip_path) as z:
                z.extractall(spec)
            home = tmp / "home"
            home.mkdir()
            dss = DssHost(tmp / "dip_home", make_code_env(spec, tmp / "code-env"))
            dss.extra_env.update(emulator.env(home))
            dss.install(zip_path)

            say("defining presets: connection 'prod' (blank: from the host), pools 'cpu' and 'gpu'")
            connection = dss.define_preset("connection-info", "prod", {})
            cpu = dss.define_preset(
                "node-pool-request",
                "cpu",
                {"name": "cpu", "machine_type": "n2-standard-8", "autoscaling": True,
                 "min_nodes": 1, "max_nodes": 4},
            )  # fmt: skip
            gpu = dss.define_preset(
                "node-pool-request",
                "gpu",
                {"name": "gpu", "machine_type": "n1-standard-8", "node_count": 1, "gpu": True,
                 "gpu_type": "nvidia-tesla-t4", "gpu_driver": "LATEST",
                 "taints": ["dedicated=ml:NoSchedule"]},
            )  # fmt: skip
            config = {
                "connection": connection,
                "node_pools": [cpu, gpu],
                "labels": {"team": "data"},
            }
            resolved = dss.resolve(
                dss.descriptor("python-clusters", "create-gke-cluster")["params"], config
            )
            config_file = tmp / "cluster-config.json"
            config_file.write_text(json.dumps(resolved))

            say("the plan: exactly the request start() will send (python -m dss_gke plan)")
            env = {**os.environ, **{k: v for k, v in dss.extra_env.items() if v is not None}}
            env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
            env["PYTHONPATH"] = str(dss.plugin_dir / "python-lib")
            plan = subprocess.run(
                [str(dss.python), "-m", "dss_gke", "plan", "--config", str(config_file),
                 "--cluster-id", "analytics"],
                capture_output=True, text=True, env=env, check=True,
            ).stdout  # fmt: skip
            print("    " + plan.replace("\n", "\n    "))

            say("creating the cluster (DSS's start() of 'Create GKE cluster')")
            run = dss.start_cluster("create-gke-cluster", "analytics", config)
            show_log(run.log)
            settings, data = run.value
            kubeconfig = settings["container"]["executionConfigsGenericOverrides"]["kubeConfigPath"]
            print(
                f"    GKE cluster {data['name']} running in {data['location']}, "
                f"endpoint {data['endpoint']}, kubectl context {data['kube_context']}"
            )
            print(f"    kubeconfig: {kubeconfig} (mode 0600); {data['identity']} is cluster-admin")

            say("kubectl get nodes, authenticated by the plugin's credential helper (no gcloud)")
            nodes = subprocess.run(
                ["kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-L",
                 "cloud.google.com/gke-nodepool"],
                capture_output=True, text=True, env=env,
            )  # fmt: skip
            print("    " + (nodes.stdout or nodes.stderr).strip().replace("\n", "\n    "))
            if nodes.returncode != 0:
                return 1

            say("cluster actions, as a scenario would run them: the GPU pool to 0 after a batch")
            run = dss.run_scenario_macro(
                f"pyrunnable_{dss.plugin_id}_resize-node-pool",
                {"clusterId": "analytics", "pool": "gpu", "node_count": 0},
            )
            print("    " + report_text(run.result))
            run = dss.run_cluster_action("cluster-health", "analytics")
            print("    " + report_text(run.result))

            say("setting DSS up for the cluster: the plan first (nothing touched), then applied")
            form = {"buckets": ["analytics-data"], "push_images": False}
            run = dss.run_cluster_action("setup-dss", "analytics", **form)
            print("    " + "\n    ".join(report_text(run.result).split("\n    ")[:2]))
            run = dss.run_cluster_action("setup-dss", "analytics", apply=True, **form)
            print("    " + report_text(run.result))

            say("stopping the cluster (DSS's stop(): GKE deletes it)")
            show_log(dss.stop_cluster("analytics").log)

            say("DSS's settings the action created, as Dataiku's client (dataikuapi) reads them")
            print("    " + dss_settings_table(dss.client()).replace("\n", "\n    "))
            calls = emulator.google_requests()
            dss.close()
        finally:
            emulator.stop()
    say(
        f"done in {time.monotonic() - start:.0f}s: planned, created (2 pools, one GPU), reached "
        f"with kubectl, resized, checked, DSS set up for it, deleted; {len(calls)} Google API "
        "calls, no cloud account"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
