from __future__ import annotations

import asyncio
import gc
import graphlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis
from argon2 import PasswordHasher

from devkit import postgres
from devkit.postgres import unique_name
from galactic_goofs import migrate
from galactic_goofs.auth import service as auth
from galactic_goofs.db import Database
from tests.support import (
    OPERATOR,
    OPERATOR_PASSWORD,
    REDIS_URL,
    Running,
    require,
    running_app,
    test_settings,
)


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Argon2 at its cheapest in this process: its real cost (about 0.2 s a hash, on purpose)
    would be a third of the fast layer's time. Servers the tests start as processes keep it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


PRISTINE = "pristine"
"""The schema holding a copy of every table as migrations and `seed` left it."""


async def seed(db: Database) -> None:
    """What every test database starts with beyond its migrations: the test operator (its
    password hash alone takes longer than most tests)."""
    await migrate.upgrade(db)
    await auth.add_operator(db, OPERATOR, OPERATOR_PASSWORD)


async def _tables(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    return [row["tablename"] for row in rows]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This test session's (or xdist worker's) PostgreSQL database: migrated, seeded, and with
    a copy of each table's seeded rows in the schema `pristine`, so `postgres_url` can put it
    back as it was in a few milliseconds instead of making a new database per test."""
    try:
        asyncio.run(postgres.admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as error:
        require("PostgreSQL", False, f"{postgres.ADMIN_URL}: {error}")
    url = asyncio.run(postgres.create_database("goofs_test"))

    async def prepare() -> None:
        db = Database(url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            await seed(db)
        finally:
            await db.dispose()
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(f"CREATE SCHEMA {PRISTINE}")
            for table in await _tables(connection):
                await connection.execute(
                    f'CREATE TABLE {PRISTINE}."{table}" AS SELECT * FROM public."{table}"'
                )
        finally:
            await connection.close()

    try:
        asyncio.run(prepare())
        yield url
    finally:
        asyncio.run(postgres.drop_database(url))


async def _children_first(connection: asyncpg.Connection) -> list[str]:
    """The tables a reset empties, each before any table its foreign keys point to."""
    tables = [table for table in await _tables(connection) if table != "alembic_version"]
    references = await connection.fetch(
        """
        SELECT child.relname AS child, parent.relname AS parent
        FROM pg_constraint
        JOIN pg_class child ON child.oid = pg_constraint.conrelid
        JOIN pg_class parent ON parent.oid = pg_constraint.confrelid
        JOIN pg_namespace ON pg_namespace.oid = child.relnamespace
        WHERE pg_constraint.contype = 'f' AND pg_namespace.nspname = 'public'
        """
    )
    order = graphlib.TopologicalSorter({table: set() for table in tables})
    for row in references:
        if row["child"] != row["parent"]:
            order.add(row["parent"], row["child"])
    return list(order.static_order())


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    """The session's PostgreSQL database, every table put back to its seeded rows.

    DELETE, not TRUNCATE: for tables of a few rows it is ten times quicker (TRUNCATE makes each
    table new files). Sequences are left where they are, so new rows never take the ids of
    seeded ones.
    """
    connection = await asyncpg.connect(postgres_database)
    try:
        tables = await _children_first(connection)
        await connection.execute(
            "".join(f'DELETE FROM public."{table}";' for table in tables)
            + "".join(
                f'INSERT INTO public."{table}" SELECT * FROM {PRISTINE}."{table}";'
                for table in reversed(tables)
            )
        )
    finally:
        await connection.close()
    yield postgres_database


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared Redis; tests keep apart by each using its own channel (`GOOFS_REDIS_CHANNEL`)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        require("Redis", False, f"{REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each SQLite test copies: migrating from nothing takes longer
    than most tests."""
    path = tmp_path_factory.mktemp("sqlite-template") / "goofs.db"

    async def migrate_template() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await seed(db)
        finally:
            await db.dispose()  # the last connection to close folds the WAL into the file

    asyncio.run(migrate_template())
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database of this test's own."""
    path = tmp_path / "goofs.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    """A migrated SQLite database, for tests below the HTTP layer."""
    database = Database(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    yield database
    await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Both databases the product runs on; tests using it run once on each."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def goofs(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Running]:
    """The app served on loopback: the embedded default (SQLite and the in-process broker) and
    the services a deployment runs on (PostgreSQL and Redis)."""
    settings = test_settings(database_url)
    if not settings.is_sqlite:
        settings = test_settings(
            database_url,
            broker_url=request.getfixturevalue("redis_url"),
            redis_channel=unique_name("goofs_test_events"),
        )
    async with running_app(settings) as running:
        yield running


@pytest.fixture
async def goofs_sqlite(sqlite_url: str) -> AsyncIterator[Running]:
    """The app on SQLite only, for rules that do not depend on the database."""
    async with running_app(test_settings(sqlite_url)) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GOOFS_MALFUNCTION_INTERVAL", "0")


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the process holds once the tests are collected (the libraries, the app's modules,
    the tests) stays for good: frozen, the garbage collector stops walking those hundreds of
    thousands of objects again at each full collection, which cost the API tests a tenth of
    their CPU."""
    gc.collect()
    gc.freeze()


LAYERS = ("unit", "api", "system", "browser")
"""The test tree's folders, each a marker: `pytest -m "unit or api"` is the fast layer."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = item.path.parent.name
        if layer in LAYERS:
            item.add_marker(layer)
