"""Builds the DSS-installable zip: DSS folder names, and the compiled module from the wheel.

DSS reads cluster actions from `python-runnables/`; we keep them in `cluster-actions/` in the
repository (their role there) and rename the folder in the zip.
"""

import argparse
import json
import pathlib
import re
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# repository folder → folder name in the zip (what DSS reads)
FOLDERS = {
    "parameter-sets": "parameter-sets",
    "python-clusters": "python-clusters",
    "cluster-actions": "python-runnables",
    "custom-recipes": "custom-recipes",
    "python-steps": "python-steps",
    "code-env": "code-env",
    "resource": "resource",
    "python-lib": "python-lib",
}
# Folder READMEs document the repository; DSS has no use for them.
SKIP = re.compile(r"(__pycache__|\.pyc$|\.so$|/\.|^\.|^README\.md$)")


def cargo_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def build(wheel: pathlib.Path, out: pathlib.Path) -> None:
    plugin = json.loads((ROOT / "plugin.json").read_text())
    if plugin["version"] != cargo_version():
        sys.exit(f"plugin.json version {plugin['version']} != Cargo.toml {cargo_version()}")
    with zipfile.ZipFile(wheel) as whl:
        native = [n for n in whl.namelist() if re.fullmatch(r"dss_gke/_native[^/]*\.so", n)]
        if len(native) != 1:
            sys.exit(f"{wheel}: expected one dss_gke/_native*.so, found {native}")
        so_bytes = whl.read(native[0])

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(ROOT / "plugin.json", "plugin.json")
        for src, dst in FOLDERS.items():
            for path in sorted((ROOT / src).rglob("*")):
                rel = path.relative_to(ROOT / src).as_posix()
                if path.is_file() and not SKIP.search(rel):
                    z.write(path, f"{dst}/{rel}")
        info = zipfile.ZipInfo("python-lib/dss_gke/_native.abi3.so", (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, so_bytes)
    tmp.replace(out)
    print(f"built {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=pathlib.Path, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    build(args.wheel, args.out.resolve())
