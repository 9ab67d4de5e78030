"""Fleet, event log and leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from galactic_goofs.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spacecraft",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("cospar_id", sa.String(11), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fault_subsystem", sa.String(16), nullable=True),
        sa.Column("fault_severity", sa.String(16), nullable=True),
        sa.Column("fault_description", sa.String(500), nullable=True),
        sa.Column("fault_since", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('NOMINAL', 'MALFUNCTIONING')", name="ck_spacecraft_status"),
        sa.CheckConstraint(
            "(status = 'NOMINAL') = (fault_subsystem IS NULL)",
            name="ck_spacecraft_fault_iff_malfunctioning",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_spacecraft"),
        sa.UniqueConstraint("cospar_id", name="uq_spacecraft_cospar_id"),
    )
    op.create_index("ix_spacecraft_status_name", "spacecraft", ["status", "name"])
    op.create_index("ix_spacecraft_name_id", "spacecraft", ["name", "id"])

    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
    )
    op.create_index("ix_events_type", "events", ["type"])
    op.create_index("ix_events_spacecraft_id", "events", ["spacecraft_id"])

    head = op.create_table(
        "event_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_event_log_head_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_event_log_head"),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0}])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("event_log_head")
    op.drop_index("ix_events_spacecraft_id", table_name="events")
    op.drop_index("ix_events_type", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_spacecraft_name_id", table_name="spacecraft")
    op.drop_index("ix_spacecraft_status_name", table_name="spacecraft")
    op.drop_table("spacecraft")
