from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel


class Window(StrEnum):
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def length(self) -> timedelta:
        return {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}[
            self.value
        ]


MAX_BUCKETS = 90


class SubsystemFigures(BaseModel):
    subsystem: str
    malfunctions: int
    downtime_seconds: float


class SeverityFigures(BaseModel):
    severity: str
    malfunctions: int
    downtime_seconds: float


class FleetAnalytics(BaseModel):
    window: Window
    availability: float | None
    """None when nothing was observed (no spacecraft, or all in maintenance)."""
    malfunctions: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    mtbf_seconds: float | None
    by_subsystem: list[SubsystemFigures]
    """Most downtime first (a Pareto ordering)."""
    by_severity: list[SeverityFigures]


class Bucket(BaseModel):
    start: datetime
    end: datetime
    availability: float | None


class SpacecraftAvailability(BaseModel):
    availability: float | None
    downtime_seconds: float
    malfunctions: int
    mttr_seconds: float | None
    buckets: list[Bucket]


class SpacecraftRow(BaseModel):
    """One line of the CSV export."""

    spacecraft_id: uuid.UUID
    name: str
    cospar_id: str
    deleted: bool
    availability: float | None
    observed_seconds: float
    downtime_seconds: float
    malfunctions: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    mtbf_seconds: float | None
