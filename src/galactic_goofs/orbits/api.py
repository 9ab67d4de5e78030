"""JSON API for orbits: element sets in, positions, ground tracks and passes out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import Field, TypeAdapter, ValidationError

from galactic_goofs.db import utcnow
from galactic_goofs.deps import Actor, ReadSession, StateDep
from galactic_goofs.errors import Unprocessable
from galactic_goofs.orbits import changes, elements, service
from galactic_goofs.orbits.elements import OmmElements
from galactic_goofs.orbits.schemas import (
    FleetPositionsRead,
    OrbitRead,
    PassRead,
    PositionRead,
    TleRequest,
    TrackRead,
)

router = APIRouter(prefix="/api/v1", tags=["orbits"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No spacecraft with that id"},
    409: {"description": "The spacecraft has no orbit yet"},
}
OmmList = Annotated[list[OmmElements], Field(min_length=1, max_length=1)]
_YEAR = "(195[7-9]|19[6-9][0-9]|20[0-4][0-9]|205[0-2])"
_LEAP_YEAR = "(196[048]|197[26]|198[048]|199[26]|20[024][048]|20[13][26]|2052)"
_DAY = "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
AT_PATTERN = (
    f"^({_YEAR}-{_DAY}|{_LEAP_YEAR}-02-29)"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?"
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
)
"""An ISO 8601 moment from 1957 to 2052, as the schema shows it: every date it lets through
exists (a leap day only in a leap year), so a client, or a fuzzer, can tell exactly what is
accepted. The space age, within what the bundled ephemeris of the Sun covers (DE421 ends in
October 2053; a day's track or passes from the end of 2052 stay inside it)."""
At = Annotated[
    str | None,
    Query(
        pattern=AT_PATTERN,
        description="ISO 8601 moment, 1957 to 2052 (UTC when no offset is given); default: now",
        examples=["2026-12-03T12:00:00Z"],
    ),
]
_MOMENT = TypeAdapter(datetime)


def _utc(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        moment = _MOMENT.validate_python(at)
    except ValidationError as error:
        # The pattern admits only real moments; this guards against a parser that disagrees.
        raise Unprocessable("must be an ISO 8601 moment", ("query", "at")) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.put(
    "/spacecraft/{spacecraft_id}/orbit",
    responses={
        404: ERRORS[404],
        409: {
            "description": "The elements are for another NORAD ID than the spacecraft's, "
            "or theirs is taken"
        },
        422: {"description": "Elements that do not check out"},
    },
)
async def set_orbit(
    spacecraft_id: uuid.UUID,
    body: Annotated[TleRequest | OmmElements | OmmList, Body()],
    state: StateDep,
    actor: Actor,
    session: ReadSession,
) -> OrbitRead:
    """A TLE (`{"tle": "line1\\nline2"}`) or a CelesTrak OMM JSON object (or CelesTrak's
    list of exactly one)."""
    now = utcnow()
    if isinstance(body, list):
        body = body[0]
    if isinstance(body, TleRequest):
        given = elements.parse_tle(body.tle, now=now, loc=("body", "tle"))
    else:
        given = elements.parse_omm(body, now=now)
    await state.writes.apply(changes.set_orbit, spacecraft_id, given, actor=actor)
    return await service.get_orbit(session, spacecraft_id)


@router.get("/spacecraft/{spacecraft_id}/orbit", responses=ERRORS)
async def get_orbit(spacecraft_id: uuid.UUID, session: ReadSession) -> OrbitRead:
    return await service.get_orbit(session, spacecraft_id)


@router.get("/spacecraft/{spacecraft_id}/position", responses=ERRORS)
async def position(spacecraft_id: uuid.UUID, session: ReadSession, at: At = None) -> PositionRead:
    return await service.position(session, spacecraft_id, _utc(at))


@router.get("/spacecraft/{spacecraft_id}/track", responses=ERRORS)
async def track(
    spacecraft_id: uuid.UUID,
    session: ReadSession,
    at: At = None,
    minutes: Annotated[
        float | None,
        Query(
            gt=0,
            le=service.MAX_TRACK_MINUTES,
            description="Back and ahead of `at`; default one orbit",
        ),
    ] = None,
    step: Annotated[
        int, Query(ge=service.MIN_TRACK_STEP, le=3600, description="Seconds between points")
    ] = 60,
) -> TrackRead:
    return await service.track(
        session, spacecraft_id, at=_utc(at), minutes=minutes, step_seconds=step
    )


@router.get("/spacecraft/{spacecraft_id}/passes", responses=ERRORS)
async def passes(
    spacecraft_id: uuid.UUID,
    session: ReadSession,
    state: StateDep,
    at: At = None,
    hours: Annotated[float, Query(ge=0.1, le=service.MAX_PASS_HOURS)] = 24,
) -> list[PassRead]:
    """Every complete pass over each ground station (`GOOFS_GROUND_STATIONS`), by rise."""
    stations = state.settings.stations
    return await service.passes(session, spacecraft_id, stations, start=_utc(at), hours=hours)


@router.get("/positions", response_model=FleetPositionsRead)
async def fleet_positions(session: ReadSession, state: StateDep, at: At = None) -> Response:
    """Where every spacecraft with an orbit is, at one moment."""
    positions = await service.fleet_positions(session, state.orbits, _utc(at))
    # Written as it is: FastAPI would turn the model back into dicts and validate them again,
    # which for ten thousand spacecraft costs more than finding where they are.
    return Response(positions.model_dump_json(), media_type="application/json")
