"""Every rule about spacecraft: reads (async sessions) and changes (functions of a Session)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, inspect, not_, or_, select
from sqlalchemy import update as update_statement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.anomalies import lifecycle
from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.anomalies.schemas import AnomalyRead, AnomalySummary
from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict, NotFound
from galactic_goofs.events import service as events
from galactic_goofs.events.one_statement import in_one_statement
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet import faults
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.fleet.schemas import (
    Fault,
    FleetSummary,
    Maintenance,
    MalfunctionRequest,
    SpacecraftCreate,
    SpacecraftPage,
    SpacecraftRead,
    SpacecraftUpdate,
)
from galactic_goofs.precompiled import (
    Statement,
    Writer,
    rewritten,
    session_writer,
)

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Change:
    """A spacecraft as one change left it, and that change's event."""

    spacecraft: SpacecraftRead
    event: EventRead

    @property
    def events(self) -> tuple[EventRead, ...]:
        return (self.event,)


Fence = Callable[[Session], bool]

# Malfunction and repair are what the simulator and the operators do all day, so they run as
# precompiled `Statement`s (`on_statements`): the ORM's session, identity map and unit of work
# cost more than the rest of such a change; on PostgreSQL, in one statement if they can
# (`in_one_statement`). The rarer changes use the ORM.
_COLUMNS = inspect(Spacecraft).columns
_ROW = Statement(select(*_COLUMNS).where(Spacecraft.id == bindparam("craft_id")))
_SET = Statement(
    update_statement(Spacecraft).where(Spacecraft.id == bindparam("craft_id")),
    column_keys=[
        "status",
        "fault_subsystem",
        "fault_severity",
        "fault_description",
        "fault_since",
        "anomaly_id",
        "anomaly_state",
        "anomaly_acknowledged_by",
        "updated_at",
        "version",
    ],
)

_SHOW_ANOMALY = Statement(
    update_statement(Spacecraft).where(Spacecraft.id == bindparam("craft_id")),
    column_keys=["anomaly_state", "anomaly_acknowledged_by", "updated_at", "version"],
)


def to_read(craft: Any) -> SpacecraftRead:
    """The API's view of a spacecraft, from the ORM object or a row of its columns."""
    fault = None
    if craft.fault_subsystem is not None:
        fault = Fault(
            subsystem=faults.Subsystem(craft.fault_subsystem),
            severity=faults.Severity(craft.fault_severity or faults.Severity.MINOR),
            description=craft.fault_description or "",
            since=craft.fault_since or craft.updated_at,
        )
    anomaly = None
    if craft.anomaly_id is not None:
        anomaly = AnomalySummary(
            id=craft.anomaly_id,
            state=AnomalyState(craft.anomaly_state or AnomalyState.OPEN),
            acknowledged_by=craft.anomaly_acknowledged_by,
        )
    maintenance = None
    if craft.maintenance_ends_at is not None:
        maintenance = Maintenance(
            starts_at=craft.maintenance_starts_at or craft.updated_at,
            until=craft.maintenance_ends_at,
            reason=craft.maintenance_reason or "",
            active=bool(craft.maintenance_started),
        )
    return SpacecraftRead(
        id=craft.id,
        name=craft.name,
        cospar_id=craft.cospar_id,
        norad_id=craft.norad_id,
        status=Status(craft.status),
        fault=fault,
        created_at=craft.created_at,
        updated_at=craft.updated_at,
        version=craft.version,
        anomaly=anomaly,
        maintenance=maintenance,
    )


def in_maintenance(craft: Any, now: datetime) -> bool:
    """Whether `now` falls in the spacecraft's maintenance window (its row or ORM object)."""
    starts_at, ends_at = craft.maintenance_starts_at, craft.maintenance_ends_at
    return starts_at is not None and ends_at is not None and starts_at <= now < ends_at


