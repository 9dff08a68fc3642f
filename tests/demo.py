"""`make demo`: the plugin zip installed into the DSS host harness, its components run.

Runs with no cloud account and no network. Cluster creation joins this demo with the lifecycle
issue; until then it shows what exists: installation, descriptor validation and the
"Check DSS host" cluster action.
"""

import html
import os
import pathlib
import re
import sys
import tempfile
import time
import zipfile

from tests.dsshost import DssHost, make_code_env


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def as_text(fragment: str) -> str:
    text = re.sub(r"</(tr|p|h3)>", "\n", fragment)
    text = re.sub(r"</t[dh]>", "\t", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def main() -> int:
    zip_path = pathlib.Path(os.environ["GKE_NATIVE_ZIP"])
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gke-native-demo-") as tmp:
        tmp = pathlib.Path(tmp)
        say(f"building the plugin's code env from {zip_path.name}'s code-env spec")
        spec = tmp / "spec"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(spec)
        python = make_code_env(spec, tmp / "code-env")
        host = DssHost(tmp / "dip_home", python)
        say("installing the zip into a DSS host (descriptors validated as DSS reads them)")
        plugin_dir = host.install(zip_path)
        components = sorted(
            f"{p.parent.name}/{p.name}"
            for folder in ("python-clusters", "python-runnables", "custom-recipes", "python-steps")
            for p in (plugin_dir / folder).glob("*")
            if p.is_dir()
        )
        print("    components: " + ", ".join(components))
        say('running the cluster action "Check DSS host" (no metadata server: not on GCE)')
        run = host.run_macro(
            "check-dss-host", {"clusterId": "demo", "timeout": 1.0},
            env={"GCE_METADATA_HOST": "127.0.0.1:9"},
        )  # fmt: skip
        print("    " + as_text(run.result).replace("\n", "\n    "))
    say(f"done in {time.monotonic() - start:.1f}s: the zip installs and its components run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
