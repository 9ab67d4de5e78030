"""Events by type and UTC day, kept by a durable consumer of the log.

They survive pruning of the log and restarts of any process, so a counter read from them only
ever goes up, whichever instance or worker answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.analytics.models import EventTally
from galactic_goofs.db import Base
from galactic_goofs.events.schemas import EventRead


class EventTallies:
    """The consumer: counts each batch's events and adds them to the day's rows."""

    name = "event-tallies"
    start: Literal["beginning", "now"] = "beginning"
    batch_size = 500

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        counts = Counter((event.occurred_at.date(), str(event.type)) for event in events)
        session.connection().execute(
            _ADD[session.get_bind().dialect.name],
            [{"day": day, "type": type, "count": count} for (day, type), count in counts.items()],
        )


def _add(insert: Any) -> Any:
    statement = insert(Base.metadata.tables[EventTally.__tablename__])
    return statement.on_conflict_do_update(
        index_elements=[statement.table.c.day, statement.table.c.type],
        set_={"count": statement.table.c.count + statement.excluded.count},
    )


_ADD = {"postgresql": _add(postgresql.insert), "sqlite": _add(sqlite.insert)}
"""Built once (a batch is a handful of events), and run as Core, not the ORM's bulk insert."""


async def totals(session: AsyncSession) -> dict[str, int]:
    """Events of each type ever recorded, by type."""
    rows = await session.execute(
        select(EventTally.type, func.sum(EventTally.count)).group_by(EventTally.type)
    )
    return {type: int(count) for type, count in rows}


async def by_day(session: AsyncSession, since: date) -> list[tuple[date, str, int]]:
    rows = await session.execute(
        select(EventTally.day, EventTally.type, EventTally.count)
        .where(EventTally.day >= since)
        .order_by(EventTally.day, EventTally.type)
    )
    return [(day, type, count) for day, type, count in rows]
