"""`goofs import-tle`: a file of TLE sets (CelesTrak's three-line form, or bare two-line sets),
each matched to a spacecraft by NORAD number, then by name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.errors import DomainError
from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.importing import ImportBatch, Rejected
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.orbits import changes
from galactic_goofs.orbits.elements import Elements, parse_tle
from galactic_goofs.precompiled import session_writer


@dataclass(frozen=True, slots=True)
class Found:
    line: int
    elements: Elements


@dataclass(frozen=True, slots=True)
class Matched:
    line: int
    spacecraft_id: uuid.UUID
    elements: Elements


def read_sets(text: str, *, now: datetime) -> tuple[list[Found], list[Rejected]]:
    lines = [(number, line.rstrip()) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line.strip()]
    found: list[Found] = []
    rejected: list[Rejected] = []
    index = 0
    while index < len(lines):
        number, line = lines[index]
        size = 2 if line.startswith("1 ") else 3
        chunk = lines[index : index + size]
        first, second = chunk[-2][1] if len(chunk) >= 2 else "", chunk[-1][1]
        if len(chunk) < size or not first.startswith("1 ") or not second.startswith("2 "):
            rejected.append(Rejected(number, "expected a name line, then TLE lines 1 and 2"))
            index += 1
            continue
        try:
            found.append(Found(number, parse_tle("\n".join(text for _, text in chunk), now=now)))
        except DomainError as error:
            rejected.append(Rejected(number, error.message))
        index += size
    return found, rejected


async def match(session: AsyncSession, sets: Sequence[Found]) -> tuple[list[Matched], list[Found]]:
    rows = (
        await session.execute(select(Spacecraft.id, Spacecraft.name, Spacecraft.norad_id))
    ).all()
    by_norad = {row.norad_id: row.id for row in rows if row.norad_id is not None}
    names: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        names.setdefault(row.name.casefold(), []).append(row.id)
    matched: list[Matched] = []
    unmatched: list[Found] = []
    for one in sets:
        craft_id = by_norad.get(one.elements.norad_id)
        if craft_id is None and one.elements.name:
            candidates = names.get(one.elements.name.casefold(), [])
            craft_id = candidates[0] if len(candidates) == 1 else None
        if craft_id is None:
            unmatched.append(one)
        else:
            matched.append(Matched(one.line, craft_id, one.elements))
    return matched, unmatched


def set_orbits(session: Session, sets: Sequence[Matched], *, actor: str) -> ImportBatch:
    written: list[EventRead] = []
    for one in sets:
        seq = events.claim_next_seq(session_writer(session))
        craft = fleet.load(session, one.spacecraft_id)
        written.append(changes.set_orbit_of(session, seq, craft, one.elements, actor).event)
    return ImportBatch(tuple(written))
