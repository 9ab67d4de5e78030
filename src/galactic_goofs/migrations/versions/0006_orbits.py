"""Spacecraft in orbit: NORAD catalogue numbers and one current element set each.

Revision ID: 0006_orbits
Revises: 0005_roles
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime

revision = "0006_orbits"
down_revision = "0005_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("spacecraft", sa.Column("norad_id", sa.BigInteger(), nullable=True))
    # A unique index rather than a constraint: SQLite cannot add a constraint to a table.
    op.create_index("uq_spacecraft_norad_id", "spacecraft", ["norad_id"], unique=True)
    op.create_table(
        "element_sets",
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("epoch", UTCDateTime(), nullable=False),
        sa.Column("norad_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('tle', 'omm')", name="ck_element_sets_source"),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name="fk_element_sets_spacecraft_id_spacecraft",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("spacecraft_id", name="pk_element_sets"),
    )


def downgrade() -> None:
    op.drop_table("element_sets")
    op.drop_index("uq_spacecraft_norad_id", table_name="spacecraft")
    op.drop_column("spacecraft", "norad_id")
