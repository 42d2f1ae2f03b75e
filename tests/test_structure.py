"""The package's shape: no import cycles anywhere in `portal/` (lazy imports inside functions count too),
the foundation imports no feature, and views reach other features through their services only."""

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


def _runtime_model_imports(source: str) -> set[str]:
    """The `portal.<feature>.models` modules a file imports at run time (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(source)
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body for inner in ast.walk(statement)
    }
    return {
        node.module for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only
        and node.module and node.module.startswith("portal.") and node.module.endswith(".models")
    }


def foreign_tables_in_views() -> dict[str, list[str]]:
    """Each views module that imports another feature's models (to query its tables) and which ones."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE_ROOT.rglob("views.py")):
        module = _module_name(path)
        foreign = sorted(
            target for target in _runtime_model_imports(path.read_text(encoding="utf-8"))
            if _feature_of(target) not in (None, _feature_of(module))
        )
        if foreign:
            found[module] = foreign
    return found


def test_the_views_rule_sees_a_foreign_model_import() -> None:
    """Guard for the rule below: a run-time import of another feature's models is seen; a typing one is not."""
    assert _runtime_model_imports("from portal.offers.models import Offer\n") == {"portal.offers.models"}
    assert _runtime_model_imports(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from portal.offers.models import Offer\n") == set()


def test_no_view_queries_another_features_tables() -> None:
    """A page asks another feature's services for its rows; only its own feature's models (and core's) are queried."""
    assert foreign_tables_in_views() == {}

