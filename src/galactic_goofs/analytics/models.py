from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base


class EventTally(Base):
    """How many events of one type the log recorded on one UTC day (`analytics.tallies`)."""

    __tablename__ = "event_tallies"

    day: Mapped[date] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
