from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar, overload

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

from galactic_goofs.precompiled import (
    PostgresWriter,
    SqliteWriter,
    StatementChange,
    on_driver,
)

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

    A change made only of precompiled `Statement`s (malfunction, repair, acknowledge; see
    `galactic_goofs.precompiled`) runs the same way, on SQLite with no session at all; on
    PostgreSQL, where it can, as one statement after its reads
    (`galactic_goofs.events.one_statement`).

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
            # The hot changes' own pool, without the pre-ping: a ping is three round trips
            # (BEGIN, a query, ROLLBACK), as many as half a change. A connection that died in
            # the pool fails at BEGIN instead, before anything happened, and is replaced.
            self._statements_engine = create_async_engine(
                url,
                # Kept open: a connection made afresh costs more than a dozen changes.
                pool_size=20,
                max_overflow=10,
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

    async def read_in_place(self, fn: Write[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(session, *args, **kwargs)` for a short read that runs many times a second (by
        index, with a limit). On SQLite it runs in place on the write connection, as a write
        does: through the async driver each statement costs a hop to its thread and back,
        more than such a query itself. On PostgreSQL it is a read like any other."""
        if self._sqlite_writer is not None:
            with self._sqlite_writer() as session, session.begin():
                return fn(session, *args, **kwargs)
        async with self.reading() as async_session:
            return await async_session.run_sync(fn, *args, **kwargs)

    @overload
    async def write(self, fn: StatementChange[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    @overload
    async def write(self, fn: Write[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    async def write(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`fn(session, *args, **kwargs)` in one write transaction; see the class.

        A change marked `on_statements` gets a `Writer` instead of a session: on SQLite it runs
        on the write connection's driver with no session at all.
        """
        if getattr(fn, "on_statements", False):
            return await self._on_statements(fn, *args, **kwargs)
        if self._sqlite_writer is not None:
            with self._sqlite_writer() as session, session.begin():
                return fn(session, *args, **kwargs)
        async_session = self.sessions()
        try:
            return await async_session.run_sync(_in_transaction, fn, *args, **kwargs)
        finally:
            await _close(async_session)

    async def _on_statements(
        self, fn: StatementChange[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self._sqlite_writer is None:
            return await self._on_postgresql(fn, *args, **kwargs)
        pooled = self._sqlite_write_engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            on_driver(driver.execute, SQLITE_WRITE_BEGIN)
            try:
                result = fn(SqliteWriter(driver), *args, **kwargs)
            except BaseException:
                driver.rollback()
                raise
            on_driver(lambda _sql, _parameters: driver.commit(), "COMMIT")
            return result
        finally:
            pooled.close()

    async def _on_postgresql(
        self, fn: StatementChange[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The change on asyncpg's connection in a transaction of its own, without a session:
        BEGIN, its statements, COMMIT, one round trip each; first in one statement, if it can
        be (`galactic_goofs.events.one_statement`)."""
        if (one_statement := getattr(fn, "in_one_statement", None)) is not None:
            made = await self._in_one_statement(one_statement, fn, *args, **kwargs)
            if made is not None:
                return made[0]
        for attempt in range(2):
            async with self._statements_engine.connect() as connection:
                adapted = (await connection.get_raw_connection()).dbapi_connection
                writer = PostgresWriter(adapted)
                try:
                    transaction = writer.driver.transaction()
                    await transaction.start()
                except Exception as error:
                    await connection.invalidate()
                    if attempt == 0:
                        continue  # nothing happened yet: once more, on a new connection
                    raise writer.translated(error, "BEGIN", ()) from error
                try:
                    result = await greenlet_spawn(functools.partial(fn, writer, *args, **kwargs))
                    await transaction.commit()
                except BaseException as error:
                    try:
                        await asyncio.shield(transaction.rollback())
                    except Exception:
                        await connection.invalidate()  # it went with the transaction
                    if isinstance(error, Exception) and _is_driver_error(error):
                        raise writer.translated(error, "COMMIT", ()) from error
                    raise
                return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _in_one_statement(
        self,
        one_statement: Callable[[PostgresWriter], Any],
        fn: StatementChange[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> tuple[T] | None:
        """`(result,)`, or None when nothing was written and the change is to be made in a
        transaction: a row changed since it was read, the rules refused (perhaps on a
        row just changed), or a statement failed before the writes were sent."""
        async with self._statements_engine.connect() as connection:
            adapted = (await connection.get_raw_connection()).dbapi_connection
            writer = one_statement(PostgresWriter(adapted))
            try:
                return (await greenlet_spawn(functools.partial(fn, writer, *args, **kwargs)),)
            except Exception as error:
                if writer.sent:
                    raise  # it may have been made
                if isinstance(error, exc.DBAPIError):
                    await connection.invalidate()  # a connection that died in the pool, say
                return None

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.is_sqlite:
            self._sqlite_write_engine.dispose()
        else:
            await self._statements_engine.dispose()


def _in_transaction(session: Session, fn: Write[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    with session.begin():
        return fn(session, *args, **kwargs)


def _is_driver_error(error: Exception) -> bool:
    """asyncpg's own error (at COMMIT, say), not yet SQLAlchemy's nor the change's."""
    return type(error).__module__.startswith("asyncpg")
