"""A spacecraft's events in seq order from the index alone.

Its timeline (`/spacecraft/{id}`, `GET /api/v1/events?spacecraft_id=`) asks for one
spacecraft's newest or next events by seq. The index on `spacecraft_id` alone found them all
and sorted them: on SQLite `seq` is not the rowid, so every row of a spacecraft with a long
history was read for a page of 50. With `seq` in the index the page is read and no more.

Revision ID: 0009_events_by_spacecraft
Revises: 0008_webhooks
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0009_events_by_spacecraft"
down_revision = "0008_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_spacecraft_id_seq", "events", ["spacecraft_id", "seq"])
    op.drop_index("ix_events_spacecraft_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_spacecraft_id", "events", ["spacecraft_id"])
    op.drop_index("ix_events_spacecraft_id_seq", table_name="events")
