"""Operators, API tokens, browser sessions and sign-in throttling.

Revision ID: 0002_operators
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from galactic_goofs.db import UTCDateTime

revision = "0002_operators"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("name", name="uq_operators_name"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_api_tokens_operator_id_operators",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "browser_sessions",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_browser_sessions_operator_id_operators",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name="pk_browser_sessions"),
    )
    op.create_index("ix_browser_sessions_operator_id", "browser_sessions", ["operator_id"])
    op.create_index("ix_browser_sessions_expires_at", "browser_sessions", ["expires_at"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_failures"),
    )
    op.create_index("ix_sign_in_failures_name", "sign_in_failures", ["name"])
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["address"])
    op.create_index("ix_sign_in_failures_failed_at", "sign_in_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("browser_sessions")
    op.drop_table("api_tokens")
    op.drop_table("operators")
