from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from galactic_goofs import migrate
from galactic_goofs.db import Database
from tests.support import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    Running,
    require,
    running_app,
    test_settings,
    unique_name,
)


def _postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database that each PostgreSQL test copies (CREATE DATABASE ... TEMPLATE)."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as error:
        require("PostgreSQL", False, f"{POSTGRES_ADMIN_URL}: {error}")
    name = unique_name("goofs_template")
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))

    async def migrate_template() -> None:
        db = Database(_postgres_url(name).replace("postgresql://", "postgresql+asyncpg://"))
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    try:
        asyncio.run(migrate_template())
        yield name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def postgres_url(postgres_template: str) -> AsyncIterator[str]:
    name = unique_name("goofs_test")
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield _postgres_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goofs.db'}"


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    """A migrated SQLite database, for tests below the HTTP layer."""
    database = Database(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    await migrate.upgrade(database)
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
