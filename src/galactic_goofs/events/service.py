from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.db import utcnow
from galactic_goofs.events.models import ConsumerCursor, Event, EventLogHead
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.precompiled import Statement, Writer

# The two statements of every change, built once: Core, where the ORM's unit of work would cost
# more than the rest of the change.
_CLAIM = Statement(
    update(EventLogHead)
    .where(EventLogHead.id == 1)
    .values(last_seq=EventLogHead.last_seq + 1)
    .returning(EventLogHead.last_seq)
)
_RECORD = Statement(
    insert(Event).returning(Event.seq, Event.occurred_at),
    column_keys=["seq", "type", "spacecraft_id", "actor", "occurred_at", "data"],
)


def claim_next_seq(run: Writer) -> int:
    """First statement of every write: lock the log head and take the next seq.

    Concurrent writers wait here until this transaction ends, so what they read next is the
    committed state and their seq comes after ours.
    """
    rows = run(_CLAIM)
    if not rows:
        raise RuntimeError("event log head is missing: run `goofs migrate`")
    return int(rows[0].last_seq)


def record(
    run: Writer,
    seq: int,
    type: EventType,
    spacecraft_id: uuid.UUID,
    actor: str,
    data: dict[str, Any],
) -> EventRead:
    event = EventRead(
        seq=seq,
        type=type,
        spacecraft_id=spacecraft_id,
        actor=actor,
        occurred_at=utcnow(),
        data=data,
    )
    # As written: a change made in one statement claims its seq, and takes its time, there.
    (written,) = run(_RECORD, dict(event))
    if (written.seq, written.occurred_at) == (seq, event.occurred_at):
        return event
    return event.model_copy(update={"seq": written.seq, "occurred_at": written.occurred_at})


async def read_after(
    session: AsyncSession,
    after: int,
    limit: int,
    *,
    upto: int | None = None,
    spacecraft_id: uuid.UUID | None = None,
    types: Sequence[EventType] = (),
) -> list[EventRead]:
    query = select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit)
    if upto is not None:
        query = query.where(Event.seq <= upto)
    if spacecraft_id is not None:
        query = query.where(Event.spacecraft_id == spacecraft_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    return [EventRead.model_validate(row) for row in await session.scalars(query)]


async def read_before(
    session: AsyncSession, before: int, limit: int, *, spacecraft_id: uuid.UUID
) -> list[EventRead]:
    """A spacecraft's events older than `before`, newest first (its timeline, a page at a time)."""
    query = (
        select(Event)
        .where(Event.spacecraft_id == spacecraft_id, Event.seq < before)
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    return [EventRead.model_validate(row) for row in await session.scalars(query)]


async def last_seq(session: AsyncSession) -> int:
    """The newest committed seq (0 for an empty log)."""
    value = await session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1))
    return value or 0


async def first_retained_seq(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.min(Event.seq)))


PRUNE_BATCH = 5_000


def prune(session: Session, keep: int, batch: int = PRUNE_BATCH) -> int:
    """Drop the oldest events beyond the newest `keep`, at most `batch` of them (one write
    stays short), and none that a durable consumer has yet to handle; returns how many went."""
    head = session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1)) or 0
    oldest = session.scalar(select(func.min(Event.seq))) or 0
    upto = min(head - keep, oldest + batch - 1)
    slowest = session.scalar(select(func.min(ConsumerCursor.last_seq)))
    if slowest is not None:
        upto = min(upto, slowest)
    result = session.execute(delete(Event).where(Event.seq <= upto))
    return result.rowcount or 0  # type: ignore[attr-defined]
