"""On PostgreSQL a hot change is made in one statement when what it read still holds, and in a
transaction otherwise, with the same outcome and no gap in the seq either way."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from galactic_goofs.anomalies import service as anomalies
from galactic_goofs.anomalies.models import Anomaly
from galactic_goofs.anomalies.schemas import AcknowledgeRequest
from galactic_goofs.db import Database
from galactic_goofs.errors import Conflict
from galactic_goofs.events import service as events
from galactic_goofs.events.models import Event
from galactic_goofs.events.one_statement import OneStatement, in_one_statement
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet import faults
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.models import Status
from galactic_goofs.fleet.schemas import MalfunctionRequest
from galactic_goofs.precompiled import Writer
from tests.unit.test_statements import add_craft

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    yield database
    await database.dispose()


@pytest.fixture
async def raw(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another client of the same database, changing rows behind a change's back."""
    connection = await asyncpg.connect(postgres_url)
    yield connection
    await connection.close()


def _add_craft(session: Session) -> uuid.UUID:
    return add_craft(session, 1)


async def _malfunction_in_one_statement(db: Database, craft: uuid.UUID) -> tuple[Any] | None:
    return await db._in_one_statement(
        OneStatement,
        fleet.malfunction,
        craft,
        MalfunctionRequest(),
        actor="ops",
        rng=random.Random(3),
    )


async def _counts(db: Database) -> tuple[int, int, int]:
    """The log's head, its events, and the anomalies."""
    async with db.reading() as session:
        return (
            await events.last_seq(session),
            await session.scalar(select(func.count()).select_from(Event)) or 0,
            await session.scalar(select(func.count()).select_from(Anomaly)) or 0,
        )


async def test_a_malfunction_repair_and_acknowledge_are_each_one_statement(db: Database) -> None:
    craft = await db.write(_add_craft)
    broken = await _malfunction_in_one_statement(db, craft)
    assert broken is not None
    (change,) = broken
    assert change.event.seq == 1 and change.spacecraft.status == Status.MALFUNCTIONING
    assert change.spacecraft.anomaly is not None
    anomaly_id = change.spacecraft.anomaly.id

    acknowledged = await db._in_one_statement(
        OneStatement, anomalies.acknowledge, anomaly_id, AcknowledgeRequest(), actor="ana"
    )
    assert acknowledged is not None and acknowledged[0].event.seq == 2
    repaired = await db._in_one_statement(OneStatement, fleet.repair, craft, actor="ops")
    assert repaired is not None
    (fixed,) = repaired
    assert fixed.event.seq == 3 and fixed.spacecraft.status == Status.NOMINAL
    assert fixed.event.data["anomaly"]["acknowledged_by"] == "ana"
    assert fixed.event.data["anomaly"]["state"] == "resolved"

    # What each returned is what the log holds, and the row its event shows is the stored one.
    async with db.reading() as session:
        logged = await events.read_after(session, 0, 10)
        stored = await fleet.get(session, craft)
    assert [event.seq for event in logged] == [1, 2, 3]
    assert logged[2] == fixed.event
    assert [event.occurred_at for event in logged] == sorted(event.occurred_at for event in logged)
    assert stored == fixed.spacecraft and stored.version == 4


def _interfering(change: Callable[..., Any], interfere: Callable[[], None]) -> Callable[..., Any]:
    """`change`, with `interfere()` run once, on its first attempt, after its first read."""
    attempts = []

    @in_one_statement
    def racing(run: Writer, *args: Any, **kwargs: Any) -> Any:
        first = not attempts
        attempts.append(type(run).__name__)

        def reading_then_interfering(statement: Any, params: Any = None, **extra: Any) -> Any:
            rows = run(statement, params, **extra)
            if first and statement is fleet._ROW:
                interfere()
            return rows

        return change(reading_then_interfering, *args, **kwargs)

    racing.attempts = attempts  # type: ignore[attr-defined]
    return racing


@pytest.mark.parametrize(
    ("change", "name", "version"),
    [
        # A column the rules do not look at, changed without a new version: still a change.
        ("UPDATE spacecraft SET maintenance_reason = 'Antenna survey' WHERE id = $1", "Probe-1", 2),
        ("UPDATE spacecraft SET name = 'Renamed', version = 2 WHERE id = $1", "Renamed", 3),
    ],
)
async def test_a_row_changed_after_it_was_read_makes_the_change_again_without_a_gap(
    db: Database, raw: asyncpg.Connection, change: str, name: str, version: int
) -> None:
    craft = await db.write(_add_craft)

    def malfunction(run: Writer, craft_id: uuid.UUID) -> fleet.Change:
        seq = events.claim_next_seq(run)
        return fleet._malfunction(
            run, seq, fleet._row(run, craft_id), faults.pick(random.Random(1)), "ops"
        )

    racing = _interfering(malfunction, lambda: await_only(raw.execute(change, craft)))
    made = await db.write(racing, craft)

    assert racing.attempts == ["OneStatement", "PostgresWriter"]  # type: ignore[attr-defined]
    assert made.event.seq == 1  # the statement that failed claimed nothing
    assert await _counts(db) == (1, 1, 1)  # nor opened an anomaly
    async with db.reading() as session:
        stored = await fleet.get(session, craft)
    assert stored == made.spacecraft
    # Made on the row as the other client left it.
    assert (made.spacecraft.name, made.spacecraft.version) == (name, version)


async def test_a_refusal_is_confirmed_in_a_transaction(db: Database) -> None:
    craft = await db.write(_add_craft)
    await db.write(
        fleet.malfunction, craft, MalfunctionRequest(), actor="ops", rng=random.Random(1)
    )
    made = await _malfunction_in_one_statement(db, craft)
    assert made is None  # not refused here: on what it read, which may have been stale
    with pytest.raises(Conflict, match="already malfunctioning"):
        await db.write(
            fleet.malfunction, craft, MalfunctionRequest(), actor="ops", rng=random.Random(1)
        )
    assert await _counts(db) == (1, 1, 1)


async def test_a_change_that_reads_a_row_it_does_not_rewrite_is_made_in_a_transaction(
    db: Database,
) -> None:
    craft = await db.write(_add_craft)

    @in_one_statement
    def note_the_name(run: Writer, craft_id: uuid.UUID) -> Any:
        seq = events.claim_next_seq(run)
        row = fleet._row(run, craft_id)
        return events.record(run, seq, EventType.UPDATED, craft_id, "ops", {"name": row.name})

    assert await db._in_one_statement(OneStatement, note_the_name, craft) is None
    assert await _counts(db) == (0, 0, 0)
    event = await db.write(note_the_name, craft)
    assert event.seq == 1 and event.data == {"name": "Probe-1"}
