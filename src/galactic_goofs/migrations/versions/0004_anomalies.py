"""Anomalies and their notes; a spacecraft's open anomaly and maintenance window.

A spacecraft that is MALFUNCTIONING when this runs gets an open anomaly from its current fault,
so every malfunction has one from here on.

Revision ID: 0004_anomalies
Revises: 0003_consumers
Create Date: 2026-12-03
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime, utcnow

revision = "0004_anomalies"
down_revision = "0003_consumers"
branch_labels = None
depends_on = None

UNRESOLVED = "resolved_at IS NULL"
SPACECRAFT_COLUMNS = (
    "anomaly_id",
    "anomaly_state",
    "anomaly_acknowledged_by",
    "maintenance_starts_at",
    "maintenance_ends_at",
    "maintenance_reason",
    "maintenance_started",
)


def upgrade() -> None:
    anomalies = op.create_table(
        "anomalies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("subsystem", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(100), nullable=True),
        sa.Column("acknowledge_comment", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(50), nullable=True),
        sa.Column("shelved_until", UTCDateTime(), nullable=True),
        sa.Column("shelve_reason", sa.Text(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'shelved', 'resolved')", name="ck_anomalies_state"
        ),
        sa.CheckConstraint(
            "(state = 'resolved') = (resolved_at IS NOT NULL)", name="ck_anomalies_resolved"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_anomalies"),
    )
    op.create_index(
        "uq_anomalies_open_spacecraft_id",
        "anomalies",
        ["spacecraft_id"],
        unique=True,
        sqlite_where=sa.text(UNRESOLVED),
        postgresql_where=sa.text(UNRESOLVED),
    )
    op.create_index(
        "ix_anomalies_spacecraft_id_opened_at", "anomalies", ["spacecraft_id", "opened_at"]
    )
    op.create_index("ix_anomalies_opened_at", "anomalies", ["opened_at"])
    op.create_index("ix_anomalies_state_opened_at", "anomalies", ["state", "opened_at"])
    op.create_index("ix_anomalies_shelved_until", "anomalies", ["shelved_until"])

    op.create_table(
        "anomaly_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anomaly_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["anomaly_id"], ["anomalies.id"], name="fk_anomaly_notes_anomaly_id_anomalies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_anomaly_notes"),
    )
    op.create_index("ix_anomaly_notes_anomaly_id", "anomaly_notes", ["anomaly_id"])

    # Plain ADD COLUMN on both databases (no table copy on SQLite).
    op.add_column("spacecraft", sa.Column("anomaly_id", sa.Uuid(), nullable=True))
    op.add_column("spacecraft", sa.Column("anomaly_state", sa.String(16), nullable=True))
    op.add_column("spacecraft", sa.Column("anomaly_acknowledged_by", sa.String(100), nullable=True))
    op.add_column("spacecraft", sa.Column("maintenance_starts_at", UTCDateTime(), nullable=True))
    op.add_column("spacecraft", sa.Column("maintenance_ends_at", UTCDateTime(), nullable=True))
    op.add_column("spacecraft", sa.Column("maintenance_reason", sa.Text(), nullable=True))
    op.add_column(
        "spacecraft",
        sa.Column("maintenance_started", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_spacecraft_maintenance_ends_at", "spacecraft", ["maintenance_ends_at"])
    _open_anomalies_for_the_broken(anomalies)


def _open_anomalies_for_the_broken(anomalies: sa.Table) -> None:
    spacecraft = sa.table(
        "spacecraft",
        sa.column("id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("fault_subsystem", sa.String()),
        sa.column("fault_severity", sa.String()),
        sa.column("fault_description", sa.String()),
        sa.column("fault_since", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("anomaly_id", sa.Uuid()),
        sa.column("anomaly_state", sa.String()),
    )
    bind = op.get_bind()
    broken = bind.execute(
        sa.select(
            spacecraft.c.id,
            spacecraft.c.fault_subsystem,
            spacecraft.c.fault_severity,
            spacecraft.c.fault_description,
            spacecraft.c.fault_since,
            spacecraft.c.updated_at,
        ).where(spacecraft.c.status == "MALFUNCTIONING")
    ).all()
    for craft in broken:
        anomaly_id = uuid.uuid4()
        bind.execute(
            anomalies.insert().values(
                id=anomaly_id,
                spacecraft_id=craft.id,
                subsystem=craft.fault_subsystem,
                severity=craft.fault_severity or "minor",
                description=craft.fault_description or "",
                state="open",
                planned=False,
                opened_at=craft.fault_since or craft.updated_at or utcnow(),
                opened_by="migration",
            )
        )
        bind.execute(
            spacecraft.update()
            .where(spacecraft.c.id == craft.id)
            .values(anomaly_id=anomaly_id, anomaly_state="open")
        )


def downgrade() -> None:
    op.drop_index("ix_spacecraft_maintenance_ends_at", table_name="spacecraft")
    for column in SPACECRAFT_COLUMNS:
        op.drop_column("spacecraft", column)
    op.drop_index("ix_anomaly_notes_anomaly_id", table_name="anomaly_notes")
    op.drop_table("anomaly_notes")
    op.drop_index("ix_anomalies_shelved_until", table_name="anomalies")
    op.drop_index("ix_anomalies_state_opened_at", table_name="anomalies")
    op.drop_index("ix_anomalies_opened_at", table_name="anomalies")
    op.drop_index("ix_anomalies_spacecraft_id_opened_at", table_name="anomalies")
    op.drop_index("uq_anomalies_open_spacecraft_id", table_name="anomalies")
    op.drop_table("anomalies")
