from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sgp4.api import Satrec

from galactic_goofs.orbits import elements


@dataclass
class SatrecCache:
    """Parsed element sets by spacecraft, so the fleet map parses each only when it changes."""

    entries: dict[uuid.UUID, tuple[datetime, Satrec]] = field(default_factory=dict)

    def get(self, spacecraft_id: uuid.UUID, updated_at: datetime, source: str, raw: str) -> Satrec:
        entry = self.entries.get(spacecraft_id)
        if entry is None or entry[0] != updated_at:
            entry = (updated_at, elements.satrec(source, raw))
            self.entries[spacecraft_id] = entry
        return entry[1]

    def keep_only(self, present: set[uuid.UUID]) -> None:
        for gone in self.entries.keys() - present:
            del self.entries[gone]
