"""Covering indexes for the anomalies analytics read, by opening and by resolution.

A window's anomalies are those opened in it, those opened before it and resolved in it, and
the unresolved ones. With these two indexes the first two are each one range of an index
holding every column analytics reads, so the read never visits the table (at 100,000
anomalies the old plan visited every row opened before the window's end: seconds).

Revision ID: 0011_analytics_reads
Revises: 0010_webhook_tallies
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011_analytics_reads"
down_revision = "0010_webhook_tallies"
branch_labels = None
depends_on = None

MEASURED = ["spacecraft_id", "subsystem", "severity", "acknowledged_at", "planned"]


def upgrade() -> None:
    op.create_index(
        "ix_anomalies_opened_at_measured", "anomalies", ["opened_at", "resolved_at", *MEASURED]
    )
    op.create_index(
        "ix_anomalies_resolved_at_measured", "anomalies", ["resolved_at", "opened_at", *MEASURED]
    )


def downgrade() -> None:
    op.drop_index("ix_anomalies_resolved_at_measured", table_name="anomalies")
    op.drop_index("ix_anomalies_opened_at_measured", table_name="anomalies")
