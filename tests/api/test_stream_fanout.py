"""The JSON stream end to end through the optimised fan-out: order, bursts, resume."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support import Running, running_app, test_settings

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


async def test_stream_frames_go_to_the_server_past_the_middleware(sqlite_url: str) -> None:
    sent: list[Message] = []

    class Recording:
        """Writes down every message the app sends through the middleware chain."""

        # Declared harmless so the app takes it: what it records is what this test checks.
        touches_response_start_only = True

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def recording(message: Message) -> None:
                sent.append(message)
                await send(message)

            await self.app(scope, receive, recording)

    async with (
        running_app(test_settings(sqlite_url), middleware=[Recording]) as goofs,
        goofs.client.stream("GET", STREAM, params={"after": 0}) as stream,
    ):
        await create_fleet(goofs, 3)
        assert await read_seqs(seqs(stream), 3) == [1, 2, 3]
        assert stream.headers["x-frame-options"] == "DENY"

    starts = [m for m in sent if m["type"] == "http.response.start"]
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    # The stream's start passed the chain (its headers are set there); its frames did not.
    assert [m for m in starts if b"text/event-stream" in dict(m["headers"])[b"content-type"]]
    assert all(b"id: " not in body for body in bodies)
