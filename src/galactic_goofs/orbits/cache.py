from __future__ import annotations

import asyncio
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sgp4.api import Satrec

from galactic_goofs.orbits import elements
from galactic_goofs.orbits.contact import Contact


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


@dataclass(frozen=True, slots=True)
class ContactEntry:
    updated_at: datetime
    """The element set's, so a new one is never answered from the old one's contacts."""
    start: datetime
    end: datetime
    contacts: tuple[Contact, ...]


@dataclass
class ContactCache:
    """Contacts found for a spacecraft over a day, kept for a few minutes.

    Finding them takes tens of milliseconds a spacecraft (Skyfield's `find_events` at each
    station), too slow to repeat for every look at a page or a triage queue; the contacts are
    fixed times, so the day found answers "when next" for a while (the day ahead it covers
    shrinks by at most `ttl`). For the ground stations of the instance's settings; at most
    `size` spacecraft.
    """

    ttl: timedelta = timedelta(minutes=30)
    size: int = 2_000
    entries: dict[uuid.UUID, ContactEntry] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while finding: two consoles asking at once find each spacecraft's contacts once."""

    def fresh(
        self, spacecraft_id: uuid.UUID, updated_at: datetime, now: datetime
    ) -> ContactEntry | None:
        entry = self.entries.get(spacecraft_id)
        if entry is None or entry.updated_at != updated_at:
            return None
        return entry if entry.start <= now < entry.start + self.ttl else None

    def put(self, spacecraft_id: uuid.UUID, entry: ContactEntry) -> None:
        self.entries.pop(spacecraft_id, None)
        self.entries[spacecraft_id] = entry
        while len(self.entries) > self.size:
            del self.entries[next(iter(self.entries))]  # the longest kept
