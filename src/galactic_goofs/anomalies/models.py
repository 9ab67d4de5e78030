from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base


class AnomalyState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SHELVED = "shelved"
    """A side state: shelved until a time, then back to open or acknowledged."""
    RESOLVED = "resolved"


UNRESOLVED = "resolved_at IS NULL"


class Anomaly(Base):
    """The life of one malfunction, from the fault to its repair.

    No foreign key to `spacecraft`: a deleted spacecraft's anomalies stay, resolved, for the
    history (analytics count them). No column defaults either: the malfunction inserts one as a
    precompiled statement, which sets every column itself.
    """

    __tablename__ = "anomalies"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'acknowledged', 'shelved', 'resolved')", name="state"),
        CheckConstraint("(state = 'resolved') = (resolved_at IS NOT NULL)", name="resolved"),
        # The rule "one open anomaly per spacecraft" held by the database itself.
        Index(
            "uq_anomalies_open_spacecraft_id",
            "spacecraft_id",
            unique=True,
            sqlite_where=text(UNRESOLVED),
            postgresql_where=text(UNRESOLVED),
        ),
        Index("ix_anomalies_spacecraft_id_opened_at", "spacecraft_id", "opened_at"),
        Index("ix_anomalies_opened_at", "opened_at"),
        Index("ix_anomalies_state_opened_at", "state", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    spacecraft_id: Mapped[uuid.UUID]
    subsystem: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))
    planned: Mapped[bool]
    """Opened during the spacecraft's maintenance window: expected, not downtime."""
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledge_comment: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(50))
    shelved_until: Mapped[datetime | None] = mapped_column(index=True)
    shelve_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)


class AnomalyNote(Base):
    """Append-only: a note is never edited or deleted."""

    __tablename__ = "anomaly_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    anomaly_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("anomalies.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
