from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from galactic_goofs import validation
from galactic_goofs.anomalies.models import AnomalyState
from galactic_goofs.fleet.faults import Severity, Subsystem

NOTE_MAX = 4000
TEXT_MAX = 1000
MAX_SHELVE_MINUTES = 7 * 24 * 60

Comment = Annotated[str, validation.Text("comment", max_length=TEXT_MAX)]
# Prose that may run to several lines: a shelve's reason, what a repair did, a note.
Reason = Annotated[str, validation.MultilineText("reason", max_length=TEXT_MAX)]
Resolution = Annotated[str, validation.MultilineText("resolution", max_length=TEXT_MAX)]
NoteText = Annotated[
    str,
    validation.MultilineText("text", max_length=NOTE_MAX),
    Field(description=f"The note, up to {NOTE_MAX} characters; it may hold line breaks"),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcknowledgeRequest(RequestModel):
    comment: Comment | None = Field(default=None, examples=["On it: rebooting the transponder"])


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
    reason: Reason


class RepairRequest(RequestModel):
    resolution: Resolution | None = Field(
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
