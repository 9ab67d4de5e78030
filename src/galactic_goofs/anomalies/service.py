"""Every rule about anomalies: reads (async sessions) and transitions (functions of a Session).

An anomaly opens with a malfunction and resolves with the repair, inside those changes
(`anomalies.lifecycle`, called by `fleet.service`). What operators do in between is here, each
transition one transaction with its event, made through the write path like every change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.anomalies import lifecycle
from galactic_goofs.anomalies.models import Anomaly, AnomalyNote, AnomalyState
from galactic_goofs.anomalies.schemas import (
    AcknowledgeRequest,
    AnomalyDetail,
    AnomalyPage,
    AnomalyRead,
    AssignRequest,
    NoteCreate,
    NoteRead,
    ShelveRequest,
)
from galactic_goofs.auth.models import Operator
from galactic_goofs.auth.service import InvalidOperator
from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict, NotFound
from galactic_goofs.events import service as events
from galactic_goofs.events.one_statement import in_one_statement
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.faults import Severity
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.precompiled import Writer, session_writer

MAX_PAGE = 500
TRIAGE_SIZE = 100
"""Open anomalies the triage queue shows; a fleet with more has bigger problems."""

SEVERITY_RANK = case(
    {Severity.CRITICAL.value: 0, Severity.MAJOR.value: 1, Severity.MINOR.value: 2},
    value=Anomaly.severity,
    else_=3,
)

Fence = Callable[[Session], bool]


@dataclass(frozen=True, slots=True)
class AnomalyChange:
    """An anomaly as one transition left it, and that transition's event."""

    anomaly: AnomalyRead
    event: EventRead
    note: NoteRead | None = None

    @property
    def events(self) -> tuple[EventRead, ...]:
        return (self.event,)


async def get(session: AsyncSession, anomaly_id: uuid.UUID) -> AnomalyDetail:
    anomaly = await session.get(Anomaly, anomaly_id)
    if anomaly is None:
        raise NotFound(f"no anomaly with id {anomaly_id}")
    notes = await session.scalars(
        select(AnomalyNote).where(AnomalyNote.anomaly_id == anomaly_id).order_by(AnomalyNote.id)
    )
    return AnomalyDetail.model_validate(
        {
            **AnomalyRead.model_validate(anomaly).model_dump(),
            "notes": [NoteRead.model_validate(note) for note in notes],
        }
    )


