"""Every rule about spacecraft. Each change is one transaction: the row and its event."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict, NotFound
from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet import faults
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.fleet.schemas import (
    Fault,
    FleetSummary,
    MalfunctionRequest,
    SpacecraftCreate,
    SpacecraftPage,
    SpacecraftRead,
    SpacecraftUpdate,
)

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Change:
    spacecraft: SpacecraftRead
    event: EventRead


class _NothingToDo(Exception):
    """Rolls a change back without an error (and so hands its seq back)."""


Fence = Callable[[AsyncSession], Awaitable[bool]]


def to_read(craft: Spacecraft) -> SpacecraftRead:
    fault = None
    if craft.fault_subsystem is not None:
        fault = Fault(
            subsystem=faults.Subsystem(craft.fault_subsystem),
            severity=faults.Severity(craft.fault_severity or faults.Severity.MINOR),
            description=craft.fault_description or "",
            since=craft.fault_since or craft.updated_at,
        )
    return SpacecraftRead(
        id=craft.id,
        name=craft.name,
        cospar_id=craft.cospar_id,
        status=Status(craft.status),
        fault=fault,
        created_at=craft.created_at,
        updated_at=craft.updated_at,
        version=craft.version,
    )


async def get(session: AsyncSession, spacecraft_id: uuid.UUID) -> SpacecraftRead:
    return to_read(await _load(session, spacecraft_id))


async def list_spacecraft(
    session: AsyncSession,
    *,
    status: Status | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SpacecraftPage:
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Spacecraft)
    if status is not None:
        query = query.where(Spacecraft.status == status)
    if search:
        pattern = f"%{_escape_like(search.strip().lower())}%"
        query = query.where(
            or_(
                func.lower(Spacecraft.name).like(pattern, escape="\\"),
                func.lower(Spacecraft.cospar_id).like(pattern, escape="\\"),
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Spacecraft.name, Spacecraft.id).limit(limit).offset(offset)
    )
    return SpacecraftPage(
        items=[to_read(row) for row in rows], total=total, limit=limit, offset=offset
    )


async def summary(session: AsyncSession) -> FleetSummary:
    rows = await session.execute(
        select(Spacecraft.status, func.count()).group_by(Spacecraft.status)
    )
    counts: dict[str, int] = {status: count for status, count in rows}
    nominal = counts.get(Status.NOMINAL, 0)
    malfunctioning = counts.get(Status.MALFUNCTIONING, 0)
    return FleetSummary(
        total=nominal + malfunctioning, nominal=nominal, malfunctioning=malfunctioning
    )


async def create(
    session: AsyncSession, data: SpacecraftCreate, *, actor: str, rng: random.Random
) -> Change:
    async with _change(session) as seq:
        await _ensure_cospar_id_free(session, data.cospar_id)
        now = utcnow()
        craft = Spacecraft(
            id=uuid.uuid4(),
            name=data.name,
            cospar_id=data.cospar_id,
            status=Status.NOMINAL,
            created_at=now,
            updated_at=now,
            version=1,
        )
        if data.status is Status.MALFUNCTIONING:
            _break(craft, faults.pick(rng), now)
        session.add(craft)
        return _record(session, seq, EventType.CREATED, craft, actor)


async def update(
    session: AsyncSession, spacecraft_id: uuid.UUID, data: SpacecraftUpdate, *, actor: str
) -> Change:
    async with _change(session) as seq:
        craft = await _load(session, spacecraft_id)
        if data.version is not None and data.version != craft.version:
            raise Conflict(
                f"{craft.name} was changed by someone else (you edited version {data.version}, "
                f"it is now at version {craft.version}); reload and try again"
            )
        changes: dict[str, list[str]] = {}
        if data.cospar_id is not None and data.cospar_id != craft.cospar_id:
            await _ensure_cospar_id_free(session, data.cospar_id)
            changes["cospar_id"] = [craft.cospar_id, data.cospar_id]
            craft.cospar_id = data.cospar_id
        if data.name is not None and data.name != craft.name:
            changes["name"] = [craft.name, data.name]
            craft.name = data.name
        _touch(craft)
        return _record(session, seq, EventType.UPDATED, craft, actor, changes=changes)


async def malfunction(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    request: MalfunctionRequest,
    *,
    actor: str,
    rng: random.Random,
) -> Change:
    async with _change(session) as seq:
        craft = await _load(session, spacecraft_id)
        if craft.status == Status.MALFUNCTIONING:
            raise Conflict(f"{craft.name} is already malfunctioning; repair it first")
        template = faults.pick(rng, request.subsystem)
        fault = faults.FaultTemplate(
            subsystem=template.subsystem,
            severity=request.severity or template.severity,
            description=request.description or template.description,
        )
        return _malfunction(session, seq, craft, fault, actor)


async def malfunction_random(
    session: AsyncSession, *, actor: str, rng: random.Random, fence: Fence | None = None
) -> Change | None:
    """Break one random nominal spacecraft, if there is one and `fence` still allows it."""
    try:
        async with _change(session) as seq:
            if fence is not None and not await fence(session):
                raise _NothingToDo
            craft = await session.scalar(
                select(Spacecraft)
                .where(Spacecraft.status == Status.NOMINAL)
                .order_by(func.random())
                .limit(1)
            )
            if craft is None:
                raise _NothingToDo
            return _malfunction(session, seq, craft, faults.pick(rng), actor)
    except _NothingToDo:
        return None


async def repair(session: AsyncSession, spacecraft_id: uuid.UUID, *, actor: str) -> Change:
    async with _change(session) as seq:
        craft = await _load(session, spacecraft_id)
        if craft.status != Status.MALFUNCTIONING:
            raise Conflict(f"{craft.name} is nominal; there is nothing to repair")
        fault = to_read(craft).fault
        craft.status = Status.NOMINAL
        craft.fault_subsystem = craft.fault_severity = craft.fault_description = None
        craft.fault_since = None
        _touch(craft)
        return _record(
            session,
            seq,
            EventType.REPAIRED,
            craft,
            actor,
            fault=fault.model_dump(mode="json") if fault else None,
        )


async def delete(session: AsyncSession, spacecraft_id: uuid.UUID, *, actor: str) -> Change:
    async with _change(session) as seq:
        craft = await _load(session, spacecraft_id)
        change = _record(session, seq, EventType.DELETED, craft, actor)
        await session.delete(craft)
        return change


@asynccontextmanager
async def _change(session: AsyncSession) -> AsyncIterator[int]:
    """One write transaction that starts by claiming the next event seq."""
    try:
        async with session.begin():
            yield await events.claim_next_seq(session)
    except IntegrityError as error:
        # Our own checks run under the log lock, so this is a guard, not the rule.
        raise Conflict("that change conflicts with the fleet as it is now; reload") from error


async def _load(session: AsyncSession, spacecraft_id: uuid.UUID) -> Spacecraft:
    craft = await session.get(Spacecraft, spacecraft_id, populate_existing=True)
    if craft is None:
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    return craft


async def _ensure_cospar_id_free(session: AsyncSession, cospar_id: str) -> None:
    holder = await session.scalar(select(Spacecraft.name).where(Spacecraft.cospar_id == cospar_id))
    if holder is not None:
        raise Conflict(f"COSPAR ID {cospar_id} is already registered to {holder}")


def _break(craft: Spacecraft, fault: faults.FaultTemplate, now: Any) -> None:
    craft.status = Status.MALFUNCTIONING
    craft.fault_subsystem = fault.subsystem
    craft.fault_severity = fault.severity
    craft.fault_description = fault.description
    craft.fault_since = now


def _malfunction(
    session: AsyncSession, seq: int, craft: Spacecraft, fault: faults.FaultTemplate, actor: str
) -> Change:
    _touch(craft)
    _break(craft, fault, craft.updated_at)
    read = to_read(craft)
    assert read.fault is not None
    return _record(
        session,
        seq,
        EventType.MALFUNCTIONED,
        craft,
        actor,
        fault=read.fault.model_dump(mode="json"),
    )


def _touch(craft: Spacecraft) -> None:
    craft.updated_at = utcnow()
    craft.version += 1


def _record(
    session: AsyncSession,
    seq: int,
    type: EventType,
    craft: Spacecraft,
    actor: str,
    **details: Any,
) -> Change:
    snapshot = to_read(craft)
    data = {"spacecraft": snapshot.model_dump(mode="json"), **details}
    return Change(snapshot, events.record(session, seq, type, craft.id, actor, data))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
