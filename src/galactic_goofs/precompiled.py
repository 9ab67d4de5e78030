"""The write path's fast lane: Core statements compiled once, at import, and on SQLite run
straight on the driver's connection.

SQLAlchemy's execution machinery costs about 0.1 ms per statement, several times what SQLite
takes to write a row by key, and the hot changes (malfunction, repair) are a few such statements.
A `Statement` holds the SQL SQLAlchemy compiled for it and the bind and result conversions of its
columns' own types, so what `SqliteWriter` stores and reads back is what SQLAlchemy itself would
store and read (`tests/unit/test_statements.py` holds it to that). On PostgreSQL,
`PostgresWriter` does the same on asyncpg's connection beneath SQLAlchemy's adapter (whose type
codecs it set up), each statement awaited from the change's greenlet as SQLAlchemy itself does:
the change's rules stay in one Python function for both databases.

This leans on compiler internals (`SQLCompiler.positiontup`, `construct_params`), which is why
`pyproject.toml` keeps SQLAlchemy below its next minor release. Why and what it gained:
`docs/PERFORMANCE.md`, "The write path".
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from sqlalchemy import create_engine, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select
from sqlalchemy.util import await_only

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Processor = Callable[[Any], Any] | None

SQLITE = create_engine("sqlite+pysqlite://").dialect
"""The dialect the SQLite write connection uses (creating an engine connects to nothing)."""
POSTGRESQL = create_engine("postgresql+asyncpg://").dialect


class Statement:
    """A Core statement that a change runs many times a second, compiled when it is built.

    A statement that cannot be compiled fails at import, so in the first test that imports it,
    not at the first malfunction in production.
    """

    built: ClassVar[list[Statement]] = []
    """Every statement made so far: the tests check each against a live connection's dialect."""

    def __init__(
        self, statement: Select[Any] | UpdateBase, *, column_keys: Sequence[str] | None = None
    ) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        """For an INSERT or UPDATE whose values come with each run: the columns they set."""
        self.on_sqlite = _Compiled.of(self, SQLITE)
        self.on_postgresql = _Compiled.of(self, POSTGRESQL)
        Statement.built.append(self)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    compiler: SQLCompiler
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    row: Any
    """A named tuple of the result columns, like SQLAlchemy's rows: `row.id`, `row.version`."""

    @classmethod
    def of(cls, statement: Statement, dialect: Dialect) -> _Compiled:
        compiler = statement.statement.compile(dialect=dialect, column_keys=statement.column_keys)
        assert isinstance(compiler, SQLCompiler)
        if compiler.insert_prefetch or compiler.update_prefetch:
            # Python-side column defaults are computed by SQLAlchemy's execution context.
            raise ValueError(f"a Statement cannot fill in column defaults: {compiler.string}")
        names = tuple(compiler.positiontup or ())
        columns = statement.statement.exported_columns
        return cls(
            sql=compiler.string,
            compiler=compiler,
            names=names,
            binds=tuple(
                compiler.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            ),
            results=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ),
            # Keys, not `for key in columns`: a column collection iterates over its columns.
            row=namedtuple("Row", [str(key) for key in columns.keys()], rename=True),  # noqa: SIM118
        )

    def parameters(self, params: Mapping[str, Any] | None) -> tuple[Any, ...]:
        values = self.compiler.construct_params(params)
        return tuple(
            value if process is None else process(value)
            for process, value in zip(
                self.binds, (values[name] for name in self.names), strict=True
            )
        )

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make = self.row._make
        results = self.results
        return [
            make(
                value if process is None else process(value)
                for process, value in zip(results, row, strict=True)
            )
            for row in raw
        ]


class Writer(Protocol):
    """Runs a `Statement` inside the current write transaction; returns its rows.

    `expected` is the row, as the change read it, that an UPDATE by its key rewrites: inside a
    transaction that claimed the log's seq it is still so, but a change made in one statement
    (`galactic_goofs.events.one_statement`) reads before that and writes only where it is.
    """

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None, *, expected: Any = None
    ) -> list[Any]: ...


