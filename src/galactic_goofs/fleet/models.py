from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String
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
