"""`Statement` on SQLite's driver and on asyncpg stores and returns exactly what SQLAlchemy
would."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import asyncpg
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from galactic_goofs.db import Database
from galactic_goofs.errors import Conflict
from galactic_goofs.events import service as events
from galactic_goofs.events.models import Event
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.fleet.schemas import MalfunctionRequest
from galactic_goofs.fleet.service import Change
from galactic_goofs.precompiled import Statement, Writer, on_statements, session_writer
from tests.support import STAMP, add_craft


def _stored(path: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows as SQLite itself holds them, past every conversion."""
    with sqlite3.connect(path) as raw:
        return raw.execute(sql, params).fetchall()


async def _both_ways(
    db: Database, fn: Any, fast_args: tuple[Any, ...], core_args: tuple[Any, ...], **kwargs: Any
) -> tuple[Any, Any]:
    """`fn(writer, *fast_args)` on the driver, `fn(writer, *core_args)` through SQLAlchemy (a
    session's connection)."""
    fast = await db.write(on_statements(fn), *fast_args, **kwargs)
    core = await db.write(lambda session: fn(session_writer(session), *core_args, **kwargs))
    return fast, core


async def test_a_change_stores_the_same_text_both_ways(db: Database, sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    first = await db.write(add_craft, 1)
    second = await db.write(add_craft, 2)
    request = MalfunctionRequest(subsystem="power", severity="critical", description="Brownout")
    rng = random.Random(7)

    fast, core = await _both_ways(
        db, fleet.malfunction, (first, request), (second, request), actor="ops", rng=rng
    )

    assert isinstance(fast, Change) and isinstance(core, Change)
    crafts = {
        row[0]: row[1:]
        for row in _stored(
            path,
            "SELECT id, status, fault_subsystem, fault_severity, fault_description, "
            "length(fault_since), length(updated_at), version FROM spacecraft",
        )
    }
    assert crafts[first.hex] == crafts[second.hex]
    assert crafts[first.hex][:4] == ("MALFUNCTIONING", "power", "critical", "Brownout")
    stored = _stored(path, "SELECT seq, type, spacecraft_id, actor, occurred_at, data FROM events")
    by_craft = {row[2]: row for row in stored}
    fast_event, core_event = by_craft[first.hex], by_craft[second.hex]
    assert fast_event[1] == core_event[1] == EventType.MALFUNCTIONED.value
    assert len(fast_event[4]) == len(core_event[4])  # the same datetime text format
    fast_data, core_data = json.loads(fast_event[5]), json.loads(core_event[5])
    assert fast_data.keys() == core_data.keys()
    assert fast_data.keys() == {"spacecraft", "fault", "anomaly_id", "anomaly", "planned"}
    assert fast_data["spacecraft"].keys() == core_data["spacecraft"].keys()
    anomalies = {
        row[0]: row[1:]
        for row in _stored(
            path,
            "SELECT spacecraft_id, id, subsystem, severity, state, planned, length(opened_at), "
            "acknowledged_at FROM anomalies",
        )
    }
    assert anomalies[first.hex][0] == fast_data["anomaly_id"].replace("-", "")
    assert anomalies[first.hex][1:] == anomalies[second.hex][1:]
    assert anomalies[first.hex][1:] == ("power", "critical", "open", 0, 26, None)
    assert {**fast_data["fault"], "since": None} == {**core_data["fault"], "since": None}
    for text in (fast_event[5], core_event[5]):  # the same JSON encoder's text
        assert json.dumps(json.loads(text)) == text
    # What the change returns reads back from the log as it was written.
    assert fast.event.seq == fast_event[0] and core.event.seq == core_event[0]
    async with db.reading() as session:
        logged = await events.read_after(session, 0, 10)
    assert {event.seq: event for event in logged}[fast.event.seq] == fast.event


@pytest.fixture
async def either(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each kind the product runs on (`database_url` is both)."""
    database = Database(
        database_url.replace("sqlite://", "sqlite+aiosqlite://").replace(
            "postgresql://", "postgresql+asyncpg://"
        )
    )
    yield database
    await database.dispose()


@pytest.mark.postgres
async def test_on_postgresql_a_change_stores_the_same_both_ways(postgres_url: str) -> None:
    db = Database(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        first = await db.write(add_craft, 1)
        second = await db.write(add_craft, 2)
        request = MalfunctionRequest(subsystem="power", severity="critical", description="Brownout")
        fast, core = await _both_ways(
            db,
            fleet.malfunction,
            (first, request),
            (second, request),
            actor="ops",
            rng=random.Random(7),
        )
    finally:
        await db.dispose()
    assert isinstance(fast, Change) and isinstance(core, Change)
    raw = await asyncpg.connect(postgres_url)
    try:
        crafts = {
            row["id"]: tuple(row.values())[1:]
            for row in await raw.fetch(
                "SELECT id, status, fault_subsystem, fault_severity, fault_description, "
                "fault_since IS NOT NULL, version FROM spacecraft"
            )
        }
        stored = {
            row["spacecraft_id"]: row
            for row in await raw.fetch("SELECT seq, type, spacecraft_id, data::text FROM events")
        }
        anomalies = {
            row["spacecraft_id"]: tuple(row.values())[1:]
            for row in await raw.fetch(
                "SELECT spacecraft_id, subsystem, severity, state, planned, "
                "acknowledged_at FROM anomalies"
            )
        }
    finally:
        await raw.close()
    assert crafts[first] == crafts[second]
    assert crafts[first][:4] == ("MALFUNCTIONING", "power", "critical", "Brownout")
    fast_event, core_event = stored[first], stored[second]
    assert fast_event["type"] == core_event["type"] == EventType.MALFUNCTIONED.value
    fast_data, core_data = json.loads(fast_event["data"]), json.loads(core_event["data"])
    assert fast_data.keys() == core_data.keys()
    assert fast_data.keys() == {"spacecraft", "fault", "anomaly_id", "anomaly", "planned"}
    assert anomalies[first] == anomalies[second] == ("power", "critical", "open", False, None)
    assert fast.event.seq == fast_event["seq"] and core.event.seq == core_event["seq"]
    db = Database(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with db.reading() as session:
            logged = await events.read_after(session, 0, 10)
    finally:
        await db.dispose()
    assert {event.seq: event for event in logged}[fast.event.seq] == fast.event


async def test_a_refused_change_hands_its_seq_back(either: Database) -> None:
    craft = await either.write(add_craft, 5)

    @on_statements
    def claim_then_refuse(run: Writer) -> None:
        events.claim_next_seq(run)
        raise Conflict("not now")

    with pytest.raises(Conflict):
        await either.write(claim_then_refuse)
    change = await either.write(
        fleet.malfunction, craft, MalfunctionRequest(), actor="ops", rng=random.Random(1)
    )
    assert change.event.seq == 1  # no gap where the refused change claimed one


async def test_rows_come_back_typed_like_sqlalchemys(either: Database) -> None:
    db = either
    craft = await db.write(add_craft, 3)
    fast, core = await _both_ways(db, fleet._row, (craft,), (craft,))
    assert tuple(fast) == tuple(core)
    assert fast.id == craft and fast.created_at == STAMP
    assert fast.created_at.tzinfo is UTC and fast.version == 1


async def test_a_failed_statement_rolls_back_as_sqlalchemys_error(either: Database) -> None:
    db = either
    craft = await db.write(add_craft, 4)

    def claim_then_reuse_a_seq(run: Writer) -> None:
        seq = events.claim_next_seq(run)
        for _ in range(2):
            events.record(run, seq, EventType.UPDATED, craft, "ops", {})

    with pytest.raises(IntegrityError):
        await db.write(on_statements(claim_then_reuse_a_seq))
    async with db.reading() as session:
        assert await events.last_seq(session) == 0  # the claimed seq was handed back
        assert (await session.scalars(select(Event))).all() == []
    # The connection is clean again: the next change commits.
    await db.write(on_statements(events.claim_next_seq))
    async with db.reading() as session:
        assert await events.last_seq(session) == 1


def test_statements_that_need_python_side_defaults_are_refused() -> None:
    # Spacecraft.id defaults to uuid4() in Python: only SQLAlchemy's execution would fill it.
    with pytest.raises(ValueError, match="column defaults"):
        Statement(insert(Spacecraft), column_keys=["name", "cospar_id"])


@pytest.mark.postgres
async def test_on_postgresql_a_connection_that_died_in_the_pool_is_replaced(
    postgres_url: str,
) -> None:
    """The hot changes' pool skips the pre-ping: a connection the database dropped (a restart)
    fails at BEGIN, before anything happened, and the change goes on a new one."""
    db = Database(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        craft = await db.write(add_craft, 6)
        await db.write(
            fleet.malfunction, craft, MalfunctionRequest(), actor="ops", rng=random.Random(1)
        )
        raw = await asyncpg.connect(postgres_url)
        try:
            dropped = await raw.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await raw.close()
        assert dropped >= 1
        change = await db.write(fleet.repair, craft, actor="ops")
        assert change.spacecraft.status == Status.NOMINAL
    finally:
        await db.dispose()
