"""PostgreSQL databases made for one test or benchmark run, on the server of
`GOOFS_TEST_POSTGRES_URL` (default: the local `test` database, which is only used to connect)."""

from __future__ import annotations

import os
import uuid

import asyncpg

ADMIN_URL = os.environ.get("GOOFS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def url_of(database: str) -> str:
    """The plain `postgresql://` URL of `database` on the admin URL's server."""
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def admin(sql: str) -> None:
    """One statement on the admin connection (CREATE DATABASE cannot run in a transaction)."""
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database(prefix: str = "goofs_test", *, template: str | None = None) -> str:
    """A new database (a copy of `template`, else empty); returns its URL."""
    name = unique_name(prefix)
    copy = f' TEMPLATE "{template}"' if template else ""
    await admin(f'CREATE DATABASE "{name}"{copy}')
    return url_of(name)


async def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
