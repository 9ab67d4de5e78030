from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from galactic_goofs import validation
from galactic_goofs.fleet.faults import Severity, Subsystem
from galactic_goofs.fleet.models import Status

Name = Annotated[
    str, validation.Text("name", max_length=50), Field(examples=["Hubble Space Telescope"])
]
Description = Annotated[str, validation.Text("description", max_length=500)]
CosparId = validation.CosparId


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpacecraftCreate(RequestModel):
    name: Name
    cospar_id: CosparId
    status: Status = Status.NOMINAL


class SpacecraftUpdate(RequestModel):
    name: Name | None = None
    cospar_id: CosparId | None = None
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
