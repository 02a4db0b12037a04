"""No import cycles in `src/xorlab`: every module's imports, read with `ast` (imports
inside functions count too: a lazy import is still a dependency), form a graph
without cycles, so each module can be read, tested and moved after what it uses."""

from __future__ import annotations

import ast
from pathlib import Path

import xorlab

ROOT = Path(xorlab.__file__).resolve().parent

# Cycles known today (an allow-list that only shrinks; any other cycle fails): none
# since the engines' rework (config no longer imports the planner; the engines'
# package imports no engine that imports it back).
KNOWN_CYCLES: frozenset = frozenset()


def module_name(path: Path) -> str:
    parts = ("xorlab",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str, is_package: bool, modules) -> list[str]:
    """The xorlab modules one import statement names (absolute): `from . import x`
    names the module x where there is one, else the package (x is defined there)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "xorlab"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    if base.split(".")[0] != "xorlab":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            found.update(m for m in imported(node, name, is_package, paths) if m in paths)
        edges[name] = found - {name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The modules on some cycle, grouped: the strongly connected components of more
    than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [sorted(c) for c in components]


def test_the_graph_sees_imports_inside_functions():
    edges = graph()
    # cli/experiment.py imports the study only inside its command function
    assert "xorlab.study" in edges["xorlab.cli.experiment"]
    assert "xorlab.config" in edges["xorlab.result"]


def test_no_import_cycles():
    found = cycles(graph())
    new = [c for c in found if frozenset(c) not in KNOWN_CYCLES]
    assert not new, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in new)
