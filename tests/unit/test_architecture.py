"""The shape of the code: who may import whom, and the fast paths' guarantees."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.middleware.gzip import GZipMiddleware

from galactic_goofs import precompiled
from galactic_goofs.app import create_app
from galactic_goofs.asgi import BodyMiddlewareRefused
from galactic_goofs.events import service as events_service  # noqa: F401  (builds statements)
from galactic_goofs.fleet import service as fleet_service  # noqa: F401
from galactic_goofs.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "galactic_goofs"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports (at any level)."""
    graph: dict[str, set[str]] = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        name = module_name(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    base = ".".join([*name.split(".")[: -node.level], node.module])
                found.update(f"{base}.{alias.name}" for alias in node.names)
                found.add(base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {other for other in found if other.startswith(PACKAGE)}
    modules = set(graph)
    return {name: {other for other in found if other in modules} for name, found in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                found.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(imports()) == []


def test_the_domain_never_imports_the_console_or_the_tests() -> None:
    graph = imports()
    for name, imported in graph.items():
        if name.startswith(f"{PACKAGE}.fleet"):
            assert not {m for m in imported if m.startswith(f"{PACKAGE}.web")}, name
    sources = "\n".join(path.read_text() for path in (SRC / PACKAGE).rglob("*.py"))
    assert "from tests" not in sources and "import tests" not in sources


def test_the_state_and_the_write_path_work_without_fastapi() -> None:
    blocked = (
        "import sys; sys.modules['fastapi'] = None; "
        "import galactic_goofs.state, galactic_goofs.simulator, galactic_goofs.events.consumers"
    )
    run = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_hot_statements_compile_at_import_as_the_live_connection_would(
    tmp_path: Path,
) -> None:
    assert len(precompiled.Statement.built) >= 4  # the seq claim, the event, a row, its update
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'probe.db'}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the dialect has seen the real SQLite now
        live = connection.dialect
        for statement in precompiled.Statement.built:
            compiled = statement.statement.compile(dialect=live, column_keys=statement.column_keys)
            assert compiled.string == statement.on_sqlite.sql
    engine.dispose()


def test_a_middleware_that_would_see_response_bodies_is_refused(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", _env_file=None))
    with pytest.raises(BodyMiddlewareRefused, match="GZipMiddleware may need to see response"):
        app.add_middleware(GZipMiddleware)
