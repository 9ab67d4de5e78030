"""Brokers are a fast path only: what they lose, the hub reads back from the event log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from devkit.ports import free_port
from devkit.postgres import unique_name
from galactic_goofs import app as app_module
from galactic_goofs.events import redis_broker
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.redis_broker import RedisBroker
from galactic_goofs.events.schemas import EventRead
from tests import support
from tests.cluster import streaming
from tests.support import running_app, wait_until


def an_event(seq: int) -> EventRead:
    return EventRead.model_validate(
        {
            "seq": seq,
            "type": "spacecraft.created",
            "spacecraft_id": "6f1c4f5e-3f4e-4a8e-9a43-1b0f5d6c2e11",
            "actor": "operator",
            "occurred_at": datetime.now(UTC),
            "data": {},
        }
    )


@contextlib.asynccontextmanager
async def hearing(*brokers: RedisBroker) -> AsyncIterator[list[list[int]]]:
    """The seqs each broker's subscription hears while inside; the brokers are closed after."""
    heard: list[list[int]] = [[] for _ in brokers]

    async def listen(broker: RedisBroker, seqs: list[int]) -> None:
        async for event in broker.subscribe():
            seqs.append(event.seq)

    tasks = [asyncio.create_task(listen(*pair)) for pair in zip(brokers, heard, strict=True)]
    await asyncio.sleep(0)  # every subscription is in place
    try:
        yield heard
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for broker in brokers:
            await broker.close()


@pytest.mark.redis
async def test_redis_broker_carries_events_between_subscribers_and_ignores_strangers(
    redis_url: str,
) -> None:
    channel = unique_name("goofs_test_events")
    publisher = RedisBroker(redis_url, channel)
    async with hearing(RedisBroker(redis_url, channel)) as (received,):
        try:
            # A subscription only hears what is published after it is in place: publish until
            # heard.
            await wait_until(lambda: _publish_until_heard(publisher, received), timeout=5)
            await publisher.publish(an_event(2))
            # Something else talking on the channel must not end the subscription.
            stranger = redis.Redis.from_url(redis_url)
            await stranger.publish(channel, b"not an event")
            await stranger.aclose()
            await publisher.publish(an_event(3))
            await wait_until(lambda: received[-2:] == [2, 3], message="events 2 and 3")
        finally:
            await publisher.close()


async def _publish_until_heard(publisher: RedisBroker, received: list[int]) -> bool:
    if not received:
        await publisher.publish(an_event(1))
    return bool(received)


async def test_an_unreachable_redis_is_reported_not_waited_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The instance's own subscribers get the event at once; the others read it from the log."""
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", unique_name("goofs_test"))
    async with hearing(broker) as (received,):
        assert await broker.ping() is False
        async with asyncio.timeout(0.1):
            await broker.publish(an_event(1))
        await wait_until(lambda: received == [1], timeout=1, message="the local subscriber")
        await wait_until(
            lambda: "publishing events 1..1 to Redis failed" in caplog.text,
            timeout=5,
            message="the failed publish in the log",
        )


async def test_events_waiting_for_a_redis_that_is_down_are_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limit they are not queued for Redis (the others read them from the log), and
    the instance's own subscribers still get every one."""
    monkeypatch.setattr(redis_broker, "OUTBOX_LIMIT", 2)
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", unique_name("goofs_test"))
    async with hearing(broker) as (received,):
        for seq in range(1, 6):
            await broker.publish(an_event(seq))  # no await inside: the sender has not run yet
        await wait_until(lambda: received == [1, 2, 3, 4, 5], timeout=1, message="all five")
        await wait_until(
            lambda: "3 events were not sent to Redis" in caplog.text,
            timeout=5,
            message="the dropped events in the log",
        )
        await wait_until(
            lambda: "publishing events 1..2 to Redis failed" in caplog.text,
            timeout=5,
            message="the two queued, tried",
        )


@pytest.mark.redis
async def test_own_events_reach_own_subscribers_once_and_others_through_redis(
    redis_url: str,
) -> None:
    """An instance hands its events to its own hub directly; their echo from Redis is dropped."""
    channel = unique_name("goofs_test_events")
    one, other = RedisBroker(redis_url, channel), RedisBroker(redis_url, channel)
    async with hearing(one, other) as (heard_by_one, heard_by_other):
        seq = 0

        async def one_publishes_until_the_other_hears() -> bool:
            nonlocal seq
            seq += 1
            await one.publish(an_event(seq))
            await asyncio.sleep(0.05)
            return bool(heard_by_other)

        await wait_until(one_publishes_until_the_other_hears, timeout=5)
        first_heard = heard_by_other[0]
        await wait_until(lambda: heard_by_other[-1] == seq, timeout=2, message="all of one's")
        # Redis keeps one channel's order: the other's event comes after one's own echoes.
        await other.publish(an_event(seq + 1))
        await wait_until(lambda: seq + 1 in heard_by_one, timeout=2, message="the other's event")

        assert heard_by_one == list(range(1, seq + 2))
        assert heard_by_other == list(range(first_heard, seq + 2))


class DroppingBroker:
    """Loses every message whose seq is in `drop`, as Redis pub/sub may on a reconnect."""

    def __init__(self, inner: Broker, drop: set[int]) -> None:
        self.inner = inner
        self.drop = drop

    async def publish(self, event: EventRead) -> None:
        if event.seq not in self.drop:
            await self.inner.publish(event)

    def subscribe(self) -> AsyncIterator[EventRead]:
        return self.inner.subscribe()

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


async def test_dropped_broker_messages_are_backfilled_from_the_log(
    request: pytest.FixtureRequest, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = {2, 3, 5, 8}
    create_broker = app_module.create_broker
    monkeypatch.setattr(
        app_module,
        "create_broker",
        lambda url, **options: DroppingBroker(create_broker(url, **options), dropped),
    )
    # The periodic look at the log is out of the picture: the next message reveals the gap.
    overrides: dict[str, object] = {"catch_up_interval": 3600}
    if not database_url.startswith("sqlite"):
        overrides |= {
            "broker_url": request.getfixturevalue("redis_url"),
            "redis_channel": unique_name("goofs_test_events"),
        }
    async with (
        running_app(support.test_settings(database_url, **overrides)) as goofs,
        streaming([goofs.url]) as (stream,),
    ):
        for number in range(10):
            response = await goofs.client.post(
                "/api/v1/spacecraft",
                json={"name": f"Lossy {number}", "cospar_id": f"1999-{number + 1:03d}A"},
            )
            assert response.status_code == 201
        await wait_until(lambda: len(stream.events) >= 10, message="ten events")

    assert stream.seqs == list(range(1, 11))