async def get(session: AsyncSession, spacecraft_id: uuid.UUID) -> SpacecraftRead:
    craft = await session.get(Spacecraft, spacecraft_id)
    if craft is None:
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    return to_read(craft)


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
        pattern = f"%{_escape_like(search.strip())}%"
        # Case-insensitive either way. SQLite's LIKE already ignores the case of ASCII letters
        # (and, like its lower(), only theirs), so lower() on every row would only double the
        # cost of a scan (`docs/PERFORMANCE.md`, step 13).
        sqlite = session.get_bind().dialect.name == "sqlite"
        query = query.where(
            or_(
                *(
                    column.like(pattern, escape="\\")
                    if sqlite
                    else column.ilike(pattern, escape="\\")
                    for column in (Spacecraft.name, Spacecraft.cospar_id)
                )
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


# Changes. Each is a plain function of a `Session` (or, marked `on_statements`, of a `Writer`),
# made through the write path as one transaction (`await state.writes.apply(service.create,
# data, actor=...)`): the row and its event commit together or not at all, then the event is
# published.
# Each starts by claiming the next event seq, which makes concurrent changes wait for one
# another, so what a change reads next is the committed state.


def create(session: Session, data: SpacecraftCreate, *, actor: str, rng: random.Random) -> Change:
    seq = events.claim_next_seq(session_writer(session))
    _ensure_cospar_id_free(session, data.cospar_id)
    if data.norad_id is not None:
        ensure_norad_id_free(session, data.norad_id)
    craft, details = _register(session, data, actor=actor, rng=rng, now=utcnow())
    session.add(craft)
    return record(session, seq, EventType.CREATED, craft, actor, **details)


def create_many(
    session: Session, batch: Sequence[SpacecraftCreate], *, actor: str, rng: random.Random
) -> list[Change]:
    """`create` for many at once (an import): each its own event, the rules checked for the
    whole batch in one query each, the rows written in one flush."""
    cospar_ids = [data.cospar_id for data in batch]
    norad_ids = [data.norad_id for data in batch if data.norad_id is not None]
    if len(set(cospar_ids)) != len(cospar_ids) or len(set(norad_ids)) != len(norad_ids):
        raise Conflict("a batch of new spacecraft repeats a COSPAR or NORAD ID")
    taken = session.execute(
        select(Spacecraft.name, Spacecraft.cospar_id, Spacecraft.norad_id).where(
            or_(Spacecraft.cospar_id.in_(cospar_ids), Spacecraft.norad_id.in_(norad_ids))
        )
    ).first()
    if taken is not None:
        raise Conflict(f"{taken.name} ({taken.cospar_id}) is already registered")
    changes = []
    now = utcnow()
    for data in batch:
        seq = events.claim_next_seq(session_writer(session))
        craft, details = _register(session, data, actor=actor, rng=rng, now=now)
        session.add(craft)
        changes.append(
            _record_row(session_writer(session), seq, EventType.CREATED, craft, actor, **details)
        )
    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict("that change conflicts with the fleet as it is now; reload") from error
    return changes


def update(
    session: Session, spacecraft_id: uuid.UUID, data: SpacecraftUpdate, *, actor: str
) -> Change:
    seq = events.claim_next_seq(session_writer(session))
    craft = load(session, spacecraft_id)
    if data.version is not None and data.version != craft.version:
        raise Conflict(
            f"{craft.name} was changed by someone else (you edited version {data.version}, "
            f"it is now at version {craft.version}); reload and try again"
        )
    changes: dict[str, list[Any]] = {}
    if data.cospar_id is not None and data.cospar_id != craft.cospar_id:
        _ensure_cospar_id_free(session, data.cospar_id)
        changes["cospar_id"] = [craft.cospar_id, data.cospar_id]
        craft.cospar_id = data.cospar_id
    if data.norad_id is not None and data.norad_id != craft.norad_id:
        ensure_norad_id_free(session, data.norad_id)
        changes["norad_id"] = [craft.norad_id, data.norad_id]
        craft.norad_id = data.norad_id
    if data.name is not None and data.name != craft.name:
        changes["name"] = [craft.name, data.name]
        craft.name = data.name
    touch(craft)
    return record(session, seq, EventType.UPDATED, craft, actor, changes=changes)


@in_one_statement
def malfunction(
    run: Writer,
    spacecraft_id: uuid.UUID,
    request: MalfunctionRequest,
    *,
    actor: str,
    rng: random.Random,
) -> Change:
    seq = events.claim_next_seq(run)
    craft = _row(run, spacecraft_id)
    if craft.status == Status.MALFUNCTIONING:
        raise Conflict(f"{craft.name} is already malfunctioning; repair it first")
    template = faults.pick(rng, request.subsystem)
    fault = faults.FaultTemplate(
        subsystem=template.subsystem,
        severity=request.severity or template.severity,
        description=request.description or template.description,
    )
    return _malfunction(run, seq, craft, fault, actor)


def malfunction_random(
    session: Session, *, actor: str, rng: random.Random, fence: Fence | None = None
) -> Change | None:
    """Break one random nominal spacecraft, if there is one and `fence` still allows it."""
    run = session_writer(session)
    seq = events.claim_next_seq(run)
    craft_id = None
    # One moment for the choice and the break: a window that opens in between must not make
    # the simulator's malfunction a planned one inside it.
    now = utcnow()
    if fence is None or fence(session):
        in_window = and_(
            Spacecraft.maintenance_starts_at <= now, Spacecraft.maintenance_ends_at > now
        )
        craft_id = session.scalar(
            select(Spacecraft.id)
            .where(
                Spacecraft.status == Status.NOMINAL,
                or_(Spacecraft.maintenance_ends_at.is_(None), not_(in_window)),
            )
            .order_by(func.random())
            .limit(1)
        )
    if craft_id is None:
        session.rollback()  # hands the seq back: nothing happened
        return None
    return _malfunction(run, seq, _row(run, craft_id), faults.pick(rng), actor, now=now)


@in_one_statement
def repair(
    run: Writer, spacecraft_id: uuid.UUID, *, actor: str, resolution: str | None = None
) -> Change:
    """Fix it, and resolve its open anomaly (with what was done, if said) in the same go."""
    seq = events.claim_next_seq(run)
    craft = _row(run, spacecraft_id)
    if craft.status != Status.MALFUNCTIONING:
        raise Conflict(f"{craft.name} is nominal; there is nothing to repair")
    fault = to_read(craft).fault
    now = utcnow()
    anomaly = None
    if craft.anomaly_id is not None:
        anomaly = lifecycle.resolve(
            run, craft.anomaly_id, actor=actor, now=now, resolution=resolution
        )
    repaired = _set(
        run,
        craft,
        now=now,
        status=Status.NOMINAL,
        fault_subsystem=None,
        fault_severity=None,
        fault_description=None,
        fault_since=None,
        anomaly_id=None,
        anomaly_state=None,
        anomaly_acknowledged_by=None,
    )
    return _record_row(
        run,
        seq,
        EventType.REPAIRED,
        repaired,
        actor,
        fault=fault.model_dump(mode="json") if fault else None,
        anomaly_id=str(anomaly.id) if anomaly else None,
        anomaly=anomaly.model_dump(mode="json") if anomaly else None,
    )


DELETED_RESOLUTION = "The spacecraft was deleted from the fleet"


def delete(session: Session, spacecraft_id: uuid.UUID, *, actor: str) -> Change:
    """Remove it; its open anomaly is resolved, and every anomaly kept for the history."""
    seq = events.claim_next_seq(session_writer(session))
    craft = load(session, spacecraft_id)
    details: dict[str, Any] = {}
    if craft.anomaly_id is not None:
        anomaly = session.get(Anomaly, craft.anomaly_id)
        if anomaly is not None and anomaly.resolved_at is None:
            anomaly.state = AnomalyState.RESOLVED
            anomaly.resolved_at = utcnow()
            anomaly.resolved_by = actor
            anomaly.resolution = DELETED_RESOLUTION
            details["anomaly_id"] = str(anomaly.id)
            details["anomaly"] = AnomalyRead.model_validate(anomaly).model_dump(mode="json")
    session.delete(craft)
    return record(session, seq, EventType.DELETED, craft, actor, **details)


def load(session: Session, spacecraft_id: uuid.UUID) -> Spacecraft:
    """The spacecraft to change, in a change's session (NotFound when there is none)."""
    craft = session.get(Spacecraft, spacecraft_id)
    if craft is None:
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    return craft


def _ensure_cospar_id_free(session: Session, cospar_id: str) -> None:
    holder = session.scalar(select(Spacecraft.name).where(Spacecraft.cospar_id == cospar_id))
    if holder is not None:
        raise Conflict(f"COSPAR ID {cospar_id} is already registered to {holder}")


def ensure_norad_id_free(session: Session, norad_id: int) -> None:
    holder = session.scalar(select(Spacecraft.name).where(Spacecraft.norad_id == norad_id))
    if holder is not None:
        raise Conflict(f"NORAD ID {norad_id} is already registered to {holder}")


def _register(
    session: Session, data: SpacecraftCreate, *, actor: str, rng: random.Random, now: datetime
) -> tuple[Spacecraft, dict[str, Any]]:
    """A new spacecraft as `data` has it (one registered malfunctioning has its anomaly open),
    and what its event carries besides the spacecraft."""
    craft = Spacecraft(
        id=uuid.uuid4(),
        name=data.name,
        cospar_id=data.cospar_id,
        norad_id=data.norad_id,
        status=Status.NOMINAL,
        created_at=now,
        updated_at=now,
        version=1,
    )
    if data.status is not Status.MALFUNCTIONING:
        return craft, {}
    fault = faults.pick(rng)
    _break(craft, fault, now)
    anomaly = lifecycle.open_anomaly(
        session_writer(session), uuid.uuid4(), craft.id, fault, actor=actor, now=now, planned=False
    )
    _show_anomaly(craft, anomaly.id, anomaly.state, None)
    return craft, {"anomaly_id": str(anomaly.id), "anomaly": anomaly.model_dump(mode="json")}


def _break(craft: Spacecraft, fault: faults.FaultTemplate, now: Any) -> None:
    craft.status = Status.MALFUNCTIONING
    craft.fault_subsystem = fault.subsystem
    craft.fault_severity = fault.severity
    craft.fault_description = fault.description
    craft.fault_since = now


def _show_anomaly(
    craft: Spacecraft, anomaly_id: uuid.UUID | None, state: str | None, acknowledged_by: str | None
) -> None:
    craft.anomaly_id = anomaly_id
    craft.anomaly_state = state
    craft.anomaly_acknowledged_by = acknowledged_by


def _malfunction(
    run: Writer,
    seq: int,
    craft: Any,
    fault: faults.FaultTemplate,
    actor: str,
    *,
    now: datetime | None = None,
) -> Change:
    """Break it and open its anomaly: planned when it happens in a maintenance window."""
    now = now or utcnow()
    planned = in_maintenance(craft, now)
    anomaly_id = uuid.uuid4()
    broken = _set(
        run,
        craft,
        now=now,
        status=Status.MALFUNCTIONING,
        fault_subsystem=fault.subsystem,
        fault_severity=fault.severity,
        fault_description=fault.description,
        fault_since=now,
        anomaly_id=anomaly_id,
        anomaly_state=AnomalyState.OPEN,
        anomaly_acknowledged_by=None,
    )
    anomaly = lifecycle.open_anomaly(
        run, anomaly_id, craft.id, fault, actor=actor, now=now, planned=planned
    )
    read = to_read(broken)
    assert read.fault is not None
    return _record_row(
        run,
        seq,
        EventType.MALFUNCTIONED,
        broken,
        actor,
        fault=read.fault.model_dump(mode="json"),
        anomaly_id=str(anomaly_id),
        anomaly=anomaly.model_dump(mode="json"),
        planned=planned,
    )


def show_anomaly(run: Writer, anomaly: AnomalyRead) -> Any:
    """The spacecraft's row shows its open anomaly's new state (touched: new version and time,
    when that changes what it shows); returns the row as it is now, or None if it is gone."""
    rows = run(_ROW, {"craft_id": anomaly.spacecraft_id})
    if not rows or rows[0].anomaly_id != anomaly.id:
        return rows[0] if rows else None
    craft = rows[0]
    if (craft.anomaly_state, craft.anomaly_acknowledged_by) == (
        anomaly.state,
        anomaly.acknowledged_by,
    ):
        return craft
    values = {
        "craft_id": craft.id,
        "anomaly_state": anomaly.state,
        "anomaly_acknowledged_by": anomaly.acknowledged_by,
        "updated_at": utcnow(),
        "version": craft.version + 1,
    }
    run(_SHOW_ANOMALY, values, expected=craft)
    return rewritten(craft, values)


def _row(run: Writer, spacecraft_id: uuid.UUID) -> Any:
    rows = run(_ROW, {"craft_id": spacecraft_id})
    if not rows:
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    return rows[0]


def _set(run: Writer, craft: Any, now: datetime | None = None, **values: Any) -> Any:
    """Write `values` to the spacecraft (touched: new version and time); returns the new row."""
    values.update(craft_id=craft.id, updated_at=now or utcnow(), version=craft.version + 1)
    run(_SET, values, expected=craft)
    return rewritten(craft, values)


def touch(craft: Spacecraft) -> None:
    craft.updated_at = utcnow()
    craft.version += 1


def record(
    session: Session, seq: int, type: EventType, craft: Spacecraft, actor: str, **details: Any
) -> Change:
    """The change's event, and the ORM's changes written out (so a constraint fails here)."""
    change = _record_row(session_writer(session), seq, type, craft, actor, **details)
    try:
        session.flush()
    except IntegrityError as error:
        # Our own checks run under the log lock, so this is a guard, not the rule.
        raise Conflict("that change conflicts with the fleet as it is now; reload") from error
    return change


def _record_row(
    run: Writer, seq: int, type: EventType, craft: Any, actor: str, **details: Any
) -> Change:
    """The change's event, for a spacecraft as written (`craft`: its row or ORM object)."""
    snapshot = to_read(craft)
    data = {"spacecraft": snapshot.model_dump(mode="json"), **details}
    return Change(snapshot, events.record(run, seq, type, craft.id, actor, data))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
