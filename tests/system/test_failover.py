"""The cluster rides out losing Redis and losing the instance that runs the fault simulator."""

from __future__ import annotations

import itertools
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as redis

from tests.cluster import (
    RedisServer,
    StreamClient,
    cluster_env,
    cospar_id,
    instances,
    mixed_changes,
    streaming,
)
from tests.support import cli_token, require, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def readiness(url: str) -> dict[str, bool]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        checks: dict[str, bool] = (await client.get("/readyz")).json()["checks"]
        return checks


async def test_restarting_redis_loses_no_event(postgres_url: str, tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    require("redis-server", binary is not None, "not installed")
    assert binary is not None
    redis_server = RedisServer(binary, tmp_path)
    redis_server.start()
    try:
        env = cluster_env(postgres_url, redis_server.url)
        with instances(2, env, tmp_path) as (a, b):
            operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
            async with (
                httpx.AsyncClient(base_url=a.url, headers=operator) as api_a,
                httpx.AsyncClient(base_url=b.url, headers=operator) as api_b,
                streaming([a.url, a.url, b.url, b.url]) as clients,
            ):
                apis = [api_a, api_b]
                await mixed_changes(apis, 20, first=0)

                redis_server.stop()
                for url in (a.url, b.url):
                    await wait_until(
                        lambda url=url: _broker_down(url), message="/readyz to report Redis down"
                    )
                await mixed_changes(apis, 20, first=20)

                redis_server.start()
                for url in (a.url, b.url):
                    await wait_until(
                        lambda url=url: _broker_up(url), message="/readyz to report Redis up"
                    )
                channel = env["GOOFS_REDIS_CHANNEL"]
                await wait_until(
                    lambda: _subscribed(redis_server.url, channel, 2),
                    message="both hubs to subscribe again",
                )
                await mixed_changes(apis, 20, first=40)

                total = 5 * 60
                await wait_until(
                    lambda: all(len(client.events) >= total for client in clients),
                    timeout=20,
                    message=f"{total} events on every stream",
                )
    finally:
        redis_server.stop()

    _assert_all_in_order(clients, total)


async def _broker_down(url: str) -> bool:
    return not (await readiness(url))["broker"]


async def _broker_up(url: str) -> bool:
    return (await readiness(url))["broker"]


async def _subscribed(redis_url: str, channel: str, count: int) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        [(_, subscribed)] = await client.pubsub_numsub(channel)
        return int(subscribed) == count
    finally:
        await client.aclose()


def _assert_all_in_order(clients: list[StreamClient], total: int) -> None:
    for client in clients:
        assert client.ended is None, client.ended
        assert client.seqs == list(range(1, total + 1)), client.url


SIMULATED_RUN = 30.0
KILL_AFTER = 10.0


async def test_the_simulator_fails_over_when_its_instance_dies_and_never_double_fires(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url, malfunction_interval="1")
    database = await asyncpg.connect(postgres_url)
    try:
        with instances(2, env, tmp_path) as cluster:
            operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
            async with httpx.AsyncClient(base_url=cluster[0].url, headers=operator) as api:
                for number in range(60):
                    response = await api.post(
                        "/api/v1/spacecraft",
                        json={"name": f"Target {number}", "cospar_id": cospar_id(number)},
                    )
                    assert response.status_code == 201

            await wait_until(
                lambda: _simulated_since(database, None), timeout=10, message="a first fire"
            )
            started = time.monotonic()
            run_start = await _first_fire(database)

            await wait_until(lambda: time.monotonic() - started >= KILL_AFTER, timeout=15)
            holder = await database.fetchval(
                "SELECT holder FROM leases WHERE name = 'fault-simulator'"
            )
            leader = next(i for i in cluster if f":{i.process.pid}:" in holder)
            leader.process.kill()
            leader.process.wait()
            killed_at = await database.fetchval("SELECT now()")
            await wait_until(
                lambda: _simulated_since(database, killed_at),
                timeout=10,
                message="another instance to take over the simulator within 10 s",
            )
            takeover = await _first_fire(database, after=killed_at) - killed_at

            run_end = run_start + timedelta(seconds=SIMULATED_RUN)
            await wait_until(
                lambda: _simulated_since(database, run_end), timeout=SIMULATED_RUN, interval=0.2
            )
            fires = await database.fetch(
                "SELECT occurred_at FROM events WHERE actor = 'simulator' "
                "AND type = 'spacecraft.malfunctioned' AND occurred_at >= $1 "
                "AND occurred_at < $2 ORDER BY seq",
                run_start,
                run_end,
            )
    finally:
        await database.close()

    times = [row["occurred_at"] for row in fires]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    print(f"takeover {takeover}, {len(times)} fires in {SIMULATED_RUN}s, min gap {min(gaps):.2f}s")
    assert takeover < timedelta(seconds=10), takeover
    # One simulator at 1/s for 30 s, less the takeover gap: about 30, and far from 60.
    assert 30 - takeover.total_seconds() - 3 <= len(times) <= 32, (len(times), takeover)
    assert min(gaps) > 0.8, f"two fires {min(gaps):.2f}s apart: two simulators were running"


async def test_a_stopped_simulator_instance_hands_over_at_once(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url, malfunction_interval="1", lease_ttl="30")
    database = await asyncpg.connect(postgres_url)
    try:
        with instances(2, env, tmp_path) as cluster:
            operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
            async with httpx.AsyncClient(base_url=cluster[0].url, headers=operator) as api:
                for number in range(20):
                    response = await api.post(
                        "/api/v1/spacecraft",
                        json={"name": f"Target {number}", "cospar_id": cospar_id(number)},
                    )
                    assert response.status_code == 201
            await wait_until(lambda: _simulated_since(database, None), timeout=10)
            holder = await database.fetchval(
                "SELECT holder FROM leases WHERE name = 'fault-simulator'"
            )
            leader = next(i for i in cluster if f":{i.process.pid}:" in holder)
            leader.process.terminate()  # as an orchestrator stops it: a graceful shutdown
            leader.process.wait(timeout=10)
            stopped_at = await database.fetchval("SELECT now()")
            # The lease would last 30 s; a clean stop releases it, so this is quick.
            await wait_until(
                lambda: _simulated_since(database, stopped_at),
                timeout=5,
                message="the other instance to take over",
            )
    finally:
        await database.close()


async def _simulated_since(database: asyncpg.Connection, since: datetime | None) -> bool:
    return await _first_fire(database, after=since) is not None


async def _first_fire(database: asyncpg.Connection, after: datetime | None = None) -> datetime:
    occurred_at: datetime = await database.fetchval(
        "SELECT min(occurred_at) FROM events WHERE actor = 'simulator' "
        "AND type = 'spacecraft.malfunctioned' AND ($1::timestamptz IS NULL OR occurred_at > $1)",
        after,
    )
    return occurred_at
