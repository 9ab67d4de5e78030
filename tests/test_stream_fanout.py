"""The JSON stream end to end through the optimised fan-out: order, bursts, resume."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx

from tests.support import Running

STREAM = "/api/v1/events/stream"


async def seqs(response: httpx.Response) -> AsyncIterator[int]:
    async for line in response.aiter_lines():
        if match := re.fullmatch(r"id: (\d+)", line):
            yield int(match.group(1))


async def read_seqs(stream: AsyncIterator[int], count: int, timeout: float = 10) -> list[int]:
    async with asyncio.timeout(timeout):
        return [await anext(stream) for _ in range(count)]


async def create_fleet(goofs: Running, count: int, existing: int = 0) -> None:
    for number in range(existing + 1, existing + count + 1):
        response = await goofs.client.post(
            "/api/v1/spacecraft", json={"name": f"Sat-{number}", "cospar_id": f"2001-{number:03d}A"}
        )
        assert response.status_code == 201, response.text


async def test_a_burst_of_changes_reaches_every_stream_in_order_once(goofs_sqlite: Running) -> None:
    async with (
        goofs_sqlite.client.stream("GET", STREAM) as first,
        goofs_sqlite.client.stream("GET", STREAM) as second,
    ):
        await create_fleet(goofs_sqlite, 25)

        assert await read_seqs(seqs(first), 25) == list(range(1, 26))
        assert await read_seqs(seqs(second), 25) == list(range(1, 26))


async def test_a_stream_resumes_after_its_last_event_id(goofs_sqlite: Running) -> None:
    await create_fleet(goofs_sqlite, 5)

    headers = {"Last-Event-ID": "2"}
    async with goofs_sqlite.client.stream("GET", STREAM, headers=headers) as response:
        resumed = seqs(response)
        assert await read_seqs(resumed, 3) == [3, 4, 5]
        await create_fleet(goofs_sqlite, 2, existing=5)
        assert await read_seqs(resumed, 2) == [6, 7]
