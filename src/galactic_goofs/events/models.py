from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Event(Base):
    __tablename__ = "events"
    # A spacecraft's timeline, a page at a time in seq order (0009_events_by_spacecraft).
    __table_args__ = (Index("ix_events_spacecraft_id_seq", "spacecraft_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32), index=True)
    spacecraft_id: Mapped[uuid.UUID]
    actor: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class EventLogHead(Base):
    """One row holding the last seq handed out.

    Every write transaction increments it first. The row lock serialises writers until commit,
    which is what makes seq gap-free (a rollback undoes the increment) and equal to commit order.
    A database sequence would give neither.
    """

    __tablename__ = "event_log_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class ConsumerCursor(Base):
    """How far one durable consumer of the log has got: the last seq it handled.

    Moved in the same transaction as the consumer's own effect (`events.consumers`). Pruning
    keeps every event after the lowest cursor, so a consumer that falls behind loses nothing;
    a consumer taken out of the code must have its row deleted (by a migration), or the log
    stops being pruned.
    """

    __tablename__ = "consumer_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
