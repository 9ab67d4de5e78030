from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from galactic_goofs.db import Base, utcnow


class Lease(Base):
    """A named, expiring right to do something on one instance only (the fault simulator)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


def acquire(session: Session, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease; true while `holder` has it."""
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(Lease)
        .values(name=name, holder=holder, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[Lease.name])
    )
    session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=expires_at)
    )
    return is_held(session, name, holder)


_EXPIRES = select(Lease.expires_at).where(
    Lease.name == bindparam("name"), Lease.holder == bindparam("holder")
)
"""Built once: a leased consumer checks at every batch."""


def is_held(session: Session, name: str, holder: str) -> bool:
    """Whether `holder` has the lease now, read inside the caller's transaction (a fence)."""
    expires_at = session.connection().scalar(_EXPIRES, {"name": name, "holder": holder})
    return expires_at is not None and expires_at > utcnow()


def release(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
