"""Fleet analytics read from interval records: anomalies, lifetimes, maintenance windows.

Each request loads only the intervals that touch its window (by indexed times) and measures
them (`analytics.figures`); nothing replays the event log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.analytics import figures
from galactic_goofs.analytics.cache import FiguresCache, cached
from galactic_goofs.analytics.figures import Figures, Lifetime, Outage, Timeline
from galactic_goofs.analytics.models import DeletedSpacecraft, MaintenancePeriod
from galactic_goofs.analytics.schemas import (
    Bucket,
    FleetAnalytics,
    SeverityFigures,
    SpacecraftAvailability,
    SpacecraftRow,
    SubsystemFigures,
    Window,
)
from galactic_goofs.anomalies.models import Anomaly
from galactic_goofs.db import utcnow
from galactic_goofs.errors import NotFound
from galactic_goofs.fleet.models import Spacecraft


class _Reading:
    """How `load` reads ids and times. On SQLite, as the text they are stored as, parsed here
    (a UUID once per spacecraft, a time by `datetime.fromisoformat`): through the columns'
    own types a 30-day window's 34,000 anomalies took five times as long to read."""

    def __init__(self, session: AsyncSession) -> None:
        self.as_text = session.get_bind().dialect.name == "sqlite"
        self._ids: dict[Any, uuid.UUID] = {}

    def __call__(self, column: Any) -> Any:
        return type_coerce(column, String).label(column.key) if self.as_text else column

    def id(self, value: Any) -> uuid.UUID:
        if not self.as_text:
            return value  # type: ignore[no-any-return]
        known = self._ids.get(value)
        if known is None:
            known = self._ids[value] = uuid.UUID(value)
        return known

    def moment(self, value: Any) -> Any:
        if not self.as_text or value is None:
            return value
        return datetime.fromisoformat(value + "+00:00")  # stored in UTC; faster than replace()


