from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from galactic_goofs import validation
from galactic_goofs.anomalies.schemas import AnomalySummary
from galactic_goofs.fleet.faults import Severity, Subsystem
from galactic_goofs.fleet.models import Status

Name = Annotated[
    str, validation.Text("name", max_length=50), Field(examples=["Hubble Space Telescope"])
]
Description = Annotated[str, validation.Text("description", max_length=500)]
CosparId = validation.CosparId
Reason = Annotated[str, validation.Text("reason", max_length=1000)]
MAX_NORAD_ID = 339_999
NoradId = Annotated[
    int,
    Field(
        ge=1,
        # The largest number a TLE can carry (Alpha-5, as sgp4 reads it); past it no element
        # set could ever match.
        le=MAX_NORAD_ID,
        examples=[25544],
        description="NORAD catalogue number (what element sets are keyed by)",
    ),
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


class Maintenance(BaseModel):
    starts_at: datetime
    until: datetime
    reason: str
    active: bool
    """Started (its event recorded); false while the window is still ahead."""


class MaintenanceRequest(RequestModel):
    starts_at: datetime | None = Field(
        default=None, description="When it starts (with a time zone); now if left out"
    )
    ends_at: datetime = Field(description="When it ends (with a time zone), in the future")
    reason: Reason

    @model_validator(mode="after")
    def _a_window_ahead(self) -> MaintenanceRequest:
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need a time zone, such as 2030-01-01T12:00:00Z")
        if self.ends_at <= datetime.now(UTC):
            raise ValueError("ends_at is in the past; a maintenance window must end in the future")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


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
    anomaly: AnomalySummary | None = None
    """Its open anomaly, if any."""
    maintenance: Maintenance | None = None
    """Its maintenance window, if one is set (started or ahead)."""


class SpacecraftPage(BaseModel):
    items: list[SpacecraftRead]
    total: int
    limit: int
    offset: int


class FleetSummary(BaseModel):
    total: int
    nominal: int
    malfunctioning: int
