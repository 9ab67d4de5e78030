"""PostgreSQL goes away for 5 s under load: clear 503s meanwhile, recovery without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text

from galactic_goofs.db import Database
from tests import support
from tests.cluster import cospar_id
from tests.support import LOOPBACK_SSL, Running, running_app, wait_until
from tests.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 3.0
RECONNECT_DELAY = 0.2  # what a browser's EventSource does, shortened


def through(proxy: TcpProxy, database_url: str) -> str:
    parts = urlsplit(database_url)
    netloc = parts.netloc.rpartition("@")[0] + f"@127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc.lstrip("@")))


class Load:
    """Operators writing and viewers reading in a loop; every answer is counted and checked."""

    def __init__(self, goofs: Running) -> None:
        self.goofs = goofs
        self.statuses: Counter[int] = Counter()
        self.answers: Counter[tuple[str, int]] = Counter()
        self.refusals: list[dict[str, Any]] = []
        self.running = True
        self.created = 0

    async def write(self, worker: int) -> None:
        while self.running:
            self.created += 1
            response = await self.goofs.client.post(
                "/api/v1/spacecraft",
                json={"name": f"Load {self.created}", "cospar_id": cospar_id(self.created)},
            )
            self._count(response)
            if response.status_code == 201:
                await self.delete(response.headers["location"])

    async def delete(self, location: str) -> None:
        """Until the database answers: a refused delete is tried again, as an operator would.

        A retry may find it gone (404): the delete was committed but its answer was lost.
        """
        retried = False
        while True:
            response = await self.goofs.client.delete(location)
            self._count(response, retried=retried)
            if response.status_code != 503:
                return
            retried = True

    async def read(self) -> None:
        while self.running:
            self._count(await self.goofs.client.get("/api/v1/spacecraft"))
            self._count(await self.goofs.client.get("/api/v1/events", params={"limit": 5}))

    def _count(self, response: httpx.Response, *, retried: bool = False) -> None:
        self.statuses[response.status_code] += 1
        method = response.request.method + (" again" if retried else "")
        self.answers[method, response.status_code] += 1
        if response.status_code == 503:
            self.refusals.append({"body": response.json(), "headers": dict(response.headers)})

    def unexpected(self) -> dict[tuple[str, int], int]:
        """Answers other than success or a 503 refusal (or a retried delete finding it gone)."""
        expected = {
            ("GET", 200),
            ("POST", 201),
            ("DELETE", 204),
            ("DELETE again", 204),
            ("DELETE again", 404),
        }
        return {
            answer: count
            for answer, count in self.answers.items()
            if answer not in expected and answer[1] != 503
        }


async def follow_stream(url: str, received: list[dict[str, Any]]) -> None:
    """A viewer's stream that reconnects with its Last-Event-ID, as a browser would."""
    async with httpx.AsyncClient(
        base_url=url, timeout=httpx.Timeout(30, read=None), verify=LOOPBACK_SSL
    ) as client:
        while True:
            headers = {"Last-Event-ID": str(received[-1]["seq"])} if received else {}
            with contextlib.suppress(httpx.HTTPError):
                async with client.stream("GET", "/api/v1/events/stream", headers=headers) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            received.append(json.loads(line.removeprefix("data: ")))
            await asyncio.sleep(RECONNECT_DELAY)


@pytest.mark.postgres
@pytest.mark.timeout(90)
async def test_a_postgresql_outage_answers_503_and_recovers_by_itself(postgres_url: str) -> None:
    target = urlsplit(postgres_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    settings = support.test_settings(through(proxy, postgres_url), catch_up_interval=0.2)
    received: list[dict[str, Any]] = []
    try:
        async with running_app(settings) as goofs:
            load = Load(goofs)
            workers = [asyncio.create_task(load.write(n)) for n in range(4)]
            workers.append(asyncio.create_task(load.read()))
            viewer = asyncio.create_task(follow_stream(goofs.url, received))
            await wait_until(lambda: load.statuses[201] >= 20, message="writes before the outage")

            await proxy.cut()
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            before = load.statuses[201]
            await wait_until(
                lambda: time.monotonic() >= outage_ends and load.statuses[503] >= 5,
                timeout=OUTAGE_SECONDS + 10,
                message="503s during the outage",
            )
            healthy_during_outage = await goofs.client.get("/healthz")
            ready_during_outage = await goofs.client.get("/readyz")
            await proxy.restore()

            await wait_until(
                lambda: load.statuses[201] >= before + 20,
                timeout=15,
                message="writes to succeed again without a restart",
            )
            load.running = False
            await asyncio.gather(*workers)
            last_seq = (await goofs.client.get("/api/v1/events")).json()["last_seq"]
            await wait_until(
                lambda: bool(received) and received[-1]["seq"] >= last_seq,
                timeout=15,
                message="the viewer's stream to catch up",
            )
            viewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await viewer
    finally:
        await proxy.close()

    assert not load.unexpected(), load.answers
    deleted = sum(count for (method, status), count in load.answers.items() if status in (204, 404))
    assert deleted == load.answers["POST", 201], "every spacecraft created was deleted again"
    assert load.statuses[503] >= 5
    refusal = load.refusals[0]
    assert "database is unavailable" in refusal["body"]["detail"]
    assert int(refusal["headers"]["retry-after"]) > 0
    assert healthy_during_outage.status_code == 200
    assert ready_during_outage.status_code == 503
    assert [event["seq"] for event in received] == list(range(1, last_seq + 1)), (
        "the viewer saw every event once, in order"
    )


@pytest.mark.postgres
async def test_a_session_closed_after_its_connection_dropped_does_not_fail(
    postgres_url: str,
) -> None:
    """A request's session closes after its answer is sent; a dead connection must not matter."""
    target = urlsplit(postgres_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    db = Database(support.test_settings(through(proxy, postgres_url)).database_url)
    try:
        async with db.reading() as session:
            assert await session.scalar(text("SELECT 1")) == 1
            await proxy.cut()
        await proxy.restore()
        async with db.reading() as session:
            assert await session.scalar(text("SELECT 2")) == 2
    finally:
        await db.dispose()
        await proxy.close()


@pytest.mark.postgres
@pytest.mark.timeout(60)
async def test_a_database_that_stops_answering_is_a_503_within_seconds(postgres_url: str) -> None:
    target = urlsplit(postgres_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    settings = support.test_settings(through(proxy, postgres_url))
    try:
        async with running_app(settings) as goofs:
            assert (await goofs.client.get("/api/v1/spacecraft")).status_code == 200
            await proxy.go_silent()
            started = time.monotonic()
            silent = await goofs.client.get("/api/v1/spacecraft")
            waited = time.monotonic() - started
            await proxy.restore()
            recovered = await goofs.client.get("/api/v1/spacecraft")
    finally:
        await proxy.close()

    assert silent.status_code == 503, silent.text
    assert waited < 15
    assert recovered.status_code == 200