async def load(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    spacecraft_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Timeline:
    """The intervals that touch start .. end, of one spacecraft or the whole fleet."""
    timeline = Timeline(now=now or utcnow())
    read = _Reading(session)
    living = select(
        read(Spacecraft.id),
        Spacecraft.name,
        Spacecraft.cospar_id,
        read(Spacecraft.created_at),
        Spacecraft.maintenance_started,
        Spacecraft.maintenance_starts_at,
        Spacecraft.maintenance_ends_at,
    ).where(Spacecraft.created_at < end)
    deleted = select(DeletedSpacecraft).where(
        DeletedSpacecraft.deleted_at > start, DeletedSpacecraft.created_at < end
    )
    periods = select(
        MaintenancePeriod.spacecraft_id, MaintenancePeriod.started_at, MaintenancePeriod.ended_at
    ).where(MaintenancePeriod.ended_at > start, MaintenancePeriod.started_at < end)
    measured = (
        read(Anomaly.spacecraft_id),
        Anomaly.subsystem,
        Anomaly.severity,
        read(Anomaly.opened_at),
        read(Anomaly.acknowledged_at),
        read(Anomaly.resolved_at),
        Anomaly.planned,
    )
    # Three disjoint parts, each one range of an index (migration 0009): one OR over them
    # made the database visit every anomaly ever opened before `end`.
    anomaly_parts = [
        select(*measured).where(Anomaly.opened_at >= start, Anomaly.opened_at < end),
        select(*measured).where(Anomaly.resolved_at >= start, Anomaly.opened_at < start),
        select(*measured).where(Anomaly.resolved_at.is_(None), Anomaly.opened_at < start),
    ]
    if spacecraft_id is not None:
        living = living.where(Spacecraft.id == spacecraft_id)
        deleted = deleted.where(DeletedSpacecraft.spacecraft_id == spacecraft_id)
        periods = periods.where(MaintenancePeriod.spacecraft_id == spacecraft_id)
        anomaly_parts = [
            part.where(Anomaly.spacecraft_id == spacecraft_id) for part in anomaly_parts
        ]
    anomalies = union_all(*anomaly_parts)

    for row in await session.execute(living):
        craft_id = read.id(row.id)
        timeline.lifetimes[craft_id] = Lifetime(
            craft_id, row.name, row.cospar_id, read.moment(row.created_at)
        )
        if row.maintenance_started and row.maintenance_starts_at is not None:
            until = min(row.maintenance_ends_at or timeline.now, timeline.now)
            timeline.maintenance[craft_id].append((row.maintenance_starts_at, until))
    for gone in await session.scalars(deleted):
        timeline.lifetimes[gone.spacecraft_id] = Lifetime(
            gone.spacecraft_id, gone.name, gone.cospar_id, gone.created_at, gone.deleted_at
        )
    for period in await session.execute(periods):
        timeline.maintenance[period.spacecraft_id].append((period.started_at, period.ended_at))
    moment, outages = read.moment, timeline.outages
    # Unpacked, not read by name: the cheaper way through tens of thousands of rows.
    for (
        raw_id,
        subsystem,
        severity,
        opened,
        acknowledged,
        resolved,
        planned,
    ) in await session.execute(anomalies):
        craft_id = read.id(raw_id)
        outages[craft_id].append(
            Outage(
                craft_id,
                subsystem,
                severity,
                moment(opened),
                moment(acknowledged),
                moment(resolved),
                planned,
            )
        )
    return timeline


async def fleet(
    session: AsyncSession, window: Window, cache: FiguresCache | None = None
) -> FleetAnalytics:
    async def compute() -> FleetAnalytics:
        timeline = await recent(session, cache)
        now = timeline.now
        return fleet_figures(window, figures.measure_fleet(timeline, now - window.length, now))

    return await cached(cache, session, ("fleet", window), compute)


LONGEST = max(Window, key=lambda window: window.length)


async def recent(session: AsyncSession, cache: FiguresCache | None = None) -> Timeline:
    """The intervals of the longest window up to now, which every fleet figure is measured
    from (any window, the console's charts, /metrics): loaded once for all of them."""

    async def compute() -> Timeline:
        now = utcnow()
        return await load(session, now - LONGEST.length, now, now=now)

    return await cached(cache, session, ("timeline", LONGEST), compute)


def fleet_figures(window: Window, measured: Figures) -> FleetAnalytics:
    def pareto(breakdown: dict[str, figures.Breakdown]) -> list[tuple[str, figures.Breakdown]]:
        return sorted(
            breakdown.items(), key=lambda item: (-item[1].downtime_seconds, -item[1].malfunctions)
        )

    return FleetAnalytics(
        window=window,
        availability=measured.availability,
        malfunctions=measured.malfunctions,
        mtta_seconds=measured.mtta_seconds,
        mttr_seconds=measured.mttr_seconds,
        mtbf_seconds=measured.mtbf_seconds,
        by_subsystem=[
            SubsystemFigures(
                subsystem=name,
                malfunctions=part.malfunctions,
                downtime_seconds=part.downtime_seconds,
            )
            for name, part in pareto(measured.by_subsystem)
        ],
        by_severity=[
            SeverityFigures(
                severity=name,
                malfunctions=part.malfunctions,
                downtime_seconds=part.downtime_seconds,
            )
            for name, part in pareto(measured.by_severity)
        ],
    )


async def spacecraft(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    window: Window,
    buckets: int,
    cache: FiguresCache | None = None,
) -> SpacecraftAvailability:
    return await cached(
        cache,
        session,
        ("spacecraft", spacecraft_id, window, buckets),
        lambda: _spacecraft(session, spacecraft_id, window, buckets),
    )


async def _spacecraft(
    session: AsyncSession, spacecraft_id: uuid.UUID, window: Window, buckets: int
) -> SpacecraftAvailability:
    now = utcnow()
    start = now - window.length
    timeline = await load(session, start, now, spacecraft_id=spacecraft_id, now=now)
    if spacecraft_id not in timeline.lifetimes and not await _ever_existed(session, spacecraft_id):
        raise NotFound(f"no spacecraft with id {spacecraft_id}")
    measured = figures.measure_spacecraft(timeline, spacecraft_id, start, now)
    return SpacecraftAvailability(
        availability=measured.availability,
        downtime_seconds=measured.downtime_seconds,
        malfunctions=measured.malfunctions,
        mttr_seconds=measured.mttr_seconds,
        buckets=[
            Bucket(
                start=low,
                end=high,
                availability=figures.measure_spacecraft(
                    timeline, spacecraft_id, low, high
                ).availability,
            )
            for low, high in figures.buckets(start, now, buckets)
        ],
    )


async def spacecraft_rows(session: AsyncSession, window: Window) -> list[SpacecraftRow]:
    """One row per spacecraft that existed in the window, least available first."""
    now = utcnow()
    start = now - window.length
    timeline = await load(session, start, now, now=now)
    rows = []
    for life in timeline.lifetimes.values():
        measured = figures.measure_spacecraft(timeline, life.spacecraft_id, start, now)
        rows.append(
            SpacecraftRow(
                spacecraft_id=life.spacecraft_id,
                name=life.name,
                cospar_id=life.cospar_id,
                deleted=life.deleted_at is not None,
                availability=measured.availability,
                observed_seconds=measured.observed_seconds,
                downtime_seconds=measured.downtime_seconds,
                malfunctions=measured.malfunctions,
                mtta_seconds=measured.mtta_seconds,
                mttr_seconds=measured.mttr_seconds,
                mtbf_seconds=measured.mtbf_seconds,
            )
        )
    rows.sort(key=lambda row: (_sort_key(row.availability), row.name))
    return rows


def _sort_key(availability: float | None) -> float:
    return 2.0 if availability is None else availability


async def _ever_existed(session: AsyncSession, spacecraft_id: uuid.UUID) -> bool:
    """A spacecraft deleted before the window still has (empty) analytics; an unknown id not."""
    if await session.get(DeletedSpacecraft, spacecraft_id) is not None:
        return True
    return await session.get(Spacecraft, spacecraft_id) is not None
