"""Durable consumers: every event handled once, in order, with the cursor moved by the effect."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Literal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from galactic_goofs.analytics import tallies
from galactic_goofs.db import Database
from galactic_goofs.events import service as events_service
from galactic_goofs.events.broker import MemoryBroker
from galactic_goofs.events.consumers import ConsumerRunner
from galactic_goofs.events.hub import Hub
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.schemas import SpacecraftCreate
from tests.support import wait_until


class Recorder:
    """Writes down each seq it handles, in a table with no unique key: a seq handled twice
    shows up twice."""

    def __init__(self, start: Literal["beginning", "now"] = "beginning", fail_at: int = 0) -> None:
        self.name = f"recorder-{start}"
        self.start = start
        self.batch_size = 100
        self.fail_at = fail_at

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        session.execute(
            text("INSERT INTO handled (seq) VALUES (:seq)"), [{"seq": e.seq} for e in events]
        )
        if any(event.seq == self.fail_at for event in events):
            raise RuntimeError(f"failed on {self.fail_at}")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, SQLite or PostgreSQL, with the recorder's table."""
    url = database_url.replace("sqlite://", "sqlite+aiosqlite://").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    db = Database(url)
    await db.write(lambda session: session.execute(text("CREATE TABLE handled (seq BIGINT)")))
    yield db
    await db.write(lambda session: session.execute(text("DROP TABLE handled")))
    await db.dispose()


async def make_events(db: Database, count: int, first: int = 1) -> None:
    for number in range(first, first + count):
        await db.write(
            fleet.create,
            SpacecraftCreate(name=f"Sat {number}", cospar_id=f"2019-{number:03d}A"),
            actor="test",
            rng=random.Random(number),
        )


async def handled(db: Database) -> list[int]:
    async with db.reading() as session:
        return list(await session.scalars(text("SELECT seq FROM handled ORDER BY seq")))


def runner(db: Database, consumer: Recorder, **options: object) -> ConsumerRunner:
    return ConsumerRunner(db, consumer, asyncio.Event(), **options)  # type: ignore[arg-type]


async def test_each_event_is_handled_once_in_batches_and_the_cursor_moves_with_them(
    database: Database,
) -> None:
    await make_events(database, 7)
    first = runner(database, Recorder(), batch_size=3)

    assert [await first.step() for _ in range(4)] == [3, 3, 1, 0]
    # A runner started later (a restart) carries on from the stored cursor.
    await make_events(database, 2, first=8)
    assert await runner(database, Recorder(), batch_size=3).step() == 2
    assert await handled(database) == list(range(1, 10))


async def test_a_failed_batch_leaves_the_cursor_and_its_effect_undone(database: Database) -> None:
    await make_events(database, 5)
    failing = runner(database, Recorder(fail_at=4), batch_size=2)

    assert await failing.step() == 2
    with pytest.raises(RuntimeError):
        await failing.step()
    assert await handled(database) == [1, 2]

    assert await runner(database, Recorder(), batch_size=10).step() == 3
    assert await handled(database) == [1, 2, 3, 4, 5]


async def test_runners_racing_on_one_consumer_handle_every_event_once(database: Database) -> None:
    await make_events(database, 40)
    other = Database(database.url)
    try:
        runners = [runner(db, Recorder(), batch_size=3) for db in (database, other, database)]

        async def drain(one: ConsumerRunner) -> None:
            handled = True
            while handled:
                handled = bool(await one.step())
                await asyncio.sleep(0)  # the others get their turn

        await asyncio.gather(*(drain(one) for one in runners))
    finally:
        await other.dispose()
    assert await handled(database) == list(range(1, 41))


async def test_a_new_consumer_that_starts_now_skips_the_past(database: Database) -> None:
    await make_events(database, 3)
    late = runner(database, Recorder(start="now"))
    assert await late.step() == 0
    await make_events(database, 2, first=4)
    assert await late.step() == 2
    assert await handled(database) == [4, 5]


async def test_pruning_keeps_what_a_consumer_has_not_handled(database: Database) -> None:
    await make_events(database, 6)
    assert await runner(database, Recorder(), batch_size=2).step() == 2

    assert await database.write(events_service.prune, keep=1) == 2  # only the handled ones

    assert await runner(database, Recorder()).step() == 4
    assert await handled(database) == list(range(1, 7))


async def test_only_the_lease_holder_runs_a_leased_consumer(database: Database) -> None:
    await make_events(database, 3)
    first = runner(database, Recorder(), lease_ttl=30.0, holder="first")
    second = runner(database, Recorder(), lease_ttl=30.0, holder="second")
    tasks = [asyncio.create_task(one.run()) for one in (first, second)]
    try:
        await wait_until(lambda: first.leading or second.leading, message="a lease holder")
        await wait_until(
            lambda: _count(database, 3), message="the holder to handle the log", timeout=5
        )
        assert first.leading != second.leading
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await handled(database) == [1, 2, 3]


async def _count(db: Database, expected: int) -> bool:
    return len(await handled(db)) == expected


async def test_a_running_consumer_wakes_on_new_events_not_the_catch_up(db: Database) -> None:
    await db.write(lambda session: session.execute(text("CREATE TABLE handled (seq BIGINT)")))
    broker = MemoryBroker()
    hub = Hub(db, broker, catch_up_interval=60.0)
    await hub.start()
    running = ConsumerRunner(db, Recorder(), hub.watch(), catch_up_interval=60.0)
    task = asyncio.create_task(running.run())
    try:
        await wait_until(lambda: _count(db, 0), message="the consumer to start")
        await make_events(db, 1)
        async with db.reading() as session:
            (event,) = await events_service.read_after(session, 0, 1)
        await hub.deliver(event)
        await wait_until(lambda: _count(db, 1), timeout=2, message="the consumer to wake")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.stop()


async def test_the_event_tallies_count_every_event_by_type_and_day(database: Database) -> None:
    await make_events(database, 4)
    tally = ConsumerRunner(database, tallies.EventTallies(), asyncio.Event(), batch_size=3)
    while await tally.step():
        pass
    async with database.reading() as session:
        assert await tallies.totals(session) == {"spacecraft.created": 4}
        days = await tallies.by_day(session, since=datetime(2000, 1, 1, tzinfo=UTC).date())
    assert [(day, count) for day, _, count in days] == [(datetime.now(UTC).date(), 4)]