def rewritten(row: Any, values: Mapping[str, Any]) -> Any:
    """`row` (a row of a `Statement` or of SQLAlchemy) as an UPDATE of `values` by its key
    leaves it: what its RETURNING would give, without asking the database."""
    fields = row._asdict()
    fields.update((key, value) for key, value in values.items() if key in fields)
    return _row_type(tuple(fields))(**fields)


@functools.cache
def _row_type(fields: tuple[str, ...]) -> Any:
    return namedtuple("Row", fields)


class SqliteWriter:
    """On the SQLite write connection's driver, with the SQL compiled at import."""

    def __init__(self, driver: sqlite3.Connection) -> None:
        self.driver = driver

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None, *, expected: Any = None
    ) -> list[Any]:
        compiled = statement.on_sqlite
        parameters = compiled.parameters(params)
        rows = on_driver(self.driver.execute, compiled.sql, parameters).fetchall()
        return compiled.rows(rows)


class PostgresWriter:
    """On asyncpg's connection under SQLAlchemy's adapter, with the SQL compiled at import.

    Runs inside `greenlet_spawn` (see `Database.write`): a change is a plain function, and each
    statement is awaited the way SQLAlchemy's own asyncpg adapter awaits its calls. asyncpg
    prepares each SQL text once per connection and keeps it.
    """

    def __init__(self, adapted: Any) -> None:
        self.adapted = adapted
        """SQLAlchemy's `AsyncAdapt_asyncpg_connection`: it translates asyncpg's errors."""
        self.driver = adapted.driver_connection

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None, *, expected: Any = None
    ) -> list[Any]:
        compiled = statement.on_postgresql
        parameters = compiled.parameters(params)
        try:
            rows = await_only(self.driver.fetch(compiled.sql, *parameters))
        except Exception as error:
            raise self.translated(error, compiled.sql, parameters) from error
        return compiled.rows(rows)

    def translated(
        self, error: Exception, sql: str, parameters: Sequence[Any]
    ) -> exc.StatementError:
        """asyncpg's error as SQLAlchemy's (IntegrityError, OperationalError...), as it would
        have raised it."""
        try:
            self.adapted._handle_exception(error)
        except Exception as dbapi_error:
            dbapi = self.adapted.dbapi
            return exc.DBAPIError.instance(sql, parameters, dbapi_error, dbapi.Error)
        raise AssertionError("unreachable: _handle_exception always raises")


class _CoreWriter:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None, *, expected: Any = None
    ) -> list[Any]:
        result = self.connection.execute(statement.statement, params)
        return list(result.all()) if result.returns_rows else []


def session_writer(session: Session) -> Writer:
    """A `Writer` inside a session's transaction, for changes made of both kinds."""
    return _CoreWriter(session.connection())


def on_driver(call: Callable[..., T], sql: str, parameters: Sequence[Any] = ()) -> T:
    """A driver call, its errors wrapped as SQLAlchemy's (IntegrityError, OperationalError...)."""
    try:
        return call(sql, parameters)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


class StatementChange(Protocol, Generic[P, T_co]):
    """A change made of `Statement`s only: a function of a `Writer`, marked by `on_statements`.

    `Database.write` runs it without an ORM session (on SQLite, without SQLAlchemy at all).
    """

    on_statements: bool

    def __call__(self, run: Writer, /, *args: P.args, **kwargs: P.kwargs) -> T_co: ...


def on_statements(fn: Callable[Concatenate[Writer, P], T]) -> StatementChange[P, T]:
    """Mark `fn(writer, ...)` as a change made of `Statement`s only (see `StatementChange`)."""
    fn.on_statements = True  # type: ignore[attr-defined]
    return fn  # type: ignore[return-value]
