from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from galactic_goofs.fleet.faults import Severity, Subsystem
from galactic_goofs.fleet.models import Status

COSPAR_PATTERN = re.compile(r"(?P<year>\d{4})-(?P<launch>\d{3})(?P<piece>[A-HJ-NP-Z]{1,3})")
FIRST_LAUNCH_YEAR = 1957  # Sputnik 1 is 1957-001B; its rocket body 1957-001A.


def _valid_name(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("name must not contain control characters (tabs, newlines, NUL, ...)")
    return value


def _valid_cospar_id(value: str) -> str:
    match = COSPAR_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(
            "COSPAR ID must look like 1998-067A: launch year, a dash, a three-digit launch "
            "number and one to three piece letters (A-Z, without I and O)"
        )
    if int(match["year"]) < FIRST_LAUNCH_YEAR:
        raise ValueError(f"COSPAR ID launch year must be {FIRST_LAUNCH_YEAR} or later")
    if match["launch"] == "000":
        raise ValueError("COSPAR ID launch number must be between 001 and 999")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_valid_name),
    Field(examples=["Hubble Space Telescope"]),
]
CosparId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, max_length=20),
    AfterValidator(_valid_cospar_id),
    Field(
        examples=["1990-037B"],
        description="International designator YYYY-NNNP[PP]",
        # Documented so clients (and fuzzers) can generate valid ones; checked by the validator.
        json_schema_extra={"pattern": r"^(19[5-9]\d|2\d{3})-\d{3}[A-HJ-NP-Z]{1,3}$"},
    ),
]
NoradId = Annotated[
    int,
    Field(
        ge=1,
        le=999_999_999,
        examples=[25544],
        description="NORAD catalogue number (what element sets are keyed by)",
    ),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_valid_name),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpacecraftCreate(RequestModel):
    name: Name
    cospar_id: CosparId
    status: Status = Status.NOMINAL
    norad_id: NoradId | None = None


class SpacecraftUpdate(RequestModel):
    name: Name | None = None
    cospar_id: CosparId | None = None
    norad_id: NoradId | None = None
    version: int | None = Field(
        default=None, ge=1, description="The version you edited; a stale one is a 409."
    )


class MalfunctionRequest(RequestModel):
    subsystem: Subsystem | None = None
    severity: Severity | None = None
    description: Description | None = None


class Fault(BaseModel):
    subsystem: Subsystem
    severity: Severity
    description: str
    since: datetime


class SpacecraftRead(BaseModel):
    id: uuid.UUID
    name: str
    cospar_id: str
    norad_id: int | None = None
    status: Status
    fault: Fault | None
    created_at: datetime
    updated_at: datetime
    version: int


class SpacecraftPage(BaseModel):
    items: list[SpacecraftRead]
    total: int
    limit: int
    offset: int


class FleetSummary(BaseModel):
    total: int
    nominal: int
    malfunctioning: int
