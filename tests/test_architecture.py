"""The layering of `src/comem` (docs/architecture.md): no package imports one above it, no import circles.

Every `import` counts, including those inside functions and under `TYPE_CHECKING`: a lazy import is still a
dependency a reader has to follow. The bundled task repositories are data (the agent's workspaces), not code
of the package, and are left out. Run this file directly to print the figures:

    python tests/test_architecture.py
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "comem"
DATA_DIRS = ("tasks/bundled", "tasks/browsecomp_mini")

# Bottom to top. A package may import only packages on a lower line.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("llm", "environment", "trajectories"),
    ("context",),
    ("agent",),
    ("tasks",),
    ("eval",),
    ("bench", "report"),
    ("train", "gateway", "view"),
    ("cli",),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if any(rel.as_posix().startswith(d) for d in DATA_DIRS):
            continue
        parts = rel.with_suffix("").parts
        name = ".".join(("comem",) + (parts[:-1] if parts[-1] == "__init__" else parts))
        out[name] = path
    return out


def imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the comem modules it imports (a `from pkg import name` names the submodule when one exists)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target.startswith("comem") and target != name:
                    graph[name].add(target)
    return graph


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "comem"


def layer_of(package: str) -> int:
    for i, names in enumerate(LAYERS):
        if package in names:
            return i
    raise AssertionError(f"package {package!r} is on no layer: add it to LAYERS and docs/architecture.md")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if package_of(a) != package_of(b) and layer_of(package_of(b)) >= layer_of(package_of(a)))


def depth(graph: dict[str, set[str]]) -> int:
    """Layers of the module graph: the longest chain of imports, counted in modules (circles count once)."""
    memo: dict[str, int] = {}

    def longest(v: str, seen: frozenset[str]) -> int:
        if v in memo:
            return memo[v]
        best = 1 + max((longest(w, seen | {v}) for w in graph.get(v, ()) if w not in seen), default=0)
        memo[v] = best
        return best

    return max((longest(v, frozenset()) for v in list(graph)), default=0)


def test_every_package_sits_on_a_layer() -> None:
    packages = {package_of(m) for m in modules()} - {"comem"}
    for package in packages:
        layer_of(package)


def test_no_package_imports_one_above_it() -> None:
    assert upward(imports(modules())) == []


def test_no_import_circles() -> None:
    assert circles(imports(modules())) == []


def test_the_top_level_holds_only_packages() -> None:
    assert sorted(p.name for p in SRC.glob("*.py")) == ["__init__.py"]


if __name__ == "__main__":
    graph = imports(modules())
    package_graph = defaultdict(set)
    for a, targets in graph.items():
        package_graph[package_of(a)] |= {package_of(b) for b in targets if package_of(b) != package_of(a)}
    print(f"modules: {len(modules())}")
    print(f"import circles: {len(circles(graph))} (modules), {len(circles(package_graph))} (packages)")
    for c in circles(graph):
        print("  circle:", " <-> ".join(c))
    print(f"imports from a lower layer up: {len(upward(graph))}")
    for a, b in upward(graph):
        print(f"  {a} -> {b}")
    print(f"layers (longest import chain, modules): {depth(graph)}")
    print(f"layers (longest import chain, packages): {depth(package_graph)}")
