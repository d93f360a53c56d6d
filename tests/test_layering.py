"""The package's layers, read from the source: who may import what.

SQL lives only under ``promptctl.store`` (and the migrations); the SDK's modules import
nothing of the store, the API or the CLI; and no two modules import each other, not even
through a function-local import. Each rule is checked on the abstract syntax trees of the
files, so it holds for every code path, not just the ones a test happens to run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The repository's folders and the import package each installs as (pyproject.toml).
FOLDERS = {"registry": "promptctl", "cli": "promptctl.cli", "migrations": "promptctl.migrations"}
SQL_PACKAGES = ("sqlalchemy", "sqlmodel", "alembic")
SQL_ALLOWED = ("promptctl.store", "promptctl.migrations")
SDK_MODULES = ("promptctl.client", "promptctl.snapshot", "promptctl.bucketing",
               "promptctl.bundle", "promptctl.errors", "promptctl.http_errors",
               "promptctl.session_pins", "promptctl.span_attributes", "promptctl.prompt_flags",
               "promptctl.http_transport")
SDK_FORBIDDEN = ("promptctl.store", "promptctl.api", "promptctl.cli")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, resolved to a module where one exists
    line: int
    type_checking: bool  # inside ``if TYPE_CHECKING:``: never executed


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = modules()


def _resolve(name: str) -> str:
    """``promptctl.x.y`` if that is a module, else the nearest enclosing module."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, guarded: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        inner = guarded or (isinstance(child, ast.If) and _is_type_checking(child.test))
        if isinstance(child, ast.If) and _is_type_checking(child.test) and not guarded:
            for stmt in child.body:
                yield stmt, True
                yield from _walk(stmt, True)
            for stmt in child.orelse:
                yield stmt, False
                yield from _walk(stmt, False)
            continue
        yield child, inner
        yield from _walk(child, inner)


def imports_of(module: str) -> list[Import]:
    """Every import statement of ``module``, at any depth, with the module it names."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node, guarded in _walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from promptctl.api import routes`` imports the module promptctl.api.routes
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found += [Import(module, _resolve(t) if t.startswith("promptctl") else t,
                         node.lineno, guarded) for t in targets]
    return found


ALL_IMPORTS = {module: imports_of(module) for module in MODULES}


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _within(m, SQL_ALLOWED)))
def test_only_the_store_and_the_migrations_import_sql_libraries(module: str) -> None:
    sql = [f"line {i.line}: {i.target}" for i in ALL_IMPORTS[module]
           if _within(i.target, SQL_PACKAGES)]
    assert not sql, f"{module} imports SQL libraries (move the query under promptctl.store)"


@pytest.mark.parametrize("module", SDK_MODULES)
def test_the_sdk_imports_nothing_of_the_store_the_api_or_the_cli(module: str) -> None:
    """Directly or through any module it imports (at any depth, executed or not)."""
    seen, todo, path_to = {module}, [module], {module: [module]}
    while todo:
        current = todo.pop()
        for imp in ALL_IMPORTS.get(current, []):
            if imp.type_checking or imp.target in seen or imp.target not in MODULES:
                continue
            seen.add(imp.target)
            path_to[imp.target] = [*path_to[current], imp.target]
            todo.append(imp.target)
    bad = sorted(m for m in seen if _within(m, SDK_FORBIDDEN))
    assert not bad, f"{module} reaches " + "; ".join(" -> ".join(path_to[m]) for m in bad)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (TYPE_CHECKING imports left out: they
    never run). A package's ``__init__`` is not counted for its submodules: importing
    ``promptctl.store.tables`` names that module, not ``promptctl.store``."""
    return {m: {i.target for i in imps if not i.type_checking and i.target in MODULES
                and i.target != m}
            for m, imps in ALL_IMPORTS.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules, first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_two_modules_import_each_other_even_lazily() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) is None


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def _error_names() -> set[str]:
    from promptctl.errors import ERROR_TABLE

    return {cls.__name__ for cls in ERROR_TABLE}


def _message_parts(call: ast.Call) -> Iterator[str]:
    for arg in call.args:
        for node in ast.walk(arg):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value


@pytest.mark.parametrize("module", sorted(
    m for m in MODULES if not _within(m, ("promptctl.cli", "promptctl.migrations"))))
def test_the_cores_errors_name_no_cli_flag(module: str) -> None:
    """The core is called by the CLI, the API and the SDK: an error says what is wrong by
    meaning ("name the environment"), and only the CLI may add its ``--env`` (an error
    names its setting, ``setting="port"``, and the CLI prints the flag of it)."""
    errors = _error_names()
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    flags = [f"line {node.lineno}: {text!r}" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in errors
             for text in _message_parts(node) if FLAG.search(text)]
    assert not flags, f"{module} names CLI flags in errors: " + "; ".join(flags)
