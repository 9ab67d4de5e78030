"""The hub: one encoding per event, gaps repaired from the log, slow clients cut loose."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from galactic_goofs.db import Database
from galactic_goofs.events import service as service_events
from galactic_goofs.events.broker import MemoryBroker
from galactic_goofs.events.hub import Hub, encode_json
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.events.stream import EventStream
from galactic_goofs.fleet import service
from galactic_goofs.fleet.schemas import SpacecraftCreate
from tests.support import wait_until


@pytest.fixture
async def hub(db: Database) -> AsyncIterator[Hub]:
    hub = Hub(db, MemoryBroker(), queue_size=8, catch_up_interval=60)
    await hub.start()
    yield hub
    await hub.stop()


async def commit_changes(db: Database, count: int, start: int = 1) -> list[EventRead]:
    """Changes written to the log without being published, as if the broker lost them."""
    events = []
    for number in range(start, start + count):
        change = await db.write(
            service.create,
            SpacecraftCreate(name=f"Craft {number}", cospar_id=f"2024-{number:03d}A"),
            actor="test",
            rng=random.Random(number),
        )
        events.append(change.event)
    return events


def seqs(data: bytes) -> list[int]:
    return [int(line[4:]) for line in data.split(b"\n") if line.startswith(b"id: ")]


async def test_each_event_is_encoded_once_for_all_subscribers(hub: Hub, db: Database) -> None:
    calls: list[int] = []

    async def counting_encoder(event: EventRead) -> bytes:
        calls.append(event.seq)
        return await encode_json(event)

    hub.add_format("counted", counting_encoder)
    subscribers = [hub.subscribe("counted", None)[0] for _ in range(5)]

    for event in await commit_changes(db, 3):
        await hub.deliver(event)

    await wait_until(lambda: all(s.queued == 3 for s in subscribers), message="three frames")
    assert calls == [1, 2, 3]
    frames = [subscriber.take() for subscriber in subscribers]
    assert all(frame is not None and seqs(frame) == [1, 2, 3] for frame in frames)
    assert len({id(frame) for frame in frames}) == 5  # joined per client, built from shared bytes


async def test_a_slow_format_never_holds_up_the_json_clients(hub: Hub, db: Database) -> None:
    """The console's HTML takes a query and templates per event: JSON clients get every event
    at once while it is made, and its own clients get theirs in order once it is."""
    release = asyncio.Event()

    async def slow_encoder(event: EventRead) -> bytes:
        await release.wait()
        return await encode_json(event)

    hub.add_format("slow", slow_encoder)
    fast, _ = hub.subscribe("json", None)
    slow, _ = hub.subscribe("slow", None)

    for event in await commit_changes(db, 3):
        await hub.deliver(event)

    assert seqs(fast.take()) == [1, 2, 3]
    assert slow.queued == 0
    release.set()
    await wait_until(lambda: slow.queued == 3, message="the slow format's frames")
    assert seqs(slow.take()) == [1, 2, 3]


async def test_a_client_joining_while_a_format_runs_behind_gets_each_event_once(
    hub: Hub, db: Database
) -> None:
    """It replays up to the hub's seq; the frames the format's task hands over late for those
    seqs are dropped by its cursor, and what comes after arrives live: no gap, no duplicate."""
    release = asyncio.Event()

    async def slow_encoder(event: EventRead) -> bytes:
        await release.wait()
        return await encode_json(event)

    hub.add_format("slow", slow_encoder)
    early, _ = hub.subscribe("slow", None)
    events = await commit_changes(db, 3)
    for event in events[:2]:
        await hub.deliver(event)

    joined, upto = hub.subscribe("slow", 0)  # behind the task: 1 and 2 not encoded yet
    release.set()
    replayed = [seqs(frame) async for frame in hub.replay("slow", 0, upto)]
    await hub.deliver(events[2])
    await wait_until(lambda: joined.queued == 1 and early.queued == 3, message="the frames")

    assert (upto, replayed) == (2, [[1], [2]])
    assert seqs(joined.take()) == [3]
    assert seqs(early.take()) == [1, 2, 3]


async def test_an_event_a_format_cannot_encode_closes_its_clients(hub: Hub, db: Database) -> None:
    """They reconnect and replay it from the log; they never silently go without it."""

    async def broken_encoder(event: EventRead) -> bytes:
        raise RuntimeError("template error")

    hub.add_format("broken", broken_encoder)
    json_client, _ = hub.subscribe("json", None)
    broken, _ = hub.subscribe("broken", None)

    for event in await commit_changes(db, 1):
        await hub.deliver(event)

    await wait_until(lambda: broken.closed, message="the broken format's client closed")
    assert seqs(json_client.take()) == [1] and not json_client.closed


async def test_a_gap_is_backfilled_from_the_log_in_order(hub: Hub, db: Database) -> None:
    subscriber, _ = hub.subscribe("json", None)
    events = await commit_changes(db, 4)

    await hub.deliver(events[-1])  # 1..3 never arrive
    assert subscriber.queued == 0  # they may yet: they get a moment

    await wait_until(lambda: hub.last_seq == 4, timeout=2, message="the gap read from the log")
    assert seqs(subscriber.take()) == [1, 2, 3, 4]


async def test_an_event_before_one_already_here_puts_both_in_order_without_the_log(
    hub: Hub, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes made side by side are published as they finish: 3 may come before 2."""
    hub.reorder_wait = 60
    subscriber, _ = hub.subscribe("json", None)
    events = await commit_changes(db, 4)
    reads: list[int] = []
    read_after = service_events.read_after

    async def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[1])
        return await read_after(*args, **kwargs)

    monkeypatch.setattr(service_events, "read_after", counted)

    for index in (0, 2, 3, 1):
        await hub.deliver(events[index])

    assert seqs(subscriber.take()) == [1, 2, 3, 4]
    assert reads == []
    assert hub.last_seq == 4


