"""Where spacecraft are: orbits read and propagated (never on the event stream's path)."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sgp4.api import Satrec
from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict, NotFound, Unprocessable
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.orbits import elements as element_sets
from galactic_goofs.orbits import propagation
from galactic_goofs.orbits.cache import ContactCache, ContactEntry, SatrecCache
from galactic_goofs.orbits.contact import Contact
from galactic_goofs.orbits.models import ElementSet, Source
from galactic_goofs.orbits.schemas import (
    ContactRead,
    FleetPositionsRead,
    OrbitRead,
    PassRead,
    PositionRead,
    TrackPointRead,
    TrackRead,
)
from galactic_goofs.orbits.stations import GroundStation

MAX_TRACK_MINUTES = 1440
MIN_TRACK_STEP = 30
MAX_TRACK_POINTS = 2 * MAX_TRACK_MINUTES * 60 // MIN_TRACK_STEP
"""As many points as the longest track at the shortest step: whatever the schema lets through
is answered (a day each way every 30 s is 5,760 points, a few milliseconds of propagation)."""
MAX_PASS_HOURS = 168
MAX_LISTED_IDS = 500
"""Beyond this many ids, reading every row beats a statement with that many parameters."""


async def get_orbit(session: AsyncSession, spacecraft_id: uuid.UUID) -> OrbitRead:
    return _orbit_read(await _element_set(session, spacecraft_id), utcnow())


def _orbit_read(row: ElementSet, now: datetime) -> OrbitRead:
    return OrbitRead(
        spacecraft_id=row.spacecraft_id,
        source=Source(row.source),
        norad_id=row.norad_id,
        epoch=row.epoch,
        stale=element_sets.stale(row.epoch, now),
        updated_at=row.updated_at,
        elements=row.raw,
    )


async def _element_set(session: AsyncSession, spacecraft_id: uuid.UUID) -> ElementSet:
    row = await session.get(ElementSet, spacecraft_id)
    if row is not None:
        return row
    name = await session.scalar(select(Spacecraft.name).where(Spacecraft.id == spacecraft_id))
    if name is None:
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    raise Conflict(
        f"{name} has no orbit yet: PUT a TLE or an OMM to /api/v1/spacecraft/{spacecraft_id}/orbit"
    )


async def _satrec(session: AsyncSession, spacecraft_id: uuid.UUID) -> tuple[str, Satrec]:
    row = await _element_set(session, spacecraft_id)
    name = await session.scalar(select(Spacecraft.name).where(Spacecraft.id == spacecraft_id))
    return name or "", element_sets.satrec(row.source, row.raw)


async def position(
    session: AsyncSession, spacecraft_id: uuid.UUID, at: datetime | None = None
) -> PositionRead:
    name, sat = await _satrec(session, spacecraft_id)
    where = propagation.position(sat, at or utcnow())
    if math.isnan(where.altitude_km):
        raise Conflict(f"{name}'s elements cannot be propagated to {where.at:%Y-%m-%d %H:%M} UTC")
    return PositionRead(
        at=where.at,
        latitude=round(where.latitude, 5),
        longitude=round(where.longitude, 5),
        altitude_km=round(where.altitude_km, 3),
        speed_km_s=round(where.speed_km_s, 4),
        sunlit=where.sunlit,
    )


async def track(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    *,
    at: datetime | None = None,
    minutes: float | None = None,
    step_seconds: int = 60,
) -> TrackRead:
    """Sub-satellite points `minutes` back and ahead of `at` (by default one orbit each way)."""
    _, sat = await _satrec(session, spacecraft_id)
    if minutes is None:
        minutes = min(24 * 60, 2 * math.pi / sat.no_kozai)  # no_kozai: radians per minute
    if 2 * minutes * 60 / step_seconds > MAX_TRACK_POINTS:
        raise Unprocessable(
            f"that is more than {MAX_TRACK_POINTS} points: ask for fewer minutes or a longer step",
            ("query", "minutes"),
        )
    centre = at or utcnow()
    start, end = centre - timedelta(minutes=minutes), centre + timedelta(minutes=minutes)
    points = propagation.track(sat, start, end, timedelta(seconds=step_seconds))
    return TrackRead(
        start=start,
        end=end,
        step_seconds=step_seconds,
        points=[
            TrackPointRead(
                at=point.at,
                latitude=round(point.latitude, 4),
                longitude=round(point.longitude, 4),
                altitude_km=round(point.altitude_km, 2),
            )
            for point in points
            if not math.isnan(point.altitude_km)
        ],
    )


async def passes(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    stations: Sequence[GroundStation],
    *,
    start: datetime | None = None,
    hours: float = 24,
) -> list[PassRead]:
    """Contacts with each ground station in the next `hours`, by rise time. The search takes
    tens of milliseconds, so it runs off the event loop."""
    _, sat = await _satrec(session, spacecraft_id)
    begin = start or utcnow()
    found = await asyncio.to_thread(
        propagation.passes, sat, stations, begin, begin + timedelta(hours=hours)
    )
    return [
        PassRead(
            station=one.station,
            rise=one.rise,
            culminate=one.culminate,
            set=one.set,
            max_elevation=one.max_elevation,
        )
        for one in found
    ]


CONTACT_HOURS = 24
"""How far ahead contacts are looked for: a low orbit passes over one station or another
many times a day, a polar one over Svalbard every orbit."""


async def contacts(
    session: AsyncSession,
    cache: ContactCache,
    spacecraft_ids: Collection[uuid.UUID],
    stations: Sequence[GroundStation],
    now: datetime | None = None,
    *,
    find: bool = True,
) -> dict[uuid.UUID, list[ContactRead] | None]:
    """For each spacecraft, the current or next contact with each station in the coming day,
    soonest first (one in progress first of all); None for a spacecraft without an orbit.
    Found again only when the cache has none fresh (the finding runs off the event loop);
    with `find=False` a spacecraft whose contacts are not in the cache is left out."""
    moment = now or utcnow()
    wanted = set(spacecraft_ids)
    if not wanted:
        return {}
    query = select(ElementSet.spacecraft_id, ElementSet.updated_at, ElementSet.source)
    query = query.add_columns(ElementSet.raw).where(ElementSet.spacecraft_id.in_(wanted))
    rows = (await session.execute(query)).all()

    def stale() -> list[Any]:
        return [row for row in rows if not cache.fresh(row.spacecraft_id, row.updated_at, moment)]

    if find and stale():
        async with cache.lock:
            missing = stale()  # another request may have found them while this one waited
            if missing:
                found = await asyncio.to_thread(_find_contacts, missing, stations, moment)
                for row, fresh in zip(missing, found, strict=True):
                    cache.put(row.spacecraft_id, fresh)
    answer: dict[uuid.UUID, list[ContactRead] | None] = dict.fromkeys(wanted)
    for row in rows:
        entry = cache.fresh(row.spacecraft_id, row.updated_at, moment)
        if entry is not None:
            answer[row.spacecraft_id] = _soonest(entry.contacts, moment)
        else:
            del answer[row.spacecraft_id]  # not found yet (or left out of the cache since)
    return answer


def _find_contacts(
    rows: Sequence[Any], stations: Sequence[GroundStation], start: datetime
) -> list[ContactEntry]:
    end = start + timedelta(hours=CONTACT_HOURS)
    entries = []
    for row in rows:
        sat = element_sets.satrec(row.source, row.raw)
        found = propagation.contacts(sat, stations, start, end)
        entries.append(ContactEntry(row.updated_at, start, end, tuple(found)))
    return entries


def _soonest(found: Sequence[Contact], now: datetime) -> list[ContactRead]:
    """Each station's contact in progress at `now`, or its next one."""
    by_station: dict[str, ContactRead] = {}
    for one in found:
        if one.station in by_station or (one.set is not None and one.set <= now):
            continue
        by_station[one.station] = ContactRead(
            station=one.station,
            rise=one.rise,
            set=one.set,
            max_elevation=one.max_elevation,
            now=one.rise is None or one.rise <= now,
        )
    return sorted(by_station.values(), key=lambda one: (not one.now, one.rise or now))


