"""A fleet with a long past, written straight into a SQLite database for benchmarks.

`seed(path)` migrates a new database and fills it as months of use through the write path
would have left it, in about a minute of one core (10,000 spacecraft, 1,000,000 events,
100,000 anomalies: some 70 s of CPU, a 1 GB file) instead of months of simulation:

- spacecraft (living, and some deleted, whose lifetimes the analytics consumer kept);
- anomalies opened by malfunctions, most acknowledged and resolved by a repair, some still
  open (acknowledged, shelved or neither), some planned (opened in a maintenance window),
  some with notes;
- maintenance windows: ended ones (with the consumer's `maintenance_periods` rows) and a few
  in progress;
- the event log: every change above as the event the write path records (same types, same
  data), seq gap-free in time order, topped up to the asked-for count with orbit updates
  (a daily element set, as `goofs import-tle` would give); each living spacecraft's latest
  element set is in `element_sets`;
- what the durable consumers built from that log (`event_tallies`, `deleted_spacecraft`,
  `maintenance_periods`) and their cursors at the head, so a server started on it replays
  nothing.

The rows are written with the driver's `executemany` through each column's own SQLAlchemy
bind processor (`_insert`), so every value is stored exactly as the app stores it. Consumers
the app does not know of when this runs (`galactic_goofs.app.CONSUMERS` and the webhook
dispatcher are the ones it knows) get no cursor, and would read the whole log from the start.

Start the server with `GOOFS_EVENT_RETENTION=0` to keep the whole log (the default keeps the
newest 100,000 events and prunes the rest).

    python -m bench.history goofs.db --spacecraft 10000 --events 1000000 --anomalies 100000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, create_engine, func, insert, select, update

from galactic_goofs import migrate
from galactic_goofs.analytics.models import DeletedSpacecraft, EventTally, MaintenancePeriod
from galactic_goofs.anomalies.models import Anomaly, AnomalyNote
from galactic_goofs.app import CONSUMERS
from galactic_goofs.db import Database
from galactic_goofs.events.models import ConsumerCursor, Event, EventLogHead
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet.faults import CATALOG, FaultTemplate
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.notifications.dispatch import CONSUMER_NAME as WEBHOOK_CONSUMER
from galactic_goofs.orbits.elements import checksum
from galactic_goofs.orbits.models import ElementSet

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
CHUNK = 20_000
"""Rows per executemany."""
CACHE_KIB = 512 * 1024
"""SQLite's page cache while seeding: the indexes of a million events stay in memory."""

SIMULATOR = "simulator"
CLOCK = "clock"
IMPORT = "import"
OPERATORS = ("ada", "grace", "katherine", "margaret")
RESOLUTIONS = ("Turned it off and on again", "Patched the flight software", None)
NOTES = (
    "Telemetry looks stable after the reset.",
    "Vendor says this is a known quirk; watching it.",
    "Ground station saw it too, so it is not our receiver.",
)
SHELVE_REASON = "Known quirk, waiting for a pass"
FAULT_KEYS = ("subsystem", "severity", "description", "since")

# Moment kinds, in the order events at the very same microsecond are recorded.
CREATED, MAINTENANCE_STARTED, MALFUNCTIONED, ACKNOWLEDGED, NOTED, SHELVED = range(6)
REPAIRED, MAINTENANCE_ENDED, ORBIT_UPDATED, DELETED = range(6, 10)


@dataclass
class Seeded:
    """What `seed` wrote: counts, and ids a benchmark can ask about."""

    database_url: str
    spacecraft: int
    deleted: int
    events: int
    anomalies: int
    open_anomalies: int
    notes: int
    maintenance_periods: int
    seconds: float
    busiest_spacecraft_id: uuid.UUID
    """The living spacecraft with the most anomalies (the heaviest uptime bars)."""
    now: datetime


@dataclass
class _Craft:
    index: int
    id: uuid.UUID
    name: str
    cospar_id: str
    norad_id: int | None
    created: int
    deleted: int | None = None
    maintenance: list[tuple[int, int]] = field(default_factory=list)
    current_maintenance: tuple[int, int] | None = None
    """A window in progress at `now`: (starts, ends), ends after now."""
    anomalies: list[_Anomaly] = field(default_factory=list)
    # The row as the events so far left it.
    version: int = 1
    updated: int = 0
    fault: FaultTemplate | None = None
    fault_since: int | None = None
    anomaly: _Anomaly | None = None
    window: tuple[int, int] | None = None
    orbit_epoch: int | None = None

    id_text: str = field(init=False)

    def __post_init__(self) -> None:
        self.id_text = str(self.id)


