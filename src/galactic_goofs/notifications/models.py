"""Webhook endpoints, the deliveries outbox and the log of each attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base
from galactic_goofs.events.models import JSONDocument

Id = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite numbers rows by itself only for a column declared INTEGER PRIMARY KEY."""


class WebhookEndpoint(Base):
    """Where matching events are POSTed. The secrets sign them; they leave the server once,
    in the answer that made them, and never appear in an event, the audit log or a log line."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSONDocument)
    """Event types, or `["*"]` for all."""
    min_severity: Mapped[str | None] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500), default="")
    enabled: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    """The secret before the last rotation, still signing until `previous_secret_expires_at`,
    so a receiver can switch over without dropping a delivery."""
    previous_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_success_at: Mapped[datetime | None]
    failures_in_a_row: Mapped[int] = mapped_column(default=0)


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(Base):
    """One event (or test ping) to one endpoint: the outbox row the sender works from.

    `webhook_id` is made once and sent with every attempt, so a receiver can drop duplicates.
    The body is kept as sent, so a retry signs the same bytes and the log can be pruned.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_seq"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    """None for a test ping."""
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class DeliveryAttempt(Base):
    """One POST of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16))
    """`delivered`, `retry` (with a next attempt), `failed` or `gone` (410)."""


class DeliveryTally(Base):
    """Attempts ever made, by outcome: the `goofs_webhook_deliveries` counter. Kept beside the
    log rather than counted from it, so it survives the log's pruning and only goes up."""

    __tablename__ = "webhook_tallies"

    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
