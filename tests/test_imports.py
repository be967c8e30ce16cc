"""No import cycle inside ganzoo, counting imports at any depth (a cycle hidden behind a
function-level import is still a cycle: it only moves the failure to call time)."""

from __future__ import annotations

import ast
from pathlib import Path

import ganzoo

PACKAGE = Path(ganzoo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                # a package's __init__ re-exporting its own submodules is not a cycle
                if target in files and target != mod and not (
                    is_package and target.startswith(mod + ".")
                ):
                    graph[mod].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_in_ganzoo():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert len(import_graph()) > 20


def test_the_packages_keep_their_boundaries():
    """``bench`` reads runs and never imports the CLI; ``runs`` (what runs inside one fit)
    imports neither, at any depth."""
    graph = import_graph()

    def reach(mod: str) -> set[str]:
        seen, todo = set(), [mod]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    for mod in graph:
        if mod.startswith("ganzoo.bench"):
            assert "ganzoo.cli" not in reach(mod), mod
        if mod.startswith("ganzoo.runs"):
            assert not {m for m in reach(mod) if m.startswith(("ganzoo.bench", "ganzoo.cli"))}, mod
