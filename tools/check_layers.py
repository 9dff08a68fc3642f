"""gke-core's layers, checked: every `crate::` path between two files points down the layer order
of lib.rs's module doc, and no files depend on each other in a cycle.

Run by `make lint`. Prints each offending arrow or cycle and exits 1; silent when the shape holds.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "rust" / "gke-core" / "src"

# Lowest first; a file may use its own folder and any folder on a lower line.
LAYERS = [
    {"error", "html"},
    {"config"},
    {"net"},
    {"auth"},
    {"google", "kube"},
    {"cluster", "gcs", "push"},
    {"actions", "dss_setup", "environment"},
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}

PATH = re.compile(r"\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")
USE_SUPER = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")


def module_file(segments: list[str]) -> Path | None:
    """The file that defines the longest module prefix of `segments`."""
    for n in range(len(segments), 0, -1):
        base = SRC.joinpath(*segments[:n])
        for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
            if candidate.is_file():
                return candidate
    return None


def top(file: Path) -> str:
    return file.relative_to(SRC).parts[0].removesuffix(".rs")


def strip_comments(text: str) -> str:
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def edges() -> dict[Path, set[Path]]:
    graph: dict[Path, set[Path]] = {}
    for file in sorted(SRC.rglob("*.rs")):
        if file.name == "lib.rs":
            continue
        text = strip_comments(file.read_text())
        targets = set()
        for match in PATH.finditer(text):
            target = module_file(match.group(1).split("::"))
            if target and target != file and target.name != "lib.rs":
                targets.add(target)
        if file.name == "mod.rs":
            # `pub use child::X` in a folder's mod.rs re-exports a child: an arrow to it.
            for match in re.finditer(r"^\s*pub use ([a-z_]+)::", text, re.M):
                child = file.parent / f"{match.group(1)}.rs"
                if child.is_file():
                    targets.add(child)
        graph[file] = targets
    return graph


def cycles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    found: list[list[Path]] = []

    def visit(v: Path) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main() -> int:
    graph = edges()
    problems = []
    for file, targets in graph.items():
        for target in sorted(targets):
            a, b = top(file), top(target)
            if a not in LEVEL or b not in LEVEL:
                problems.append(f"{file.relative_to(SRC)}: folder not in a layer ({a} or {b})")
            elif a != b and LEVEL[b] >= LEVEL[a]:
                problems.append(
                    f"{file.relative_to(SRC)} -> {target.relative_to(SRC)}: "
                    f"'{a}' may not use '{b}' (same or higher layer)"
                )
    for component in cycles(graph):
        names = ", ".join(str(f.relative_to(SRC)) for f in component)
        problems.append(f"import cycle: {names}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
