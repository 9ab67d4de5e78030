"""A ground station's contact with a spacecraft, as propagation finds it and caches keep it
(apart from propagation, so what only keeps contacts does not load Skyfield)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Contact:
    """A time a station can talk to a spacecraft, as much of it as a window holds: no rise when
    it was already in view at the window's start, no set when still in view at its end (a
    geostationary spacecraft over a station has neither)."""

    station: str
    rise: datetime | None
    culminate: datetime | None
    set: datetime | None
    max_elevation: float
