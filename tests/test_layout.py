"""The floor plan holds: no import cycles, no upward imports inside `portal`, and no
function-local first-party import without a comment saying why."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("preferences", "jobs", "mailer", "portal")
# Top floor first: a folder may import from the floors after it, never before it.
PORTAL_FLOORS = (
    "portal.cli",
    "portal.app",
    "portal.views",
    "portal.console",
    "portal.auth",
    "portal.connect",
    "portal.web",
    "portal.resumes",
)
# Below `portal`, each package may import only those after it.
PACKAGE_ORDER = ("portal", "jobs", "mailer", "preferences")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _first_party(name: str | None) -> bool:
    return name is not None and name.split(".")[0] in PACKAGES


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _first_party(node.module):
            assert node.module is not None
            for alias in node.names:
                yield node, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _first_party(alias.name):
                    yield node, alias.name


def _resolve(target: str, known: set[str]) -> str | None:
    """The module an imported name lives in: `pkg.mod.name` -> `pkg.mod`."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def _graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for _node, target in _imports(tree):
            found = _resolve(target, known)
            if found is not None and found != name:
                graph[name].add(found)
    return graph


def _floor(module: str, floors: tuple[str, ...]) -> int | None:
    for index, floor in enumerate(floors):
        if module == floor or module.startswith(floor + "."):
            return index
    return None


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_folder_imports_upwards() -> None:
    upward = []
    for module, targets in _graph().items():
        for order in (PORTAL_FLOORS, PACKAGE_ORDER):
            here = _floor(module, order)
            if here is None:
                continue
            for target in targets:
                there = _floor(target, order)
                if there is not None and there < here:
                    upward.append(f"{module} -> {target}")
    assert upward == []


def test_function_local_first_party_imports_say_why() -> None:
    unexplained = []
    for name, path in _modules():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            # One comment may explain a block of imports: look above the block's first.
            ends = {
                node.end_lineno: node.lineno
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            }
            for node, target in _imports(function):
                first = node.lineno
                while first - 1 in ends:
                    first = ends[first - 1]
                above = lines[first - 2].strip() if first > 1 else ""
                if not above.startswith("# Imported here"):
                    unexplained.append(f"{name}:{node.lineno} imports {target}")
    assert sorted(set(unexplained)) == []