@dataclass
class _Anomaly:
    id: uuid.UUID
    craft: _Craft
    fault: FaultTemplate
    opened: int
    acknowledged: int | None
    resolved: int | None
    shelved: int | None = None
    shelved_until: int | None = None
    notes: list[int] = field(default_factory=list)
    planned: bool = False
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    state: str = "open"
    # How far its events have got (`_Anomaly.read` shows it as of then).
    shown_acknowledged: bool = False
    shown_shelved: bool = False
    shown_resolved: bool = False

    id_text: str = field(init=False)

    def __post_init__(self) -> None:
        self.id_text = str(self.id)


def seed(
    database: str | Path,
    *,
    spacecraft: int = 10_000,
    events: int = 1_000_000,
    anomalies: int = 100_000,
    open_anomalies: int | None = None,
    deleted: int | None = None,
    days: int = 90,
    now: datetime | None = None,
    random_seed: int = 17,
) -> Seeded:
    """Migrate the SQLite database at `database` (a path or a `sqlite:///` URL; it must not
    hold a fleet yet) and write the history described in the module's docstring.

    `spacecraft` living at `now`, plus `deleted` (default 1%) that were deleted during the
    history; `anomalies` in all, of which `open_anomalies` (default 1%) are still unresolved,
    one per spacecraft; `events` in the log exactly (ValueError if the history needs more).
    The history spans `days` before `now` (default: the current time); the same arguments
    and `random_seed` give the same history. Call it outside a running event loop (it
    migrates with `asyncio.run`). No `ANALYZE` is run: the query planner sees what it sees in
    a deployment, which never runs one either.
    """
    started = time.perf_counter()
    url = _sqlite_url(database)
    now = now or datetime.now(UTC)
    open_count = anomalies // 100 if open_anomalies is None else open_anomalies
    deleted_count = spacecraft // 100 if deleted is None else deleted
    if open_count > min(spacecraft, anomalies):
        raise ValueError("at most one open anomaly per spacecraft, and no more than anomalies")
    asyncio.run(_migrate(url))
    history = _History(random.Random(random_seed), _us(now), days)
    history.plan(spacecraft, deleted_count, anomalies, open_count, events)

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
            if connection.scalar(select(func.count()).select_from(Spacecraft)) or connection.scalar(
                select(func.count()).select_from(Event)
            ):
                raise ValueError(f"{database} already has a fleet or events; seed a new one")
            written = history.write(connection)
    finally:
        engine.dispose()
    busiest = max(history.crafts[:spacecraft], key=lambda craft: len(craft.anomalies))
    return Seeded(
        database_url=url,
        spacecraft=spacecraft,
        deleted=deleted_count,
        events=written,
        anomalies=anomalies,
        open_anomalies=open_count,
        notes=history.note_count,
        maintenance_periods=history.period_count,
        seconds=time.perf_counter() - started,
        busiest_spacecraft_id=busiest.id,
        now=now,
    )


def _sqlite_url(database: str | Path) -> str:
    text_url = str(database)
    if "://" not in text_url:
        return f"sqlite:///{Path(text_url).resolve()}"
    if not text_url.startswith("sqlite"):
        raise ValueError("the history is written into SQLite databases only")
    scheme, rest = text_url.split("://", 1)
    return f"sqlite://{rest}" if scheme != "sqlite" else text_url


