"""Webhook attempts by outcome (a counter that outlives the delivery log), and an index to
prune that log by age.

Revision ID: 0010_webhook_tallies
Revises: 0009_events_by_spacecraft
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_webhook_tallies"
down_revision = "0009_events_by_spacecraft"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_tallies",
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("outcome", name="pk_webhook_tallies"),
    )
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_created_at", table_name="webhook_deliveries")
    op.drop_table("webhook_tallies")
