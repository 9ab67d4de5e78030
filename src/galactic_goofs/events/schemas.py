from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventType(StrEnum):
    CREATED = "spacecraft.created"
    UPDATED = "spacecraft.updated"
    MALFUNCTIONED = "spacecraft.malfunctioned"
    REPAIRED = "spacecraft.repaired"
    DELETED = "spacecraft.deleted"
    ORBIT_UPDATED = "spacecraft.orbit_updated"
    MAINTENANCE_STARTED = "spacecraft.maintenance_started"
    MAINTENANCE_ENDED = "spacecraft.maintenance_ended"
    ACKNOWLEDGED = "anomaly.acknowledged"
    ASSIGNED = "anomaly.assigned"
    NOTED = "anomaly.noted"
    SHELVED = "anomaly.shelved"
    UNSHELVED = "anomaly.unshelved"


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    seq: int
    type: EventType
    spacecraft_id: uuid.UUID
    actor: str
    occurred_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventRead]
    last_seq: int
    """The newest seq in the log when this page was read; resume a stream from here."""
