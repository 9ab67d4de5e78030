"""The live stream: resumable with no gap and no duplicate, honest about what it cannot replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from httpx_sse import ServerSentEvent, aconnect_sse

from galactic_goofs.events import service as events_service
from tests.support import Running, consumers_caught_up, running_app, test_settings, wait_until

STREAM = "/api/v1/events/stream"


@asynccontextmanager
async def stream(
    goofs: Running, *, headers: dict[str, str] | None = None, params: dict[str, int] | None = None
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    async with aconnect_sse(
        goofs.client, "GET", STREAM, headers=headers or {}, params=params
    ) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        yield source.aiter_sse()


async def take(events: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    """The next `count` real events (keep-alives and retry hints carry no event)."""
    received: list[ServerSentEvent] = []
    async with asyncio.timeout(10):
        async for event in events:
            if event.data:
                received.append(event)
                if len(received) == count:
                    break
    return received


async def change(goofs: Running, number: int) -> None:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": f"Craft {number}", "cospar_id": f"2023-{number:03d}A"}
    )
    assert response.status_code == 201


async def test_a_reconnecting_client_gets_exactly_what_it_missed_then_live_events(
    goofs: Running,
) -> None:
    k, m = 3, 4
    async with stream(goofs, params={"after": 0}) as events:
        for number in range(1, k + 1):
            await change(goofs, number)
        first = await take(events, k)
    assert [int(e.id) for e in first] == [1, 2, 3]

    for number in range(k + 1, k + m + 1):
        await change(goofs, number)

    async with stream(goofs, headers={"Last-Event-ID": first[-1].id}) as events:
        missed = await take(events, m)
        await change(goofs, k + m + 1)
        live = await take(events, 1)

    assert [int(e.id) for e in missed] == [4, 5, 6, 7]
    assert [int(e.id) for e in live] == [8]
    assert [e.event for e in missed] == ["spacecraft.created"] * m
    body = json.loads(missed[0].data)
    assert body["seq"] == 4
    assert body["data"]["spacecraft"]["name"] == "Craft 4"


async def test_after_parameter_replays_from_the_log(goofs: Running) -> None:
    for number in range(1, 6):
        await change(goofs, number)

    async with stream(goofs, params={"after": 2}) as events:
        replayed = await take(events, 3)

    assert [int(e.id) for e in replayed] == [3, 4, 5]


async def test_a_new_client_without_a_cursor_gets_only_live_events(goofs: Running) -> None:
    await change(goofs, 1)

    async with stream(goofs) as events:
        await change(goofs, 2)
        live = await take(events, 1)

    assert [int(e.id) for e in live] == [2]


async def test_replay_and_live_meet_without_gap_or_duplicate_under_load(
    goofs_sqlite: Running,
) -> None:
    for number in range(1, 21):
        await change(goofs_sqlite, number)

    async def keep_changing() -> None:
        for number in range(21, 61):
            await change(goofs_sqlite, number)

    writer = asyncio.create_task(keep_changing())
    async with stream(goofs_sqlite, params={"after": 5}) as events:
        received = await take(events, 55)
    await writer

    assert [int(e.id) for e in received] == list(range(6, 61))


async def test_resuming_while_writers_keep_writing_gets_every_seq_once_in_order(
    goofs: Running,
) -> None:
    """On PostgreSQL the live events come through Redis, so each resume's replay from the log
    races their delivery by another path."""
    logged, writers, total = 10, 4, 70
    for number in range(1, logged + 1):
        await change(goofs, number)

    async def keep_writing(first: int) -> None:
        for number in range(first, total + 1, writers):
            await change(goofs, number)

    writing = asyncio.gather(*(keep_writing(logged + 1 + n) for n in range(writers)))
    received: list[int] = []
    last_event_id = 5
    while last_event_id < total:
        async with stream(goofs, headers={"Last-Event-ID": str(last_event_id)}) as events:
            part = await take(events, min(7, total - last_event_id))
        received += [int(event.id) for event in part]
        last_event_id = received[-1]
    await writing

    assert received == list(range(6, total + 1))


async def test_a_cursor_ahead_of_the_log_gets_a_reset(goofs: Running) -> None:
    await change(goofs, 1)

    async with stream(goofs, headers={"Last-Event-ID": "99"}) as events:
        (reset,) = await take(events, 1)
        await change(goofs, 2)
        (live,) = await take(events, 1)

    assert reset.event == "reset"
    assert reset.id == "1"
    assert json.loads(reset.data)["last_seq"] == 1
    assert live.id == "2"


async def test_a_cursor_older_than_the_retained_log_gets_a_reset(goofs: Running) -> None:
    for number in range(1, 6):
        await change(goofs, number)
    await consumers_caught_up(goofs.state)
    assert await goofs.state.db.write(events_service.prune, keep=2) == 3

    async with stream(goofs, params={"after": 1}) as events:
        (reset,) = await take(events, 1)
    async with stream(goofs, params={"after": 3}) as events:
        replayed = await take(events, 2)

    assert reset.event == "reset"
    assert "no longer retained" in json.loads(reset.data)["reason"]
    assert [int(e.id) for e in replayed] == [4, 5]


async def test_pruning_goes_in_batches_and_keeps_the_newest(goofs: Running) -> None:
    for number in range(1, 8):
        await change(goofs, number)
    await consumers_caught_up(goofs.state)

    batches = [await goofs.state.db.write(events_service.prune, keep=2, batch=2) for _ in range(4)]

    assert batches == [2, 2, 1, 0]
    page = (await goofs.client.get("/api/v1/events")).json()
    assert [event["seq"] for event in page["items"]] == [6, 7]


async def test_a_non_numeric_last_event_id_is_a_clear_400(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get(STREAM, headers={"Last-Event-ID": "yesterday"})

    assert response.status_code == 400
    assert "whole number" in response.json()["detail"]


async def test_a_negative_after_is_refused(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get(STREAM, params={"after": -1})

    assert response.status_code == 422


async def test_idle_streams_get_heartbeats_and_a_retry_hint(tmp_path: Path) -> None:
    settings = test_settings(
        f"sqlite:///{tmp_path / 'g.db'}", heartbeat_interval=0.1, retry_ms=1234
    )
    async with (
        running_app(settings) as goofs,
        goofs.client.stream("GET", STREAM) as response,
    ):
        lines: list[str] = []
        async with asyncio.timeout(10):
            async for line in response.aiter_lines():
                lines.append(line)
                if lines.count(": keep-alive") >= 2:
                    break

    assert lines[0] == "retry: 1234"


async def test_every_client_receives_the_same_event_stream(goofs_sqlite: Running) -> None:
    async def read_five() -> list[str]:
        async with stream(goofs_sqlite, params={"after": 0}) as events:
            return [e.data for e in await take(events, 5)]

    readers = [asyncio.create_task(read_five()) for _ in range(5)]
    for number in range(1, 6):
        await change(goofs_sqlite, number)
    results = await asyncio.gather(*readers)

    assert all(result == results[0] for result in results)
    assert [json.loads(data)["seq"] for data in results[0]] == [1, 2, 3, 4, 5]


async def test_stream_clients_leave_the_hub_when_they_disconnect(goofs_sqlite: Running) -> None:
    hub = goofs_sqlite.state.hub
    async with stream(goofs_sqlite) as events:
        await change(goofs_sqlite, 1)
        await take(events, 1)
        assert len(hub.subscribers["json"]) == 1

    await wait_until(lambda: not hub.subscribers["json"], timeout=5, message="unsubscribe")