async def list_anomalies(
    session: AsyncSession,
    *,
    state: AnomalyState | None = None,
    spacecraft_id: uuid.UUID | None = None,
    severity: Severity | None = None,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AnomalyPage:
    """Newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Anomaly)
    if state is not None:
        query = query.where(Anomaly.state == state)
    if spacecraft_id is not None:
        query = query.where(Anomaly.spacecraft_id == spacecraft_id)
    if severity is not None:
        query = query.where(Anomaly.severity == severity)
    if assignee is not None:
        query = query.where(Anomaly.assignee == assignee)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Anomaly.opened_at.desc(), Anomaly.id.desc()).limit(limit).offset(offset)
    )
    return AnomalyPage(
        items=[AnomalyRead.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@dataclass(frozen=True, slots=True)
class TriageItem:
    anomaly: AnomalyRead
    spacecraft_name: str


async def triage(
    session: AsyncSession, limit: int = TRIAGE_SIZE, spacecraft_id: uuid.UUID | None = None
) -> list[TriageItem]:
    """The unresolved ones as a person works them: most severe first, then longest waiting;
    shelved ones last."""
    query = (
        select(Anomaly, Spacecraft.name)
        .join(Spacecraft, Spacecraft.id == Anomaly.spacecraft_id)
        .where(Anomaly.resolved_at.is_(None))
    )
    if spacecraft_id is not None:
        query = query.where(Anomaly.spacecraft_id == spacecraft_id)
    rows = await session.execute(
        query.order_by(
            (Anomaly.state == AnomalyState.SHELVED).asc(),
            SEVERITY_RANK,
            Anomaly.opened_at,
            Anomaly.id,
        ).limit(limit)
    )
    return [TriageItem(AnomalyRead.model_validate(row), name) for row, name in rows]


async def notes(session: AsyncSession, anomaly_id: uuid.UUID) -> list[NoteRead]:
    rows = await session.scalars(
        select(AnomalyNote).where(AnomalyNote.anomaly_id == anomaly_id).order_by(AnomalyNote.id)
    )
    return [NoteRead.model_validate(note) for note in rows]


@in_one_statement
def acknowledge(
    run: Writer, anomaly_id: uuid.UUID, request: AcknowledgeRequest, *, actor: str
) -> AnomalyChange:
    """Someone is on it. Once only: the first operator to say so is the one recorded. As hot as
    a malfunction (everybody acknowledges every one), so on precompiled statements too."""
    seq = events.claim_next_seq(run)
    anomaly = lifecycle.row(run, anomaly_id)
    _ensure_unresolved(anomaly, "acknowledged")
    if anomaly.acknowledged_at is not None:
        raise Conflict(
            f"this anomaly was already acknowledged by {anomaly.acknowledged_by} at "
            f"{anomaly.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    read = lifecycle.acknowledge(run, anomaly, actor=actor, now=utcnow(), comment=request.comment)
    data = _data(read, fleet.show_anomaly(run, read))
    event = events.record(run, seq, EventType.ACKNOWLEDGED, read.spacecraft_id, actor, data)
    return AnomalyChange(read, event)


def assign(
    session: Session, anomaly_id: uuid.UUID, request: AssignRequest, *, actor: str
) -> AnomalyChange:
    seq, anomaly = _claim(session, anomaly_id)
    _ensure_unresolved(anomaly, "assigned")
    if request.assignee is not None:
        enabled = session.scalar(select(Operator.enabled).where(Operator.name == request.assignee))
        if enabled is None:
            raise InvalidOperator(
                f"there is no operator called {request.assignee!r}; assign to an operator's "
                "name, or null for nobody"
            )
        if not enabled:
            raise InvalidOperator(
                f"operator {request.assignee!r} is disabled; assign to an enabled operator, "
                "or null for nobody"
            )
    previous = anomaly.assignee
    anomaly.assignee = request.assignee
    return _record(session, seq, EventType.ASSIGNED, anomaly, actor, previous_assignee=previous)


def add_note(
    session: Session, anomaly_id: uuid.UUID, request: NoteCreate, *, actor: str
) -> AnomalyChange:
    """Append-only, and allowed after the resolution too (what was learnt afterwards)."""
    seq, anomaly = _claim(session, anomaly_id)
    note = AnomalyNote(anomaly_id=anomaly.id, author=actor, text=request.text, created_at=utcnow())
    session.add(note)
    session.flush()
    read = NoteRead.model_validate(note)
    change = _record(
        session, seq, EventType.NOTED, anomaly, actor, note=read.model_dump(mode="json")
    )
    return AnomalyChange(change.anomaly, change.event, read)


def shelve(
    session: Session, anomaly_id: uuid.UUID, request: ShelveRequest, *, actor: str
) -> AnomalyChange:
    """A known issue tolerated for a while: quiet and last in the queue until then. Shelving a
    shelved anomaly again sets a new time and reason."""
    seq, anomaly = _claim(session, anomaly_id)
    _ensure_unresolved(anomaly, "shelved")
    anomaly.state = AnomalyState.SHELVED
    anomaly.shelved_until = utcnow() + timedelta(minutes=request.minutes)
    anomaly.shelve_reason = request.reason
    return _record(session, seq, EventType.SHELVED, anomaly, actor)


def unshelve(session: Session, anomaly_id: uuid.UUID, *, actor: str) -> AnomalyChange:
    seq, anomaly = _claim(session, anomaly_id)
    _ensure_unresolved(anomaly, "unshelved")
    if anomaly.state != AnomalyState.SHELVED:
        raise Conflict(f"this anomaly is {anomaly.state}, not shelved; there is nothing to undo")
    return _unshelve(session, seq, anomaly, actor)


def unshelve_due(
    session: Session, *, actor: str, fence: Fence | None = None
) -> AnomalyChange | None:
    """Unshelve one anomaly whose shelf time is up, if any (and `fence` still allows it)."""
    seq = events.claim_next_seq(session_writer(session))
    anomaly = None
    if fence is None or fence(session):
        anomaly = session.scalar(
            select(Anomaly)
            .where(Anomaly.state == AnomalyState.SHELVED, Anomaly.shelved_until <= utcnow())
            .order_by(Anomaly.shelved_until)
            .limit(1)
        )
    if anomaly is None:
        session.rollback()  # hands the seq back: nothing happened
        return None
    return _unshelve(session, seq, anomaly, actor, expired=True)


def _unshelve(
    session: Session, seq: int, anomaly: Anomaly, actor: str, *, expired: bool = False
) -> AnomalyChange:
    anomaly.state = (
        AnomalyState.ACKNOWLEDGED if anomaly.acknowledged_at is not None else AnomalyState.OPEN
    )
    anomaly.shelved_until = None
    anomaly.shelve_reason = None
    return _record(session, seq, EventType.UNSHELVED, anomaly, actor, expired=expired)


def _claim(session: Session, anomaly_id: uuid.UUID) -> tuple[int, Anomaly]:
    """The next seq (which waits for concurrent changes), then the anomaly as committed."""
    seq = events.claim_next_seq(session_writer(session))
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None:
        raise NotFound(f"no anomaly with id {anomaly_id}")
    return seq, anomaly


def _ensure_unresolved(anomaly: Anomaly, verb: str) -> None:
    if anomaly.resolved_at is not None:
        raise Conflict(
            f"this anomaly was resolved by {anomaly.resolved_by} at "
            f"{anomaly.resolved_at:%Y-%m-%d %H:%M:%S} UTC; it can no longer be {verb}"
        )


def _record(
    session: Session, seq: int, type: EventType, anomaly: Anomaly, actor: str, **details: object
) -> AnomalyChange:
    """The transition's event; the spacecraft's row shows the anomaly's new state."""
    craft = session.get(Spacecraft, anomaly.spacecraft_id)
    if craft is not None and craft.anomaly_id == anomaly.id:
        shown = (craft.anomaly_state, craft.anomaly_acknowledged_by)
        if shown != (anomaly.state, anomaly.acknowledged_by):
            craft.anomaly_state = anomaly.state
            craft.anomaly_acknowledged_by = anomaly.acknowledged_by
            fleet.touch(craft)
    session.flush()
    read = AnomalyRead.model_validate(anomaly)
    event = events.record(
        session_writer(session),
        seq,
        type,
        anomaly.spacecraft_id,
        actor,
        _data(read, craft, **details),
    )
    return AnomalyChange(read, event)


def _data(anomaly: AnomalyRead, craft: Any, **details: object) -> dict[str, Any]:
    """A transition's event data: the anomaly, and the spacecraft as it shows it now."""
    data: dict[str, Any] = {
        "anomaly_id": str(anomaly.id),
        "anomaly": anomaly.model_dump(mode="json"),
        **details,
    }
    if craft is not None:
        data["spacecraft"] = fleet.to_read(craft).model_dump(mode="json")
    return data