async def _migrate(url: str) -> None:
    db = Database(url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


@lru_cache(maxsize=1 << 16)
def _time(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _optional_time(us: int | None) -> datetime | None:
    return None if us is None else _time(us)


@lru_cache(maxsize=1 << 16)
def _iso(us: int | None) -> str | None:
    """As pydantic writes a UTC time into an event's JSON (one time is written many times)."""
    if us is None:
        return None
    return _time(us).isoformat().replace("+00:00", "Z")


@cache
def _fault(template: FaultTemplate) -> tuple[str, str, str]:
    return template.subsystem.value, template.severity.value, template.description


class _History:
    def __init__(self, rng: random.Random, now: int, days: int) -> None:
        self.rng = rng
        self.now = now
        self.begins = now - days * DAY
        self.crafts: list[_Craft] = []
        self.moments: list[tuple[int, int, int, int]] = []
        """(time, kind, craft index, anomaly index within the craft or note number)."""
        self.note_count = 0
        self.period_count = 0

    # Planning: who exists when, and what happens to each, as (time, kind) moments.

    def plan(self, living: int, deleted: int, anomalies: int, open_count: int, events: int) -> None:
        rng = self.rng
        span = self.now - self.begins
        for index in range(living + deleted):
            if index < living and rng.random() < 0.1:
                created = self.begins + rng.randrange(span - HOUR)  # joined lately
            else:
                created = self.begins + rng.randrange(span // 10)
            launch, piece = divmod(index, 24)
            self.crafts.append(
                _Craft(
                    index=index,
                    id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    name=f"Goof {index:05d}",
                    cospar_id=f"{1960 + launch // 999}-{launch % 999 + 1:03d}"
                    f"{'ABCDEFGHJKLMNPQRSTUVWXYZ'[piece]}",
                    norad_id=index + 1 if index < living else None,
                    created=created,
                )
            )
        for craft in self.crafts[living:]:
            assert craft.created < self.now - DAY
            craft.deleted = craft.created + rng.randrange(HOUR, self.now - craft.created)
        for craft in self.crafts[:living]:
            end = self.now
            if rng.random() < 0.1 and end - craft.created > 3 * DAY:
                starts = craft.created + rng.randrange(DAY, end - craft.created - DAY)
                craft.maintenance.append((starts, starts + rng.randrange(2 * HOUR, 12 * HOUR)))
        chosen_open = rng.sample(range(living), open_count)
        opened_now = set(chosen_open)
        for index in rng.sample(range(living), living // 100):
            if index not in opened_now and self.now - self.crafts[index].created > DAY:
                starts = self.now - rng.randrange(30 * MINUTE, 6 * HOUR)
                self.crafts[index].current_maintenance = (
                    starts,
                    self.now + rng.randrange(HOUR, 12 * HOUR),
                )

        counts = Counter(chosen_open)
        weights = [
            ((craft.deleted or self.now) - craft.created) * rng.lognormvariate(0, 0.8)
            for craft in self.crafts
        ]
        counts.update(rng.choices(range(len(self.crafts)), weights, k=anomalies - open_count))
        for index, count in counts.items():
            self._anomalies(self.crafts[index], count, index in opened_now)

        for craft in self.crafts:
            end = craft.deleted or self.now
            self.moments.append((craft.created, CREATED, craft.index, 0))
            if craft.deleted is not None:
                self.moments.append((craft.deleted, DELETED, craft.index, 0))
            for starts, ends in craft.maintenance:
                self.moments.append((starts, MAINTENANCE_STARTED, craft.index, 0))
                self.moments.append((ends, MAINTENANCE_ENDED, craft.index, 0))
            if craft.current_maintenance is not None:
                self.moments.append(
                    (craft.current_maintenance[0], MAINTENANCE_STARTED, craft.index, 1)
                )
            windows = [*craft.maintenance, *filter(None, [craft.current_maintenance])]
            for number, anomaly in enumerate(craft.anomalies):
                anomaly.planned = any(low <= anomaly.opened < high for low, high in windows)
                self.moments.append((anomaly.opened, MALFUNCTIONED, craft.index, number))
                if anomaly.acknowledged is not None:
                    self.moments.append((anomaly.acknowledged, ACKNOWLEDGED, craft.index, number))
                if anomaly.shelved is not None:
                    self.moments.append((anomaly.shelved, SHELVED, craft.index, number))
                for moment in anomaly.notes:
                    self.moments.append((moment, NOTED, craft.index, number))
                if anomaly.resolved is not None:
                    self.moments.append((anomaly.resolved, REPAIRED, craft.index, number))
            assert not craft.anomalies or craft.anomalies[-1].opened < end

        orbits = events - len(self.moments)
        if orbits < 0:
            raise ValueError(
                f"this history needs {len(self.moments):,} events before any orbit update; "
                f"ask for at least that many"
            )
        for _ in range(orbits):
            craft = self.crafts[rng.randrange(living)]
            self.moments.append(
                (
                    craft.created + 1 + rng.randrange(self.now - craft.created - 1),
                    ORBIT_UPDATED,
                    craft.index,
                    0,
                )
            )
        self.moments.sort()

    def _anomalies(self, craft: _Craft, count: int, still_open: bool) -> None:
        """`count` anomalies one after another over its lifetime, the last open if asked."""
        rng = self.rng
        end = craft.deleted or self.now
        slot = (end - craft.created) // count
        for number in range(count):
            low = craft.created + number * slot
            last_open = still_open and number == count - 1
            if last_open:
                opened = end - rng.randrange(max(1, min(slot // 2, 3 * DAY)))
                opened = max(opened, low + 1)
                room = end - opened
            else:
                opened = low + 1 + int(slot * rng.uniform(0.05, 0.5))
                room = low + slot - opened - 1
            duration = min(int(rng.lognormvariate(math.log(2 * HOUR), 1.0)), int(room * 0.9))
            duration = max(duration, 2)
            acknowledged: int | None = None
            if rng.random() < (0.5 if last_open else 0.9):  # the open ones: half on the queue
                delay = int(rng.lognormvariate(math.log(15 * MINUTE), 1.0))
                acknowledged = opened + 1 + min(delay, duration // 2)
            anomaly = _Anomaly(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                craft=craft,
                fault=rng.choice(CATALOG),
                opened=opened,
                acknowledged=None if last_open and acknowledged is None else acknowledged,
                resolved=None if last_open else opened + duration,
            )
            if last_open:
                if acknowledged is not None and acknowledged >= end:
                    anomaly.acknowledged = None
                if rng.random() < 0.1:
                    anomaly.shelved = opened + 1 + rng.randrange(max(1, end - opened - 2))
                    if anomaly.acknowledged is not None and anomaly.shelved <= anomaly.acknowledged:
                        anomaly.shelved = None
                    else:
                        anomaly.shelved_until = end + rng.randrange(HOUR, 2 * DAY)
            if rng.random() < 0.25:
                finish = anomaly.resolved or end
                for _ in range(rng.randint(1, 2)):
                    anomaly.notes.append(opened + 1 + rng.randrange(max(1, finish - opened - 2)))
                anomaly.notes.sort()
            craft.anomalies.append(anomaly)

    # Writing: the events in seq order, each with the data the write path gives it.

    def write(self, connection: Connection) -> int:
        self.tallies: Counter[tuple[Any, str]] = Counter()
        self.periods: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        seq = 0
        for rows in _chunks(self._events()):
            _insert(connection, Event.__table__, rows)  # type: ignore[arg-type]
            seq += len(rows)
        connection.execute(update(EventLogHead).where(EventLogHead.id == 1).values(last_seq=seq))
        stamp = _time(self.now)
        names = {make().name for make in CONSUMERS} | {WEBHOOK_CONSUMER}
        connection.execute(
            insert(ConsumerCursor),
            [{"name": name, "last_seq": seq, "updated_at": stamp} for name in sorted(names)],
        )
        connection.execute(
            insert(EventTally),
            [
                {"day": day, "type": kind, "count": count}
                for (day, kind), count in self.tallies.items()
            ],
        )
        self.period_count = len(self.periods)
        _insert(connection, MaintenancePeriod.__table__, self.periods)  # type: ignore[arg-type]
        self.note_count = len(self.notes)
        _insert(connection, Spacecraft.__table__, self._spacecraft_rows())  # type: ignore[arg-type]
        _insert(connection, ElementSet.__table__, self._element_sets())  # type: ignore[arg-type]
        _insert(connection, DeletedSpacecraft.__table__, self._deleted_rows())  # type: ignore[arg-type]
        _insert(connection, Anomaly.__table__, self._anomaly_rows())  # type: ignore[arg-type]
        _insert(connection, AnomalyNote.__table__, self.notes)  # type: ignore[arg-type]
        return seq

    def _events(self) -> Iterator[dict[str, Any]]:
        for seq, (moment, kind, index, number) in enumerate(self.moments, start=1):
            craft = self.crafts[index]
            event_type, actor, data = self._happen(craft, moment, kind, number)
            self.tallies[(_time(moment).date(), event_type.value)] += 1
            yield {
                "seq": seq,
                "type": event_type.value,
                "spacecraft_id": craft.id,
                "actor": actor,
                "occurred_at": _time(moment),
                "data": data,
            }

    def _happen(
        self, craft: _Craft, moment: int, kind: int, number: int
    ) -> tuple[EventType, str, dict[str, Any]]:
        if kind == CREATED:
            craft.updated = moment
            return EventType.CREATED, IMPORT, {"spacecraft": self._snapshot(craft)}
        if kind == DELETED:
            self._touch(craft, moment)
            return EventType.DELETED, OPERATORS[0], {"spacecraft": self._snapshot(craft)}
        if kind == MAINTENANCE_STARTED:
            craft.window = craft.current_maintenance if number else _window_at(craft, moment)
            self._touch(craft, moment)
            return (
                EventType.MAINTENANCE_STARTED,
                OPERATORS[1],
                {"spacecraft": self._snapshot(craft)},
            )
        if kind == MAINTENANCE_ENDED:
            before = self._maintenance(craft)
            assert craft.window is not None
            self.periods.append(
                {
                    "spacecraft_id": craft.id,
                    "started_at": _time(min(craft.window[0], moment)),
                    "ended_at": _time(moment),
                }
            )
            craft.window = None
            self._touch(craft, moment)
            ended = {"spacecraft": self._snapshot(craft), "maintenance": before}
            return EventType.MAINTENANCE_ENDED, CLOCK, ended
        if kind == ORBIT_UPDATED:
            craft.orbit_epoch = moment - self.rng.randrange(HOUR, 6 * HOUR)
            self._touch(craft, moment)
            orbit = {"source": "tle", "epoch": _iso(craft.orbit_epoch), "norad_id": craft.norad_id}
            return (
                EventType.ORBIT_UPDATED,
                IMPORT,
                {"spacecraft": self._snapshot(craft), "orbit": orbit},
            )
        anomaly = craft.anomalies[number]
        if kind == MALFUNCTIONED:
            craft.fault, craft.fault_since, craft.anomaly = anomaly.fault, moment, anomaly
            self._touch(craft, moment)
            snapshot = self._snapshot(craft)
            return (
                EventType.MALFUNCTIONED,
                SIMULATOR,
                {
                    "spacecraft": snapshot,
                    "fault": snapshot["fault"],
                    "anomaly_id": anomaly.id_text,
                    "anomaly": self._anomaly(anomaly),
                    "planned": anomaly.planned,
                },
            )
        if kind == REPAIRED:
            fault = self._snapshot(craft)["fault"]
            anomaly.state, anomaly.shown_resolved = "resolved", True
            anomaly.resolved_by = self.rng.choice(OPERATORS)
            anomaly.resolution = self.rng.choice(RESOLUTIONS)
            craft.fault, craft.fault_since, craft.anomaly = None, None, None
            self._touch(craft, moment)
            return (
                EventType.REPAIRED,
                anomaly.resolved_by,
                {
                    "spacecraft": self._snapshot(craft),
                    "fault": fault,
                    "anomaly_id": anomaly.id_text,
                    "anomaly": self._anomaly(anomaly),
                },
            )
        actor = self.rng.choice(OPERATORS)
        details: dict[str, Any] = {}
        if kind == ACKNOWLEDGED:
            anomaly.state, anomaly.shown_acknowledged = "acknowledged", True
            anomaly.acknowledged_by = actor
            event_type = EventType.ACKNOWLEDGED
            self._touch(craft, moment)
        elif kind == SHELVED:
            anomaly.state, anomaly.shown_shelved = "shelved", True
            event_type = EventType.SHELVED
            self._touch(craft, moment)
        else:
            note = {
                "id": len(self.notes) + 1,
                "anomaly_id": anomaly.id,
                "author": actor,
                "text": self.rng.choice(NOTES),
                "created_at": _time(moment),
            }
            self.notes.append(note)
            details["note"] = {**note, "anomaly_id": anomaly.id_text, "created_at": _iso(moment)}
            event_type = EventType.NOTED
        data: dict[str, Any] = {
            "anomaly_id": anomaly.id_text,
            "anomaly": self._anomaly(anomaly),
            **details,
        }
        data["spacecraft"] = self._snapshot(craft)
        return event_type, actor, data

    def _touch(self, craft: _Craft, moment: int) -> None:
        craft.version += 1
        craft.updated = moment

    def _maintenance(self, craft: _Craft) -> dict[str, Any] | None:
        if craft.window is None:
            return None
        return {
            "starts_at": _iso(craft.window[0]),
            "until": _iso(craft.window[1]),
            "reason": "Planned software update",
            "active": True,
        }

    def _snapshot(self, craft: _Craft) -> dict[str, Any]:
        """`SpacecraftRead` as JSON, as the row is now."""
        anomaly = craft.anomaly
        return {
            "id": craft.id_text,
            "name": craft.name,
            "cospar_id": craft.cospar_id,
            "norad_id": craft.norad_id,
            "status": "NOMINAL" if craft.fault is None else "MALFUNCTIONING",
            "fault": None
            if craft.fault is None
            else dict(
                zip(FAULT_KEYS, (*_fault(craft.fault), _iso(craft.fault_since)), strict=True)
            ),
            "created_at": _iso(craft.created),
            "updated_at": _iso(craft.updated),
            "version": craft.version,
            "anomaly": None
            if anomaly is None
            else {
                "id": anomaly.id_text,
                "state": anomaly.state,
                "acknowledged_by": anomaly.acknowledged_by,
            },
            "maintenance": self._maintenance(craft),
        }

    def _anomaly(self, anomaly: _Anomaly) -> dict[str, Any]:
        """`AnomalyRead` as JSON, as its events so far left it."""
        subsystem, severity, description = _fault(anomaly.fault)
        acknowledged, shelved, resolved = (
            anomaly.shown_acknowledged,
            anomaly.shown_shelved,
            anomaly.shown_resolved,
        )
        return {
            "id": anomaly.id_text,
            "spacecraft_id": anomaly.craft.id_text,
            "subsystem": subsystem,
            "severity": severity,
            "description": description,
            "state": anomaly.state,
            "planned": anomaly.planned,
            "opened_at": _iso(anomaly.opened),
            "opened_by": SIMULATOR,
            "acknowledged_at": _iso(anomaly.acknowledged) if acknowledged else None,
            "acknowledged_by": anomaly.acknowledged_by if acknowledged else None,
            "acknowledge_comment": None,
            "assignee": None,
            "shelved_until": _iso(anomaly.shelved_until) if shelved else None,
            "shelve_reason": SHELVE_REASON if shelved else None,
            "resolved_at": _iso(anomaly.resolved) if resolved else None,
            "resolved_by": anomaly.resolved_by if resolved else None,
            "resolution": anomaly.resolution if resolved else None,
        }

    def _anomaly_row(self, anomaly: _Anomaly) -> dict[str, Any]:
        """The anomaly's row as all its events left it."""
        subsystem, severity, description = _fault(anomaly.fault)
        return {
            "id": anomaly.id,
            "spacecraft_id": anomaly.craft.id,
            "subsystem": subsystem,
            "severity": severity,
            "description": description,
            "state": anomaly.state,
            "planned": anomaly.planned,
            "opened_at": _time(anomaly.opened),
            "opened_by": SIMULATOR,
            "acknowledged_at": _optional_time(anomaly.acknowledged),
            "acknowledged_by": anomaly.acknowledged_by,
            "acknowledge_comment": None,
            "assignee": None,
            "shelved_until": _optional_time(anomaly.shelved_until),
            "shelve_reason": SHELVE_REASON if anomaly.shelved is not None else None,
            "resolved_at": _optional_time(anomaly.resolved),
            "resolved_by": anomaly.resolved_by,
            "resolution": anomaly.resolution,
        }

    def _anomaly_rows(self) -> Iterator[dict[str, Any]]:
        for craft in self.crafts:
            for anomaly in craft.anomalies:
                yield self._anomaly_row(anomaly)

    def _spacecraft_rows(self) -> Iterator[dict[str, Any]]:
        for craft in self.crafts:
            if craft.deleted is not None:
                continue
            fault, anomaly, window = craft.fault, craft.anomaly, craft.window
            yield {
                "id": craft.id,
                "name": craft.name,
                "cospar_id": craft.cospar_id,
                "norad_id": craft.norad_id,
                "status": "NOMINAL" if fault is None else "MALFUNCTIONING",
                "fault_subsystem": fault.subsystem.value if fault else None,
                "fault_severity": fault.severity.value if fault else None,
                "fault_description": fault.description if fault else None,
                "fault_since": _time(craft.fault_since) if craft.fault_since else None,
                "created_at": _time(craft.created),
                "updated_at": _time(craft.updated),
                "version": craft.version,
                "anomaly_id": anomaly.id if anomaly else None,
                "anomaly_state": anomaly.state if anomaly else None,
                "anomaly_acknowledged_by": anomaly.acknowledged_by if anomaly else None,
                "maintenance_starts_at": _time(window[0]) if window else None,
                "maintenance_ends_at": _time(window[1]) if window else None,
                "maintenance_reason": "Planned software update" if window else None,
                "maintenance_started": window is not None,
            }

    def _element_sets(self) -> Iterator[dict[str, Any]]:
        for craft in self.crafts:
            if craft.deleted is None and craft.orbit_epoch is not None:
                assert craft.norad_id is not None
                yield {
                    "spacecraft_id": craft.id,
                    "source": "tle",
                    "raw": _tle(craft.norad_id, _time(craft.orbit_epoch)),
                    "epoch": _time(craft.orbit_epoch),
                    "norad_id": craft.norad_id,
                    "updated_at": _time(craft.updated),
                }

    def _deleted_rows(self) -> Iterator[dict[str, Any]]:
        for craft in self.crafts:
            if craft.deleted is not None:
                yield {
                    "spacecraft_id": craft.id,
                    "name": craft.name,
                    "cospar_id": craft.cospar_id,
                    "created_at": _time(craft.created),
                    "deleted_at": _time(craft.deleted),
                }


def _window_at(craft: _Craft, moment: int) -> tuple[int, int]:
    return next(window for window in craft.maintenance if window[0] == moment)


def _tle(norad_id: int, epoch: datetime) -> str:
    """A low orbit's two lines (planes spread by NORAD number), valid checksums."""
    day = epoch.timetuple().tm_yday + (
        epoch - epoch.replace(hour=0, minute=0, second=0, microsecond=0)
    ) / timedelta(days=1)
    node, anomaly = (norad_id * 37) % 360, (norad_id * 131) % 360
    stamp = f"{epoch.year % 100:02d}{day:012.8f}"
    first = f"1 {norad_id:05d}U 20001A   {stamp}  .00001000  00000-0  10000-3 0  999"
    second = (
        f"2 {norad_id:05d}  53.0000 {node:8.4f} 0001000  90.0000 {anomaly:8.4f} 15.0600000010000"
    )
    return "\n".join(line + str(checksum(line)) for line in (first, second))


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(connection: Connection, table: Table, rows: Any) -> None:
    """`INSERT` of many rows (dicts with the same keys) with the driver's executemany: each
    value goes through its column's own bind processor, so it is stored as
    `connection.execute(insert(table), rows)` would store it, without that call's per-row work
    (half the time of a million events)."""
    dialect = connection.dialect
    for chunk in _chunks(iter(rows)):
        keys = list(chunk[0])
        compiled = insert(table).compile(dialect=dialect, column_keys=keys)
        assert list(compiled.positiontup or ()) == keys, "expects SQLite's positional qmark"
        processors = [table.columns[key].type._cached_bind_processor(dialect) for key in keys]
        connection.exec_driver_sql(
            str(compiled),
            [
                tuple(
                    value if process is None else process(value)
                    for value, process in zip(row.values(), processors, strict=True)
                )
                for row in chunk
            ],
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Write a fleet's long history into a new SQLite file."
    )
    parser.add_argument("database", help="path of the SQLite file (created and migrated)")
    parser.add_argument("--spacecraft", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--anomalies", type=int, default=100_000)
    parser.add_argument("--open-anomalies", type=int, default=None)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    seeded = seed(
        args.database,
        spacecraft=args.spacecraft,
        events=args.events,
        anomalies=args.anomalies,
        open_anomalies=args.open_anomalies,
        days=args.days,
    )
    print(seeded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
