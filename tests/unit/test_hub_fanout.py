"""The hub's fan-out: shared bytes, one write per burst, bounded buffers, quiet heartbeats."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from galactic_goofs.db import Database
from galactic_goofs.events.broker import MemoryBroker
from galactic_goofs.events.hub import Hub, Subscriber
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.events.sse import HEARTBEAT
from tests.support import wait_until


def event(seq: int) -> EventRead:
    return EventRead(
        seq=seq,
        type=EventType.MALFUNCTIONED,
        spacecraft_id=uuid.UUID(int=seq),
        actor="operator",
        occurred_at=datetime.now(UTC),
        data={"name": f"Craft-{seq}"},
    )


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    # No start(): these events arrive in order, so the hub never needs the (empty) database.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    yield Hub(db, MemoryBroker(), queue_size=4, coalesce_window=0.01)
    await db.dispose()


async def next_write(subscriber: Subscriber, timeout: float = 2.0) -> bytes:
    async with asyncio.timeout(timeout):
        await subscriber.wait()
    return subscriber.take()


async def test_every_subscriber_gets_the_same_bytes_object(hub: Hub) -> None:
    first, _ = hub.subscribe("json", after=None)
    second, _ = hub.subscribe("json", after=None)

    await hub.deliver(event(1))

    assert await next_write(first) is await next_write(second)


async def test_frames_arriving_within_the_window_go_out_as_one_write(hub: Hub) -> None:
    subscriber, _ = hub.subscribe("json", after=None)

    await hub.deliver(event(1))
    await hub.deliver(event(2))
    data = await next_write(subscriber)

    assert data.count(b"\nid: ") + data.startswith(b"id: ") == 2
    assert data.index(b"id: 1\n") < data.index(b"id: 2\n")


async def test_a_writer_is_not_woken_before_frames_are_handed_over(hub: Hub) -> None:
    subscriber, _ = hub.subscribe("json", after=None)
    waiting = asyncio.create_task(subscriber.wait())

    await wait_until(lambda: subscriber.waiting, timeout=2, message="the writer to wait")
    assert not waiting.done()
    await hub.deliver(event(1))

    await wait_until(waiting.done, timeout=2, message="the writer to wake up")
    assert b"id: 1\n" in subscriber.take()


async def test_frames_pushed_while_the_writer_is_busy_are_sent_next_without_waiting(
    hub: Hub,
) -> None:
    subscriber, _ = hub.subscribe("json", after=None)
    await hub.deliver(event(1))
    assert b"id: 1\n" in await next_write(subscriber)

    await hub.deliver(event(2))
    await hub.deliver(event(3))
    data = await next_write(subscriber)

    assert b"id: 2\n" in data and b"id: 3\n" in data


async def test_a_subscriber_that_falls_too_far_behind_is_closed_and_its_writer_released(
    hub: Hub,
) -> None:
    slow, _ = hub.subscribe("json", after=None)
    waiting = asyncio.create_task(slow.wait())

    for seq in range(1, 7):  # the buffer holds 4
        await hub.deliver(event(seq))

    await wait_until(waiting.done, timeout=2, message="the writer to be released")
    assert slow.closed and slow.overflowed
    assert slow not in hub.subscribers["json"]


async def test_events_at_or_before_the_cursor_are_not_pushed(hub: Hub) -> None:
    await hub.deliver(event(1))
    subscriber, upto = hub.subscribe("json", after=None)
    assert upto == 1

    await hub.deliver(event(1))
    await hub.deliver(event(2))
    data = await next_write(subscriber)

    assert b"id: 1\n" not in data and b"id: 2\n" in data


async def test_a_heartbeat_goes_only_to_a_subscriber_sent_nothing_for_a_whole_interval(
    hub: Hub,
) -> None:
    subscriber, _ = hub.subscribe("json", after=None)
    await hub.deliver(event(1))
    await next_write(subscriber)

    subscriber.push_heartbeat()  # the tick right after event 1: the stream is clearly alive
    assert not subscriber._buffer

    subscriber.push_heartbeat()  # a whole interval with nothing sent
    assert await next_write(subscriber) == HEARTBEAT


async def test_an_idle_stream_gets_a_heartbeat_every_tick(hub: Hub) -> None:
    subscriber, _ = hub.subscribe("json", after=None)

    for _ in range(3):
        subscriber.push_heartbeat()
        assert await next_write(subscriber) == HEARTBEAT


async def test_closing_wakes_the_writer_so_it_can_finish(hub: Hub) -> None:
    subscriber, _ = hub.subscribe("json", after=None)
    waiting = asyncio.create_task(subscriber.wait())
    await wait_until(lambda: subscriber.waiting, timeout=2, message="the writer to wait")

    subscriber.close()

    await wait_until(waiting.done, timeout=2, message="the writer to wake up")
    assert subscriber.closed


async def wake_round(hub: Hub, *subscribers: Subscriber) -> None:
    """Deliver the next event to sleeping writers and wait until all of them are awake."""
    waits = [asyncio.create_task(subscriber.wait()) for subscriber in subscribers]
    await wait_until(lambda: all(s.waiting for s in subscribers), message="writers asleep")
    await hub.deliver(event(hub.last_seq + 1))
    await wait_until(lambda: all(w.done() for w in waits), timeout=2, message="the round")


async def test_a_round_starts_no_sooner_than_the_last_rounds_cost_after_it(hub: Hub) -> None:
    subscriber, _ = hub.subscribe("json", after=None)
    await wake_round(hub, subscriber)
    first_round = hub.pacer.started
    subscriber.take()
    hub.pacer.cost = 0.2  # as if writing that round had kept the loop busy that long

    await wake_round(hub, subscriber)

    assert hub.pacer.started >= first_round + 0.2


async def test_a_writer_busy_with_a_slow_client_does_not_hold_the_round_open(hub: Hub) -> None:
    sleeping, _ = hub.subscribe("json", after=None)
    busy, _ = hub.subscribe("json", after=None)  # its writer is not waiting: mid-send
    await wake_round(hub, sleeping)

    sleeping.take()

    assert hub.pacer.unwritten == 0
    assert busy._buffer  # it takes its frames whenever its send returns
