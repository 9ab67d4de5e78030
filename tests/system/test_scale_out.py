"""Several `goofs serve` processes on one PostgreSQL and one Redis behave like one service.

Real processes on loopback ports; each test gets its own database and Redis channel.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from tests.cluster import (
    StreamClient,
    cluster_env,
    instances,
    mixed_changes,
    nginx,
    nginx_binary,
    streaming,
)
from tests.support import cli_token, require, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CRAFTS = 100
CHANGES = 5 * CRAFTS  # mixed_changes makes five per spacecraft


def assert_received_exactly(clients: list[StreamClient], log: list[int]) -> None:
    for client in clients:
        assert client.ended is None, client.ended
        assert client.seqs == log, f"{client.url} got {len(client.seqs)} events, out of order"


async def event_log(url: str) -> list[int]:
    seqs: list[int] = []
    async with httpx.AsyncClient(base_url=url) as client:
        while True:
            after = seqs[-1] if seqs else 0
            page = await client.get("/api/v1/events", params={"after": after, "limit": 500})
            items = page.json()["items"]
            if not items:
                return seqs
            seqs.extend(item["seq"] for item in items)


async def test_a_change_on_one_instance_reaches_a_stream_on_the_other_within_a_second(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    # The log catch-up is slowed right down: what arrives here came through Redis.
    env = cluster_env(postgres_url, redis_url, catch_up_interval="60")
    with instances(2, env, tmp_path) as (a, b):
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        await wait_until(
            lambda: _subscribers(redis_url, env["GOOFS_REDIS_CHANNEL"], 2),
            message="both instances subscribed to Redis",
        )
        async with (
            httpx.AsyncClient(base_url=a.url, headers=operator) as api,
            streaming([b.url]) as (stream,),
        ):
            latencies = []
            for number in range(5):
                sent = time.monotonic()
                response = await api.post(
                    "/api/v1/spacecraft",
                    json={"name": f"Pioneer {number}", "cospar_id": f"1972-{12 + number:03d}A"},
                )
                seq = number + 1
                await wait_until(partial(stream.arrived.__contains__, seq), timeout=1.0)
                latencies.append(stream.arrived[seq] - sent)
                assert response.status_code == 201

    print("A -> B latencies:", ", ".join(f"{latency * 1000:.0f} ms" for latency in latencies))
    assert max(latencies) < 1.0, latencies


async def _subscribers(redis_url: str, channel: str, count: int) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        [(_, subscribed)] = await client.pubsub_numsub(channel)
        return int(subscribed) >= count
    finally:
        await client.aclose()


async def test_every_stream_on_every_instance_gets_all_changes_in_order(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url)
    with instances(2, env, tmp_path) as (a, b):
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=operator) as api_a,
            httpx.AsyncClient(base_url=b.url, headers=operator) as api_b,
            streaming([a.url, a.url, a.url, b.url, b.url, b.url]) as clients,
        ):
            await mixed_changes([api_a, api_b], CRAFTS)
            await wait_until(
                lambda: all(len(client.events) >= CHANGES for client in clients),
                timeout=30,
                message=f"{CHANGES} events on every stream",
            )
        log = await event_log(a.url)

    assert log == list(range(1, CHANGES + 1))
    assert_received_exactly(clients, log)
    types = [event["type"] for event in clients[0].events]
    assert types.count("spacecraft.created") == CRAFTS
    assert types.count("spacecraft.deleted") == CRAFTS


async def test_clients_behind_nginx_see_one_service(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    binary = nginx_binary()
    require("nginx", binary is not None, "not installed (`make nginx` installs it)")
    assert binary is not None
    env = cluster_env(postgres_url, redis_url)
    with (
        instances(2, env, tmp_path) as (a, b),
        nginx(binary, [a.address, b.address], tmp_path) as balancer,
    ):
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=balancer, headers=operator) as api,
            streaming([balancer] * 6) as clients,
        ):
            served_api = await mixed_changes([api], CRAFTS)
            await wait_until(
                lambda: all(len(client.events) >= CHANGES for client in clients),
                timeout=30,
                message=f"{CHANGES} events on every stream through nginx",
            )
        log = await event_log(balancer)

    both = {a.address, b.address}
    assert served_api == both, "nginx should have spread the API calls over both instances"
    assert {client.served_by for client in clients} == both
    assert log == list(range(1, CHANGES + 1))
    assert_received_exactly(clients, log)


async def test_a_client_resumes_on_another_instance_from_its_cursor(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url)
    with instances(2, env, tmp_path) as (a, b):
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with httpx.AsyncClient(base_url=a.url, headers=operator) as api_a:
            await mixed_changes([api_a], 20)
        # Read from A up to seq 40, as a client would before its connection dropped...
        async with streaming([a.url]) as (first,):
            await wait_until(lambda: len(first.events) >= 40, message="40 events from A")
        cursor = first.seqs[39]
        # ...then more changes happen, and it comes back through B with its cursor.
        async with httpx.AsyncClient(base_url=b.url, headers=operator) as api_b:
            await mixed_changes([api_b], 20, first=20)
        async with streaming([b.url], after=cursor) as (resumed,):
            await wait_until(lambda: len(resumed.events) >= 200 - cursor, message="the rest")

    assert first.seqs[:40] == list(range(1, 41))
    assert resumed.seqs == list(range(cursor + 1, 201))
