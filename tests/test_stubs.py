"""`_native.pyi` documents every native name, and stubtest keeps it honest."""

import ast
import pathlib
import subprocess
import sys

import dss_gke
import dss_gke._native as native

STUB = pathlib.Path(dss_gke.__file__).parent / "_native.pyi"


def test_stubtest_finds_no_difference():
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dss_gke._native"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_public_native_name_is_documented():
    tree = ast.parse(STUB.read_text())
    documented = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            documented.add(node.name)
            assert ast.get_docstring(node), f"{node.name} has no docstring in _native.pyi"
        elif isinstance(node, ast.AnnAssign):
            documented.add(node.target.id)
    public = {n for n in dir(native) if not n.startswith("_")} | {"__version__"}
    assert public <= documented, public - documented
    assert set(dss_gke.__all__) <= documented
