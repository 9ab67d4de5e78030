from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

from sgp4.api import Satrec

from galactic_goofs.orbits import elements


@dataclass
class SatrecCache:
    """Parsed element sets by spacecraft (its id as the driver gives it), so the fleet map
    parses each only when it changes."""

    entries: dict[Hashable, tuple[datetime, Satrec]] = field(default_factory=dict)

    def fresh(self, spacecraft_id: Hashable, updated_at: datetime) -> Satrec | None:
        """The parsed element set, if the one cached is the one stored at `updated_at`."""
        entry = self.entries.get(spacecraft_id)
        return entry[1] if entry is not None and entry[0] == updated_at else None

    def put(self, spacecraft_id: Hashable, updated_at: datetime, source: str, raw: str) -> Satrec:
        sat = elements.satrec(source, raw)
        self.entries[spacecraft_id] = (updated_at, sat)
        return sat

    def keep_only(self, present: set[Hashable]) -> None:
        for gone in self.entries.keys() - present:
            del self.entries[gone]
