"""Analytics: the lifetimes of deleted spacecraft and the maintenance windows that ended.

Kept by the `analytics-intervals` consumer from the event log (`analytics.intervals`); it
starts at the first retained event, so what the log still holds is counted from the start.

Revision ID: 0007_analytics
Revises: 0006_orbits
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime

revision = "0007_analytics"
down_revision = "0006_orbits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_spacecraft",
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("cospar_id", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("spacecraft_id", name="pk_deleted_spacecraft"),
    )
    op.create_index("ix_deleted_spacecraft_deleted_at", "deleted_spacecraft", ["deleted_at"])
    op.create_table(
        "maintenance_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_periods"),
    )
    op.create_index("ix_maintenance_periods_ended_at", "maintenance_periods", ["ended_at"])
    op.create_index(
        "ix_maintenance_periods_spacecraft_id_ended_at",
        "maintenance_periods",
        ["spacecraft_id", "ended_at"],
    )
    # Anomalies that end inside a window are found by their end, as well as by their start.
    op.create_index("ix_anomalies_resolved_at", "anomalies", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_anomalies_resolved_at", table_name="anomalies")
    op.drop_table("maintenance_periods")
    op.drop_table("deleted_spacecraft")
