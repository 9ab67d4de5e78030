"""JSON API for anomalies. Translates HTTP to service calls and nothing more."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from galactic_goofs.anomalies import service
from galactic_goofs.anomalies.models import AnomalyState
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
from galactic_goofs.deps import Actor, ReadSession, StateDep
from galactic_goofs.fleet.faults import Severity

router = APIRouter(prefix="/api/v1/anomalies", tags=["anomalies"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No anomaly with that id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not possible in the anomaly's state (for one, it is resolved)"}
}
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is missing or out of range; the message says which and why"}
}


@router.get("")
async def list_anomalies(
    session: ReadSession,
    state: AnomalyState | None = None,
    spacecraft_id: uuid.UUID | None = None,
    severity: Severity | None = None,
    assignee: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AnomalyPage:
    """Newest first."""
    return await service.list_anomalies(
        session,
        state=state,
        spacecraft_id=spacecraft_id,
        severity=severity,
        assignee=assignee,
        limit=limit,
        offset=offset,
    )


@router.get("/{anomaly_id}", responses=NOT_FOUND)
async def get_anomaly(anomaly_id: uuid.UUID, session: ReadSession) -> AnomalyDetail:
    """The anomaly with its notes, oldest first."""
    return await service.get(session, anomaly_id)


@router.post("/{anomaly_id}/acknowledge", responses=NOT_FOUND | CONFLICT | UNPROCESSABLE)
async def acknowledge(
    anomaly_id: uuid.UUID,
    state: StateDep,
    actor: Actor,
    request: Annotated[AcknowledgeRequest | None, Body()] = None,
) -> AnomalyRead:
    """Say you are on it: once per anomaly (409 if already acknowledged or resolved)."""
    data = request or AcknowledgeRequest()
    change = await state.writes.apply(service.acknowledge, anomaly_id, data, actor=actor)
    return change.anomaly


@router.post("/{anomaly_id}/assign", responses=NOT_FOUND | CONFLICT | UNPROCESSABLE)
async def assign(
    anomaly_id: uuid.UUID, request: AssignRequest, state: StateDep, actor: Actor
) -> AnomalyRead:
    """To an operator by name, or to nobody (`null`); 422 for a name no operator has."""
    change = await state.writes.apply(service.assign, anomaly_id, request, actor=actor)
    return change.anomaly


@router.post(
    "/{anomaly_id}/notes",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND | UNPROCESSABLE,
)
async def add_note(
    anomaly_id: uuid.UUID, request: NoteCreate, state: StateDep, actor: Actor, response: Response
) -> NoteRead:
    """Append a note (notes are never edited or deleted)."""
    change = await state.writes.apply(service.add_note, anomaly_id, request, actor=actor)
    assert change.note is not None
    response.headers["Location"] = f"{router.prefix}/{anomaly_id}"
    return change.note


@router.post("/{anomaly_id}/shelve", responses=NOT_FOUND | CONFLICT | UNPROCESSABLE)
async def shelve(
    anomaly_id: uuid.UUID, request: ShelveRequest, state: StateDep, actor: Actor
) -> AnomalyRead:
    """Tolerate it for `minutes` (1 to 10080): quiet, and last in the triage queue."""
    change = await state.writes.apply(service.shelve, anomaly_id, request, actor=actor)
    return change.anomaly


@router.post("/{anomaly_id}/unshelve", responses=NOT_FOUND | CONFLICT)
async def unshelve(anomaly_id: uuid.UUID, state: StateDep, actor: Actor) -> AnomalyRead:
    change = await state.writes.apply(service.unshelve, anomaly_id, actor=actor)
    return change.anomaly
