"""Durable consumers of the event log: their cursors, and the first one's tallies.

Revision ID: 0003_consumers
Revises: 0002_operators
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime

revision = "0003_consumers"
down_revision = "0002_operators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_consumer_cursors"),
    )
    op.create_table(
        "event_tallies",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "type", name="pk_event_tallies"),
    )


def downgrade() -> None:
    op.drop_table("event_tallies")
    op.drop_table("consumer_cursors")