async def next_contact(
    session: AsyncSession,
    cache: ContactCache,
    spacecraft_id: uuid.UUID,
    stations: Sequence[GroundStation],
    now: datetime | None = None,
) -> ContactRead | None:
    """The contact in progress or the first to come over any station (a fix is uplinked
    during a contact); None without an orbit or without a contact in the coming day."""
    found = (await contacts(session, cache, [spacecraft_id], stations, now))[spacecraft_id]
    return found[0] if found else None


async def fleet_positions(
    session: AsyncSession, cache: SatrecCache, at: datetime | None = None
) -> FleetPositionsRead:
    """Every spacecraft with an orbit, where it is at `at` (vectorised: one sgp4 call)."""
    moment = at or utcnow()
    rows = (
        await session.execute(
            select(
                # The id as the driver gives it: making 10,000 UUID objects costs more than
                # the propagation (pydantic reads it in the response, in compiled code).
                type_coerce(Spacecraft.id, String).label("key"),
                Spacecraft.name,
                Spacecraft.cospar_id,
                Spacecraft.status,
                ElementSet.updated_at,
            )
            .join(ElementSet, ElementSet.spacecraft_id == Spacecraft.id)
            .order_by(Spacecraft.name, Spacecraft.id)
        )
    ).all()
    cached = [cache.fresh(row.key, row.updated_at) for row in rows]
    missing = [row.key for row, sat in zip(rows, cached, strict=True) if sat is None]
    if missing:
        # The element sets' text only for those not parsed yet: a map refresh reads no text.
        key = type_coerce(ElementSet.spacecraft_id, String)
        query = select(key.label("key"), ElementSet.source, ElementSet.raw, ElementSet.updated_at)
        if len(missing) <= MAX_LISTED_IDS:
            ids = [uuid.UUID(hex=str(one)) for one in missing]
            query = query.where(ElementSet.spacecraft_id.in_(ids))
        for found in await session.execute(query):
            cache.put(found.key, found.updated_at, found.source, found.raw)
    # A set changed between the two reads is taken as the second read found it; a spacecraft
    # deleted in between is left out.
    rows = [row for row in rows if row.key in cache.entries]
    sats = [cache.entries[row.key][1] for row in rows]
    if len(cache.entries) > len(rows):
        cache.keep_only({row.key for row in rows})
    where = propagation.fleet_positions(sats, moment)
    items = [
        {
            "id": row.key,
            "name": row.name,
            "cospar_id": row.cospar_id,
            "status": row.status,
            "latitude": lat,
            "longitude": lon,
            "altitude_km": alt,
        }
        for row, lat, lon, alt in zip(
            rows,
            where.latitude.round(3).tolist(),
            where.longitude.round(3).tolist(),
            where.altitude_km.round(1).tolist(),
            strict=True,
        )
        if not math.isnan(alt)
    ]
    # Validated in one call (pydantic's compiled code walks the list): ten thousand models
    # made one by one cost more than the propagation and the query together.
    return FleetPositionsRead.model_validate({"at": moment, "items": items})
