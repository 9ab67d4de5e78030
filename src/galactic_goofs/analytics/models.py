from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.anomalies.models import Anomaly
from galactic_goofs.db import Base


class EventTally(Base):
    """How many events of one type the log recorded on one UTC day (`analytics.tallies`)."""

    __tablename__ = "event_tallies"

    day: Mapped[date] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class DeletedSpacecraft(Base):
    """The lifetime of a spacecraft that was deleted (`analytics.intervals`).

    A living spacecraft's lifetime is its own row's `created_at` until now; this keeps the ones
    whose row is gone, so their anomalies are still measured against the time they existed.
    """

    __tablename__ = "deleted_spacecraft"
    __table_args__ = (Index("ix_deleted_spacecraft_deleted_at", "deleted_at"),)

    spacecraft_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    cospar_id: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime]


class MaintenancePeriod(Base):
    """A maintenance window that has ended (`analytics.intervals`).

    The window in progress lives on its spacecraft's row; once it ends, the row forgets it and
    this remembers it, so analytics can count the time as planned.
    """

    __tablename__ = "maintenance_periods"
    __table_args__ = (
        Index("ix_maintenance_periods_ended_at", "ended_at"),
        Index("ix_maintenance_periods_spacecraft_id_ended_at", "spacecraft_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spacecraft_id: Mapped[uuid.UUID]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]


# Anomalies that end inside a window are found by their end, as well as by their start.
Index("ix_anomalies_resolved_at", Anomaly.resolved_at)
# And read from these alone, never from the table (migration 0009).
_MEASURED = (
    Anomaly.spacecraft_id,
    Anomaly.subsystem,
    Anomaly.severity,
    Anomaly.acknowledged_at,
    Anomaly.planned,
)
Index("ix_anomalies_opened_at_measured", Anomaly.opened_at, Anomaly.resolved_at, *_MEASURED)
Index("ix_anomalies_resolved_at_measured", Anomaly.resolved_at, Anomaly.opened_at, *_MEASURED)
