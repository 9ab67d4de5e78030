"""Roles, token scopes and expiry, the credential generation and the audit log.

Existing operators become `operator`, except the first, auto-created `admin`, who is admin.
Existing tokens keep the power they had: scope `write`, no expiry.

Revision ID: 0005_roles
Revises: 0004_anomalies
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime

revision = "0005_roles"
down_revision = "0004_anomalies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch: on SQLite a batch copies `operators` into a new table and
    # drops the old one, and the drop cascades to every token and browser session.
    op.add_column(
        "operators", sa.Column("role", sa.String(10), server_default="operator", nullable=False)
    )
    op.add_column(
        "operators", sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column("operators", sa.Column("last_sign_in_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE operators SET role = 'admin' WHERE name = 'admin'")
    op.add_column(
        "api_tokens", sa.Column("scope", sa.String(10), server_default="write", nullable=False)
    )
    op.add_column("api_tokens", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("last_used_at", UTCDateTime(), nullable=True))
    op.create_index("ix_api_tokens_operator_id", "api_tokens", ["operator_id"])
    generation = op.create_table(
        "credential_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credential_generation"),
    )
    op.bulk_insert(generation, [{"id": 1, "value": 0}])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(60), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_table("credential_generation")
    op.drop_index("ix_api_tokens_operator_id", "api_tokens")
    for column in ("last_used_at", "expires_at", "scope"):
        op.drop_column("api_tokens", column)
    for column in ("last_sign_in_at", "enabled", "role"):
        op.drop_column("operators", column)
