"""JSON API for the fleet. Translates HTTP to service calls and nothing more."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from galactic_goofs import validation
from galactic_goofs.anomalies.schemas import RepairRequest
from galactic_goofs.deps import Actor, ReadSession, StateDep
from galactic_goofs.fleet import maintenance, service
from galactic_goofs.fleet.models import Status
from galactic_goofs.fleet.schemas import (
    FleetSummary,
    MaintenanceRequest,
    MalfunctionRequest,
    SpacecraftCreate,
    SpacecraftPage,
    SpacecraftRead,
    SpacecraftUpdate,
)

router = APIRouter(prefix="/api/v1/spacecraft", tags=["spacecraft"])

ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No spacecraft with that id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The change conflicts with the fleet's current state"}
}


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_spacecraft(
    data: SpacecraftCreate, state: StateDep, actor: Actor, response: Response
) -> SpacecraftRead:
    change = await state.writes.apply(service.create, data, actor=actor, rng=state.rng)
    response.headers["Location"] = f"{router.prefix}/{change.spacecraft.id}"
    return change.spacecraft


@router.get("")
async def list_spacecraft(
    session: ReadSession,
    status: Status | None = None,
    q: Annotated[
        str | None,
        # PostgreSQL cannot even compare text holding NUL; no name holds a control character.
        Query(
            max_length=100,
            pattern=validation.NO_CONTROL_CHARACTERS,
            description="Part of a name or COSPAR ID (no control characters)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SpacecraftPage:
    return await service.list_spacecraft(
        session, status=status, search=q, limit=limit, offset=offset
    )


@router.get("/summary")
async def fleet_summary(session: ReadSession) -> FleetSummary:
    return await service.summary(session)


@router.get("/{spacecraft_id}", responses=ERRORS)
async def get_spacecraft(spacecraft_id: uuid.UUID, session: ReadSession) -> SpacecraftRead:
    return await service.get(session, spacecraft_id)


@router.patch("/{spacecraft_id}", responses=ERRORS | CONFLICT)
async def update_spacecraft(
    spacecraft_id: uuid.UUID,
    data: SpacecraftUpdate,
    state: StateDep,
    actor: Actor,
) -> SpacecraftRead:
    change = await state.writes.apply(service.update, spacecraft_id, data, actor=actor)
    return change.spacecraft


@router.delete("/{spacecraft_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_spacecraft(spacecraft_id: uuid.UUID, state: StateDep, actor: Actor) -> None:
    await state.writes.apply(service.delete, spacecraft_id, actor=actor)


UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is missing or out of range; the message says which and why"}
}


@router.post("/{spacecraft_id}/repair", responses=ERRORS | CONFLICT | UNPROCESSABLE)
async def repair_spacecraft(
    spacecraft_id: uuid.UUID,
    state: StateDep,
    actor: Actor,
    request: Annotated[RepairRequest | None, Body()] = None,
) -> SpacecraftRead:
    """Fix it and resolve its open anomaly, optionally saying what was done (`resolution`)."""
    resolution = request.resolution if request else None
    change = await state.writes.apply(
        service.repair, spacecraft_id, actor=actor, resolution=resolution
    )
    return change.spacecraft


@router.put("/{spacecraft_id}/maintenance", responses=ERRORS | UNPROCESSABLE)
async def set_maintenance(
    spacecraft_id: uuid.UUID, window: MaintenanceRequest, state: StateDep, actor: Actor
) -> SpacecraftRead:
    """In maintenance from now (or `starts_at`) until `ends_at`; replaces any window it had."""
    change = await state.writes.apply(maintenance.set_window, spacecraft_id, window, actor=actor)
    return change.spacecraft


@router.delete("/{spacecraft_id}/maintenance", responses=ERRORS | CONFLICT)
async def end_maintenance(
    spacecraft_id: uuid.UUID, state: StateDep, actor: Actor
) -> SpacecraftRead:
    """End its maintenance now (or call off one still ahead); 409 when it has none."""
    change = await state.writes.apply(maintenance.end_window, spacecraft_id, actor=actor)
    return change.spacecraft


@router.post("/{spacecraft_id}/malfunction", responses=ERRORS | CONFLICT)
async def malfunction_spacecraft(
    spacecraft_id: uuid.UUID,
    state: StateDep,
    actor: Actor,
    request: Annotated[MalfunctionRequest | None, Body()] = None,
) -> SpacecraftRead:
    change = await state.writes.apply(
        service.malfunction,
        spacecraft_id,
        request or MalfunctionRequest(),
        actor=actor,
        rng=state.rng,
    )
    return change.spacecraft