async def test_duplicates_and_stale_events_are_dropped(hub: Hub, db: Database) -> None:
    subscriber, _ = hub.subscribe("json", None)
    events = await commit_changes(db, 2)

    for event in [events[0], events[0], events[1], events[0], events[1]]:
        await hub.deliver(event)

    assert seqs(subscriber.take()) == [1, 2]


async def test_catch_up_delivers_events_the_broker_never_brought(hub: Hub, db: Database) -> None:
    subscriber, _ = hub.subscribe("json", None)
    await commit_changes(db, 3)

    await hub.catch_up()

    assert seqs(subscriber.take()) == [1, 2, 3]


async def test_replay_reads_the_log_when_memory_does_not_reach_back(db: Database) -> None:
    await commit_changes(db, 5)
    hub = Hub(db, MemoryBroker(), recent=2)
    await hub.start()
    try:
        await hub.catch_up()
        replayed = [seqs(frame) async for frame in hub.replay("json", 1, 4)]
    finally:
        await hub.stop()

    assert replayed == [[2], [3], [4]]


async def test_a_subscriber_that_falls_behind_is_closed(hub: Hub, db: Database) -> None:
    slow, _ = hub.subscribe("json", None)
    fast, _ = hub.subscribe("json", None)

    for event in await commit_changes(db, 9):
        await hub.deliver(event)
        fast.take()

    assert slow.overflowed and slow.closed
    assert not fast.closed
    assert hub.subscribers["json"] == {fast}


async def test_a_client_that_stops_reading_is_disconnected_and_memory_freed(
    hub: Hub, db: Database
) -> None:
    never_drains = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body", b"").count(b"id: "):
            await never_drains.wait()  # the socket buffer is full and stays full

    response = EventStream(hub, db, "json", None, retry_ms=1000)
    connection = asyncio.create_task(response({"type": "http"}, receive, send))
    await wait_until(lambda: len(hub.subscribers["json"]) == 1, message="subscription")

    for event in await commit_changes(db, 12):
        await hub.deliver(event)

    async with asyncio.timeout(5):
        await connection
    assert hub.subscribers["json"] == set()
    assert not any(m.get("more_body") is False for m in sent), "it must not look finished"
