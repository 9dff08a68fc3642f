"""The README's map of gke-core is the tree: every folder and top-level file of
rust/gke-core/src has its row, no row names what is gone, and every Rust file says what it is
for in a module doc; the layers hold (tools/check_layers.py)."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "rust" / "gke-core" / "src"


def readme_rows() -> set[str]:
    text = (ROOT / "README.md").read_text()
    return {m.group(1) for m in re.finditer(r"^\| `(rust/gke-core/src/[^`]+)` \|", text, re.M)}


def tree_entries() -> set[str]:
    entries = set()
    for child in SRC.iterdir():
        if child.is_dir():
            entries.add(f"rust/gke-core/src/{child.name}/")
        elif child.suffix == ".rs" and child.name != "lib.rs":
            entries.add(f"rust/gke-core/src/{child.name}")
    return entries


def test_the_readme_maps_every_part_of_gke_core_and_nothing_else():
    rows, tree = readme_rows(), tree_entries()
    assert tree - rows == set(), f"not in README.md's gke-core table: {sorted(tree - rows)}"
    assert rows - tree == set(), f"in README.md but not in the tree: {sorted(rows - tree)}"


def test_every_rust_file_has_a_module_doc():
    undocumented = [
        str(f.relative_to(ROOT))
        for crate in ("gke-core", "gke-py", "gke-emulator", "gke-emulator-hash")
        for f in (ROOT / "rust" / crate).rglob("*.rs")
        if "target" not in f.parts and not f.read_text().lstrip().startswith("//!")
    ]
    assert undocumented == []


def test_layers_point_one_way_and_no_cycle():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_layers.py")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


def test_the_layer_check_finds_an_upward_arrow(tmp_path, monkeypatch):
    # The checker itself can fail: an arrow from config (pure data) up to cluster is refused.
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_layers
    finally:
        sys.path.pop(0)
    src = tmp_path / "src"
    (src / "config").mkdir(parents=True)
    (src / "cluster").mkdir()
    (src / "config" / "form.rs").write_text("//! x\nuse crate::cluster::plan::Plan;\n")
    (src / "cluster" / "plan.rs").write_text("//! x\nuse crate::config::form::parse;\n")
    monkeypatch.setattr(check_layers, "SRC", src)
    graph = check_layers.edges()
    assert graph[src / "config" / "form.rs"] == {src / "cluster" / "plan.rs"}
    assert check_layers.cycles(graph) == [
        sorted([src / "config" / "form.rs", src / "cluster" / "plan.rs"])
    ]
