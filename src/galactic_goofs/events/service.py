from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.db import utcnow
from galactic_goofs.events.models import Event, EventLogHead
from galactic_goofs.events.schemas import EventRead, EventType


async def claim_next_seq(session: AsyncSession) -> int:
    """First statement of every write: lock the log head and take the next seq.

    Concurrent writers wait here until this transaction ends, so what they read next is the
    committed state and their seq comes after ours.
    """
    seq = await session.scalar(
        update(EventLogHead)
        .where(EventLogHead.id == 1)
        .values(last_seq=EventLogHead.last_seq + 1)
        .returning(EventLogHead.last_seq)
    )
    if seq is None:
        raise RuntimeError("event log head is missing: run `goofs migrate`")
    return int(seq)


def record(
    session: AsyncSession,
    seq: int,
    type: EventType,
    spacecraft_id: uuid.UUID,
    actor: str,
    data: dict[str, Any],
) -> EventRead:
    event = Event(
        seq=seq,
        type=type,
        spacecraft_id=spacecraft_id,
        actor=actor,
        occurred_at=utcnow(),
        data=data,
    )
    session.add(event)
    return EventRead.model_validate(event)


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


async def last_seq(session: AsyncSession) -> int:
    """The newest committed seq (0 for an empty log)."""
    value = await session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1))
    return value or 0


async def first_retained_seq(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.min(Event.seq)))


async def prune(session: AsyncSession, keep: int) -> int:
    """Drop all but the newest `keep` events; returns how many went. Commits."""
    head = await last_seq(session)
    result = await session.execute(delete(Event).where(Event.seq <= head - keep))
    await session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]
