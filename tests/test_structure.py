"""The package's shape: no import cycles anywhere in `portal/` (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import portal

PACKAGE_ROOT = Path(portal.__file__).parent


def _module_name(path: Path) -> str:
    """`portal/offers/cli.py` -> `portal.offers.cli`; a package's `__init__` is the package."""
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every portal module and the portal modules it imports, at any depth of the file."""
    modules = {_module_name(path): path for path in PACKAGE_ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                names_from_module = any(sub not in modules for sub in submodules)
                candidates = [sub for sub in submodules if sub in modules] + ([node.module] if names_from_module else [])
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_sees_a_cycle() -> None:
    """Guard for the rule below: a two-module loop is reported."""
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_no_import_cycle_in_portal() -> None:
    """Features depend downward only: no module reaches itself through its imports."""
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


FOUNDATION = ("portal.core", "portal.db", "portal.extensions", "portal.config")


def _feature_of(module: str) -> str | None:
    """`portal.offers.views` -> `offers`; None for the foundation and the top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and not module.startswith(FOUNDATION) else None


def test_core_imports_no_feature() -> None:
    """The foundation is below every feature: nothing in `portal/core/` imports a feature."""
    graph = import_graph()
    reaching_up = {
        f"{module} -> {target}"
        for module, targets in graph.items() if module.startswith("portal.core")
        for target in targets if not target.startswith(FOUNDATION)
    }
    assert not reaching_up, sorted(reaching_up)
