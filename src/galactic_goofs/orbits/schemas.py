from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from galactic_goofs.orbits.models import Source

MAX_TLE_TEXT = 300


class TleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tle: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TLE_TEXT)] = Field(
        description="Two TLE lines (optionally after a name line), separated by a newline",
        examples=[
            "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
            "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
        ],
    )


class OrbitRead(BaseModel):
    spacecraft_id: uuid.UUID
    source: Source
    norad_id: int
    epoch: datetime
    stale: bool
    """The epoch is more than 14 days old: predictions from it drift by many kilometres."""
    updated_at: datetime
    elements: str
    """The element set as given: two TLE lines, or the OMM's JSON."""


class PositionRead(BaseModel):
    at: datetime
    latitude: float
    longitude: float
    altitude_km: float
    speed_km_s: float
    sunlit: bool


class TrackPointRead(BaseModel):
    at: datetime
    latitude: float
    longitude: float
    altitude_km: float


class TrackRead(BaseModel):
    start: datetime
    end: datetime
    step_seconds: int
    points: list[TrackPointRead]


class PassRead(BaseModel):
    station: str
    rise: datetime
    culminate: datetime
    set: datetime
    max_elevation: float


class FleetPositionRead(BaseModel):
    id: uuid.UUID
    name: str
    cospar_id: str
    status: str
    latitude: float
    longitude: float
    altitude_km: float


class FleetPositionsRead(BaseModel):
    at: datetime
    items: list[FleetPositionRead]


class ContactRead(BaseModel):
    """A station's current or next contact with a spacecraft."""

    station: str
    rise: datetime | None
    """None: in view since before the search began."""
    set: datetime | None
    """None: still in view at the end of the search (a geostationary spacecraft, say)."""
    max_elevation: float
    now: bool
    """In contact at the moment asked about: a fix can be uplinked right away."""
