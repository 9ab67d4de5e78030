"""Computed analytics kept for a few seconds, while nothing they are made from has changed.

Measuring the fleet reads every interval that touches the window (tens of thousands at
100,000 anomalies) and the console page asks for it again after every event, from every open
browser; a scrape of `/metrics` asks too. An entry answers for as long as

- the log's head and the analytics consumer's cursor are where they were when it was
  computed (a change, or the consumer catching up on one, makes the next read compute
  again), and
- it is younger than `ttl` seconds, by the clock the figures are measured with (a window
  slides with time: after a quiet `ttl` the figures are measured again, so they are never
  more than `ttl` old).

A reader that can live with figures a moment old (`fresh_within`: the console's charts, asked
for by every open page after events) takes an entry of that age whatever happened since: at
20 changes a second the version moves before every read, and fifty open pages would each
measure the fleet again. For such a reader an entry also stays fresh for `COST_MULTIPLE` times
what it took to compute: on a long history (a second to measure a million events) the charts
then cost at most a tenth of the server's time however many pages are open, and on a small
one they are as fresh as asked.

Figures are computed once however many readers ask at once (a lock per key). Per process:
each worker of `goofs serve --workers N` keeps its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.analytics.intervals import AvailabilityIntervals
from galactic_goofs.db import utcnow
from galactic_goofs.events.models import ConsumerCursor, EventLogHead

T = TypeVar("T")
TTL_SECONDS = 5.0
COST_MULTIPLE = 10.0
MAX_ENTRIES = 256

_VERSION = select(
    EventLogHead.last_seq,
    select(ConsumerCursor.last_seq)
    .where(ConsumerCursor.name == AvailabilityIntervals.name)
    .scalar_subquery(),
).where(EventLogHead.id == 1)


@dataclass
class _Entry:
    version: tuple[int, int | None]
    at: datetime
    value: Any
    cost: float = 0.0
    """Seconds it took to compute."""


@dataclass
class FiguresCache:
    ttl: float = TTL_SECONDS
    timer: Callable[[], float] = time.perf_counter
    """What a computation's cost is measured with."""
    _entries: dict[Hashable, _Entry] = field(default_factory=dict)
    _locks: dict[Hashable, asyncio.Lock] = field(default_factory=dict)

    async def get(
        self,
        session: AsyncSession,
        key: Hashable,
        compute: Callable[[], Awaitable[T]],
        *,
        fresh_within: float = 0.0,
    ) -> T:
        """The cached value for `key`, or `compute()`'s (read with `session`), kept. With
        `fresh_within`, an entry younger than that (or than `COST_MULTIPLE` times its cost)
        answers without looking at the version."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            now = utcnow()
            entry = self._entries.get(key)
            age = abs((now - entry.at).total_seconds()) if entry is not None else None
            if (
                fresh_within
                and entry is not None
                and age is not None
                and age < max(fresh_within, COST_MULTIPLE * entry.cost)
            ):
                recent: T = entry.value
                return recent
            row = (await session.execute(_VERSION)).one_or_none()
            version = (row[0], row[1]) if row is not None else (0, None)
            if (
                entry is not None
                and age is not None
                and entry.version == version
                and age < self.ttl
            ):
                value: T = entry.value
                return value
            started = self.timer()
            value = await compute()
            cost = self.timer() - started
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
                self._locks = {k: held for k, held in self._locks.items() if held.locked()}
            self._entries[key] = _Entry(version, now, value, cost)
            return value


async def cached(
    cache: FiguresCache | None,
    session: AsyncSession,
    key: Hashable,
    compute: Callable[[], Awaitable[T]],
    *,
    fresh_within: float = 0.0,
) -> T:
    """`cache.get(...)`, or just `compute()` without a cache."""
    if cache is None:
        return await compute()
    return await cache.get(session, key, compute, fresh_within=fresh_within)
