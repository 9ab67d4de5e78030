from __future__ import annotations

import asyncio
import sqlite3
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc, make_url
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the database kept (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC")
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: Engine, *, begin: str) -> None:
    """WAL so readers never block the writer; our own BEGIN so writes lock the file up front.

    pysqlite's implicit transactions begin lazily at the first write, which lets two writers
    read the same snapshot and then fail to upgrade; `BEGIN IMMEDIATE` makes them queue instead.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only power loss can drop the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


CONNECT_TIMEOUT = 5.0
SQLITE_WRITE_BEGIN = "BEGIN IMMEDIATE"


async def _close(session: AsyncSession) -> None:
    """Close, tolerating a connection the database already dropped.

    Closing rolls back whatever is open; if the database went away meanwhile, that rollback
    fails although nothing is left to undo (the pool discards the dead connection). Raising
    then would break a request that already has its answer, often after it was sent.
    """
    try:
        await asyncio.shield(session.close())
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise


P = ParamSpec("P")
T = TypeVar("T")
Write = Callable[Concatenate[Session, P], T]
Processor = Callable[[Any], Any] | None


class Statement:
    """A Core statement that a change runs many times a second, compiled once per dialect.

    SQLAlchemy's execution machinery costs about 0.1 ms per statement, several times what SQLite
    takes to write a row by key. On SQLite a `Writer` runs the statement straight on the
    driver's connection, with the SQL SQLAlchemy compiled for it and the bind and result
    conversions of its columns' own types, so what is stored and read back is what SQLAlchemy
    itself would store and read. Elsewhere it runs through SQLAlchemy as usual.
    """

    def __init__(
        self, statement: Select[Any] | UpdateBase, *, column_keys: Sequence[str] | None = None
    ) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        """For an INSERT or UPDATE whose values come with each run: the columns they set."""
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled.of(self, dialect)
        return compiled


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
    """Runs a `Statement` inside the current write transaction; returns its rows."""

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Any]: ...


class _SqliteWriter:
    def __init__(self, driver: sqlite3.Connection, dialect: Dialect) -> None:
        self.driver = driver
        self.dialect = dialect

    def __call__(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        compiled = statement.compiled(self.dialect)
        parameters = compiled.parameters(params)
        rows = _on_driver(self.driver.execute, compiled.sql, parameters).fetchall()
        return compiled.rows(rows)


class _CoreWriter:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __call__(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        result = self.connection.execute(statement.statement, params)
        return list(result.all()) if result.returns_rows else []


def session_writer(session: Session) -> Writer:
    """A `Writer` inside a `Database.write` transaction, for changes made of both kinds."""
    return _CoreWriter(session.connection())


def _on_driver(call: Callable[..., T], sql: str, parameters: Sequence[Any] = ()) -> T:
    """A driver call, its errors wrapped as SQLAlchemy's (IntegrityError, OperationalError...)."""
    try:
        return call(sql, parameters)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


class Database:
    """The engines of one app instance: reads are async, a write is a function of a `Session`.

    `write(fn, ...)` runs `fn(session, ...)` in one transaction that commits when it returns
    and rolls back when it raises. A write never awaits in the middle:

    - On SQLite it runs in place, on the event loop's thread, over a plain `sqlite3` connection
      that begins with `BEGIN IMMEDIATE`. Its statements are short (by key; in WAL mode a commit
      does not wait for the disk), so this costs tens of microseconds where an async driver
      costs a thread hop and several turns of the loop per statement, most of a change's CPU.
      Writes are serialised by the loop itself, so one connection serves them all. Another
      process holding the file's write lock (a CLI command) makes the loop wait up to the busy
      timeout: keep one server process per SQLite file.
    - On PostgreSQL it runs through `AsyncSession.run_sync`, on the shared async engine.

    `change(fn, ...)` runs `fn(writer, ...)` the same way for a change made only of
    `Statement`s (malfunction, repair): on SQLite with no session at all.

    Reads (`reading()`) keep the async driver, so a long search never stalls the loop.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._sqlite_writer: sessionmaker[Session] | None = None
        if self.is_sqlite:
            self.engine = create_async_engine(url, pool_size=5, max_overflow=10)
            _configure_sqlite(self.engine.sync_engine, begin="BEGIN")
            self._sqlite_write_engine = create_engine(
                make_url(url).set(drivername="sqlite+pysqlite"),
                pool_size=1,
                max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            _configure_sqlite(self._sqlite_write_engine, begin=SQLITE_WRITE_BEGIN)
            self._sqlite_writer = sessionmaker(self._sqlite_write_engine, expire_on_commit=False)
        else:
            self.engine = create_async_engine(
                url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                # A database that does not answer is an outage to report (503) within
                # seconds, not a request left hanging for asyncpg's default minute.
                connect_args={"timeout": CONNECT_TIMEOUT},
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        session = self.sessions()
        try:
            yield session
        finally:
            await _close(session)

    async def write(self, fn: Write[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(session, *args, **kwargs)` in one write transaction; see the class."""
        if self._sqlite_writer is not None:
            with self._sqlite_writer() as session, session.begin():
                return fn(session, *args, **kwargs)
        async_session = self.sessions()
        try:
            return await async_session.run_sync(_in_transaction, fn, *args, **kwargs)
        finally:
            await _close(async_session)

    async def change(
        self, fn: Callable[Concatenate[Writer, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(writer, *args, **kwargs)` in one write transaction of `Statement`s.

        The hot changes (malfunction, repair) are made of a few statements by key, and the ORM
        session around them cost more than the statements. On SQLite this runs on the write
        connection's driver with no session; elsewhere it is a `write` like any other.
        """
        if self._sqlite_writer is None:
            return await self.write(lambda session: fn(session_writer(session), *args, **kwargs))
        pooled = self._sqlite_write_engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            _on_driver(driver.execute, SQLITE_WRITE_BEGIN)
            try:
                result = fn(
                    _SqliteWriter(driver, self._sqlite_write_engine.dialect), *args, **kwargs
                )
            except BaseException:
                driver.rollback()
                raise
            _on_driver(lambda _sql, _parameters: driver.commit(), "COMMIT")
            return result
        finally:
            pooled.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.is_sqlite:
            self._sqlite_write_engine.dispose()


def _in_transaction(session: Session, fn: Write[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    with session.begin():
        return fn(session, *args, **kwargs)
