from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from galactic_goofs.db import Base


class Source(StrEnum):
    TLE = "tle"
    OMM = "omm"


class ElementSet(Base):
    """A spacecraft's current orbit: the element set as it was given, and what it says.

    One per spacecraft (a new one replaces it). The raw text is what propagation reads; the
    epoch and NORAD number are kept beside it so a listing never parses it.
    """

    __tablename__ = "element_sets"
    __table_args__ = (CheckConstraint("source IN ('tle', 'omm')", name="source"),)

    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spacecraft.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(8))
    raw: Mapped[str] = mapped_column(Text)
    """Two TLE lines, or the OMM's JSON object."""
    epoch: Mapped[datetime]
    norad_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
