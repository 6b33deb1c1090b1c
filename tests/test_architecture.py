"""The package's shape: layers whose imports point one way, no import circle, a core free of frameworks."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ivr"

# Highest first: a module may import from its own layer's package and from any layer below it.
# Layers on one row are siblings and must not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ivr.cli", "ivr.gunicorn_conf"),
    ("ivr.simulate",),
    ("ivr.app",),
    ("ivr.clock",),
    ("ivr.web",),
    ("ivr.services",),
    ("ivr.live",),
    ("ivr.settings",),
    ("ivr.config", "ivr.records", "ivr.notify"),
    ("ivr.core",),
)
FRAMEWORKS = ("flask", "werkzeug", "twilio", "sqlalchemy", "apscheduler", "psycopg", "jinja2", "gunicorn")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every ivr module `path` imports, at any depth of the file (imports inside functions count)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from ivr.web import voice` imports the submodule ivr.web.voice.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """ivr module -> the ivr modules it imports (a package's own __init__ edges excluded)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {
        name: {m for m in _imports(path, known) if m != name and not name.startswith(m + ".")} for name, path in files.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> int:
    for rank, row in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in row):
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _package(module: str) -> str:
    return next(top for row in LAYERS for top in row if module == top or module.startswith(top + "."))


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    """An import hidden inside a function is an edge of the graph, like one at the top."""
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from ivr.web import voice\n    import ivr.core.flow\n")
    assert _imports(source, {"ivr.web", "ivr.web.voice", "ivr.core", "ivr.core.flow"}) == {
        "ivr.web",
        "ivr.web.voice",
        "ivr.core.flow",
    }


def test_the_cycle_finder_finds_a_circle() -> None:
    """The circle check itself reports a circle of three modules (so its silence below means something)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle() -> None:
    """No set of ivr modules imports each other in a circle."""
    assert _cycles(import_graph()) == []


def test_imports_point_down_the_layers() -> None:
    """Edges point from cli/app/clock/web down to config/records/notify and then to core; never up or sideways."""
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if _layer(target) < _layer(module) or (_layer(target) == _layer(module) and _package(target) != _package(module))
    ]
    assert wrong == []


@pytest.fixture(scope="module")
def loaded_by_core() -> list[str]:
    """Every module a fresh interpreter has loaded after importing each core module."""
    modules = sorted(_module_name(p) for p in (PACKAGE / "core").rglob("*.py"))
    code = (
        f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    )
    return list(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout))


def test_the_core_is_imported_whole(loaded_by_core: list[str]) -> None:
    """The framework check below really imported the core (flow and schedule among it)."""
    assert {"ivr.core.flow", "ivr.core.schedule", "ivr.core.model"} <= set(loaded_by_core)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_core_imports_no_framework(framework: str, loaded_by_core: list[str]) -> None:
    """Importing every core module loads none of Flask, twilio, SQLAlchemy, APScheduler or the web stack."""
    assert [m for m in loaded_by_core if m == framework or m.startswith(framework + ".")] == []
