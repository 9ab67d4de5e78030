"""Migration 0004: today's data kept, a malfunction of today gets its open anomaly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Integer, String, Uuid, column, inspect, table, text
from sqlalchemy.orm import Session

from devkit import postgres
from galactic_goofs import migrate
from galactic_goofs.db import Database, UTCDateTime
from tests.support import require

BEFORE = "0003_consumers"
BROKEN = uuid.uuid4()
FINE = uuid.uuid4()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no schema at all, of each kind."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield db
        await db.dispose()
        return
    try:
        url = await postgres.create_database("goofs_migration")
    except OSError as error:
        require("PostgreSQL", False, str(error))
    db = Database(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        yield db
    finally:
        await db.dispose()
        await postgres.drop_database(url)


def _downgrade(session: Session, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = session.connection()
    command.downgrade(config, revision)


SPACECRAFT_0003 = table(
    "spacecraft",
    column("id", Uuid()),
    column("name", String()),
    column("cospar_id", String()),
    column("status", String()),
    column("fault_subsystem", String()),
    column("fault_severity", String()),
    column("fault_description", String()),
    column("fault_since", UTCDateTime()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("version", Integer()),
)
"""The spacecraft table as revision 0003 left it."""


def _fleet_of_today(session: Session) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    fault = {"fault_subsystem": "power", "fault_severity": "major", "fault_description": "Oops"}
    for craft_id, name, status, number in (
        (BROKEN, "Wobbly", "MALFUNCTIONING", 1),
        (FINE, "Steady", "NOMINAL", 2),
    ):
        broken = status == "MALFUNCTIONING"
        session.execute(
            SPACECRAFT_0003.insert().values(
                id=craft_id,
                name=name,
                cospar_id=f"2016-00{number}A",
                status=status,
                fault_since=at if broken else None,
                created_at=at,
                updated_at=at,
                version=1,
                **(fault if broken else {}),
            )
        )


def _anomalies(session: Session) -> list[tuple[str, str, str, str]]:
    rows = session.execute(
        text(
            "SELECT a.subsystem, a.severity, a.state, s.anomaly_state FROM anomalies a "
            "JOIN spacecraft s ON s.anomaly_id = a.id"
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _tables(session: Session) -> set[str]:
    return set(inspect(session.connection()).get_table_names())


async def test_upgrading_opens_an_anomaly_for_each_malfunction_and_downgrading_undoes_it(
    empty_db: Database,
) -> None:
    db = empty_db
    await migrate.upgrade(db, BEFORE)
    await db.write(_fleet_of_today)

    await migrate.upgrade(db)
    assert await db.write(_anomalies) == [("power", "major", "open", "open")]
    assert {"anomalies", "anomaly_notes"} <= await db.write(_tables)

    await db.write(_downgrade, BEFORE)
    tables = await db.write(_tables)
    assert "anomalies" not in tables and "anomaly_notes" not in tables
    count = await db.write(lambda s: s.scalar(text("SELECT count(*) FROM spacecraft")))
    assert count == 2

    await migrate.upgrade(db)
    assert await db.write(_anomalies) == [("power", "major", "open", "open")]
