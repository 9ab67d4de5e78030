"""Limits and headers: what a browser is told to refuse, and what the server refuses itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests import support
from tests.support import LOOPBACK_SSL, Running, running_app, wait_until

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}


async def test_every_response_carries_the_security_headers(goofs_sqlite: Running) -> None:
    async with goofs_sqlite.client.stream("GET", "/api/v1/events/stream") as stream:
        stream_headers = stream.headers
    responses = [
        await goofs_sqlite.client.get("/"),
        await goofs_sqlite.client.get("/signin"),
        await goofs_sqlite.client.get("/api/v1/spacecraft"),
        await goofs_sqlite.client.get("/api/v1/spacecraft/not-a-uuid"),
        await goofs_sqlite.client.get("/static/console.css"),
    ]

    for headers in [stream_headers, *(response.headers for response in responses)]:
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"


async def test_a_body_over_the_limit_is_refused(sqlite_url: str) -> None:
    settings = support.test_settings(sqlite_url, max_body_bytes=4096)
    async with running_app(settings) as goofs:
        declared = await goofs.client.post(
            "/api/v1/spacecraft",
            content=b'{"name": "' + b"x" * 5000 + b'", "cospar_id": "1990-037B"}',
            headers={"Content-Type": "application/json"},
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'", "cospar_id": "1990-037B"}'

        chunked = await goofs.client.post(
            "/api/v1/spacecraft", content=chunks(), headers={"Content-Type": "application/json"}
        )
        fine = await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)
        total = (await goofs.client.get("/api/v1/spacecraft")).json()["total"]

    assert declared.status_code == 413
    assert "4096 bytes" in declared.json()["detail"]
    assert chunked.status_code == 413
    assert fine.status_code == 201
    assert total == 1


@pytest.mark.timeout(60)
async def test_streams_beyond_the_cap_get_503_with_retry_after(sqlite_url: str) -> None:
    settings = support.test_settings(sqlite_url, max_streams=2)
    async with running_app(settings) as goofs:
        hub = goofs.state.hub

        def open_streams() -> int:
            return sum(len(subscribers) for subscribers in hub.subscribers.values())

        async with (
            httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL) as first_client,
            first_client.stream("GET", "/api/v1/events/stream") as first,
            goofs.client.stream("GET", "/api/v1/events/stream") as second,
        ):
            assert first.status_code == 200
            assert second.status_code == 200
            await wait_until(lambda: open_streams() == 2, message="two subscribers")
            refused = await goofs.client.get("/api/v1/events/stream")
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert "retry" in refused.json()["detail"]
        await wait_until(lambda: open_streams() == 0, message="closed streams to unsubscribe")
        async with goofs.client.stream("GET", "/api/v1/events/stream") as again:
            assert again.status_code == 200
