from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base


class Status(StrEnum):
    NOMINAL = "NOMINAL"
    MALFUNCTIONING = "MALFUNCTIONING"


class Spacecraft(Base):
    __tablename__ = "spacecraft"
    __table_args__ = (
        CheckConstraint("status IN ('NOMINAL', 'MALFUNCTIONING')", name="status"),
        CheckConstraint(
            "(status = 'NOMINAL') = (fault_subsystem IS NULL)", name="fault_iff_malfunctioning"
        ),
        Index("ix_spacecraft_status_name", "status", "name"),
        Index("ix_spacecraft_name_id", "name", "id"),
        Index("uq_spacecraft_norad_id", "norad_id", unique=True),
        Index("ix_spacecraft_maintenance_ends_at", "maintenance_ends_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50))
    cospar_id: Mapped[str] = mapped_column(String(11), unique=True)
    norad_id: Mapped[int | None] = mapped_column(BigInteger)
    """The NORAD catalogue number (US Space Force), which element sets are keyed by."""
    status: Mapped[str] = mapped_column(String(16), default=Status.NOMINAL)
    fault_subsystem: Mapped[str | None] = mapped_column(String(16))
    fault_severity: Mapped[str | None] = mapped_column(String(16))
    fault_description: Mapped[str | None] = mapped_column(String(500))
    fault_since: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # The open anomaly, copied here by the transaction that changes it, so the board and the
    # stream show it from the spacecraft's own row (`galactic_goofs.anomalies`).
    anomaly_id: Mapped[uuid.UUID | None]
    anomaly_state: Mapped[str | None] = mapped_column(String(16))
    anomaly_acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    # A maintenance window, from its start (now or later) to its end; `maintenance_started`
    # once its start has been recorded as an event (`fleet.maintenance`).
    maintenance_starts_at: Mapped[datetime | None]
    maintenance_ends_at: Mapped[datetime | None]
    maintenance_reason: Mapped[str | None] = mapped_column(Text)
    maintenance_started: Mapped[bool] = mapped_column(default=False, server_default=false())
