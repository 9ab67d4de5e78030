"""`goofs` as several processes: workers, and instances migrating one empty database at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from devkit import postgres
from devkit.ports import free_port
from galactic_goofs import migrate
from tests.cluster import StreamClient, cluster_env, instances, mixed_changes, streaming
from tests.support import (
    cli_token,
    goofs_process,
    require,
    wait_for_http,
    wait_until,
)


@pytest.fixture
async def empty_postgres_url() -> AsyncIterator[str]:
    """A database with no tables at all, as a first deployment finds it."""
    try:
        url = await postgres.create_database("goofs_empty")
    except (OSError, asyncpg.PostgresError) as error:
        require("PostgreSQL", False, f"{postgres.ADMIN_URL}: {error}")
    try:
        yield url
    finally:
        await postgres.drop_database(url)


def head_revision() -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    return head


def test_workers_with_the_memory_broker_refuse_to_start_and_say_why(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {"GOOFS_DATABASE_URL": sqlite_url, "GOOFS_BROKER_URL": "memory://"}
    args = ["serve", "--workers", "2", "--port", str(free_port())]
    with goofs_process(args, env, tmp_path) as process:
        output, _ = process.communicate(timeout=30)

    assert process.returncode != 0
    message = output.decode()
    assert "--workers needs a shared broker" in message
    assert "GOOFS_BROKER_URL=redis://" in message


@pytest.mark.postgres
@pytest.mark.redis
async def test_workers_with_redis_serve_every_stream_every_change(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    workers = 2
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cluster_env(postgres_url, redis_url)
    args = ["serve", "--workers", str(workers), "--port", str(port)]
    with goofs_process(args, env, tmp_path, log=tmp_path / "workers.log") as process:
        wait_for_http(f"{url}/readyz", process)
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=url, headers=operator) as api,
            contextlib.AsyncExitStack() as streams,
        ):
            # Connections land on whichever worker accepts them: open streams until some are
            # on each worker, or the kernel is not sharing them out at all.
            clients: list[StreamClient] = []
            while len({client.instance for client in clients}) < workers:
                assert len(clients) < 24, f"every stream landed on {clients[0].instance}"
                clients += await streams.enter_async_context(streaming([url] * 2))
            await mixed_changes([api], 20)
            await wait_until(
                lambda: all(len(client.events) >= 100 for client in clients),
                timeout=20,
                message="100 events on every stream",
            )

    by_worker: dict[str | None, list[StreamClient]] = defaultdict(list)
    for client in clients:
        by_worker[client.instance].append(client)
    assert len(by_worker) == workers and None not in by_worker, by_worker.keys()
    for instance, served in by_worker.items():
        for client in served:
            assert client.ended is None, (instance, client.ended)
            assert client.seqs == list(range(1, 101)), f"a client of worker {instance}"


@pytest.mark.postgres
async def test_instances_migrating_an_empty_database_at_once_all_succeed(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    # Processes start too far apart to overlap on their own. So the test creates the first table
    # a migration creates, uncommitted: every migrator blocks, and all go at once on rollback.
    migrators = 4
    gate = await asyncpg.connect(empty_postgres_url)
    # Activity is read from a second connection: within a transaction it would be a snapshot.
    watch = await asyncpg.connect(empty_postgres_url)
    held = gate.transaction()
    await held.start()
    await gate.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL)")
    env = {"GOOFS_DATABASE_URL": empty_postgres_url}
    try:
        with contextlib.ExitStack() as stack:
            processes = [
                stack.enter_context(goofs_process(["migrate"], env, tmp_path))
                for _ in range(migrators)
            ]
            await wait_until(
                lambda: _sessions_waiting_on_locks(watch, migrators),
                timeout=30,
                message=f"{migrators} migrators waiting",
            )
            await held.rollback()
            outputs = [
                (await asyncio.to_thread(process.communicate, timeout=60))[0].decode()
                for process in processes
            ]
    finally:
        await gate.close()
        await watch.close()

    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    assert await _alembic_version(empty_postgres_url) == head_revision()


async def _sessions_waiting_on_locks(connection: asyncpg.Connection, count: int) -> bool:
    waiting: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting >= count


@pytest.mark.postgres
@pytest.mark.redis
async def test_instances_starting_at_once_on_an_empty_database_all_serve(
    empty_postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(empty_postgres_url, redis_url)
    with instances(3, env, tmp_path) as cluster:
        for instance in cluster:
            async with httpx.AsyncClient(base_url=instance.url) as client:
                assert (await client.get("/readyz")).status_code == 200
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with httpx.AsyncClient(base_url=cluster[-1].url, headers=operator) as client:
            created = await client.post(
                "/api/v1/spacecraft", json={"name": "Vostok", "cospar_id": "1961-012A"}
            )
            assert created.status_code == 201, created.text

    assert await _alembic_version(empty_postgres_url) == head_revision()


async def _alembic_version(url: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        version: str = await connection.fetchval("SELECT version_num FROM alembic_version")
        return version
    finally:
        await connection.close()
