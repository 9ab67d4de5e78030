from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from galactic_goofs.anomalies.models import AnomalyState
from galactic_goofs.fleet.faults import Severity, Subsystem

NOTE_MAX = 4000
TEXT_MAX = 1000
MAX_SHELVE_MINUTES = 7 * 24 * 60
LINE_BREAKS = {"\n", "\r", "\t"}


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in LINE_BREAKS for ch in value):
        raise ValueError("text must not contain control characters (other than line breaks)")
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX),
    AfterValidator(_printable),
]
NoteText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_MAX),
    AfterValidator(_printable),
    Field(description=f"The note, up to {NOTE_MAX} characters"),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcknowledgeRequest(RequestModel):
    comment: ShortText | None = Field(default=None, examples=["On it: rebooting the transponder"])


class AssignRequest(RequestModel):
    assignee: str | None = Field(
        max_length=50, description="An operator's name, or null for nobody", examples=["ada"]
    )


class NoteCreate(RequestModel):
    text: NoteText


class ShelveRequest(RequestModel):
    minutes: int = Field(
        ge=1, le=MAX_SHELVE_MINUTES, description="How long, 1 minute to 7 days (10080)"
    )
    reason: ShortText


class RepairRequest(RequestModel):
    resolution: ShortText | None = Field(
        default=None, examples=["Turned it off and on again"], description="What was done"
    )


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    anomaly_id: uuid.UUID
    author: str
    text: str
    created_at: datetime


class AnomalyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    spacecraft_id: uuid.UUID
    subsystem: Subsystem
    severity: Severity
    description: str
    state: AnomalyState
    planned: bool
    """Opened during a maintenance window."""
    opened_at: datetime
    opened_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_comment: str | None
    assignee: str | None
    shelved_until: datetime | None
    shelve_reason: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class AnomalyDetail(AnomalyRead):
    notes: list[NoteRead]
    """Oldest first."""


class AnomalyPage(BaseModel):
    items: list[AnomalyRead]
    total: int
    limit: int
    offset: int


class AnomalySummary(BaseModel):
    """What a spacecraft shows of its open anomaly."""

    id: uuid.UUID
    state: AnomalyState
    acknowledged_by: str | None
