from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base


class Operator(Base):
    """Someone with an account: a viewer, an operator or an admin (`auth.policy.Role`)."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    role: Mapped[str] = mapped_column(String(10), server_default="operator")
    enabled: Mapped[bool] = mapped_column(server_default=true())
    last_sign_in_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for automation. Only its SHA-256 is kept: the database never holds it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    scope: Mapped[str] = mapped_column(String(10), server_default="write")
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    """Kept to within `Authenticator.USAGE_FLUSH_SECONDS`: instances note uses in memory."""


class BrowserSession(Base):
    """A signed-in browser. The cookie holds a random key; the row holds its SHA-256.

    Kept in the shared database so any instance recognises it and signing out ends it everywhere.
    """

    __tablename__ = "browser_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CredentialGeneration(Base):
    """One row whose number goes up whenever a credential stops being good.

    Revoking a token, ending sessions, disabling an operator or changing a role bumps it in the
    same transaction. Every instance remembers credentials it found valid only while this number
    stays the same, and reads it a few times a second, so what one instance (or the command
    line) revokes, all refuse within `Authenticator.FRESH_FOR` seconds.
    """

    __tablename__ = "credential_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class AuditEntry(Base):
    """An administrative action: who did what to whom, and when. Never a secret."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(String(200), default="")


class SignInFailure(Base):
    """One failed sign-in, counted per name and per client address to throttle guessing."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(index=True)
