"""Availability, MTTA, MTTR and MTBF from intervals: plain arithmetic, no database.

Definitions (the console says them too):
- observed time: the window's overlap with the spacecraft's existence (created .. deleted),
  minus its maintenance;
- downtime: time MALFUNCTIONING inside the observed time (so never inside maintenance);
- availability = 1 - downtime / observed, or None when nothing was observed;
- malfunctions: anomalies opened in the window, except the planned ones (opened in maintenance);
- MTTA = mean(acknowledged_at - opened_at) over anomalies acknowledged in the window;
- MTTR = mean(resolved_at - opened_at) over anomalies resolved in the window ("resolved");
- MTBF = uptime (observed - downtime) / malfunctions, or None without malfunctions.
"""

from __future__ import annotations

import bisect
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Lifetime:
    spacecraft_id: uuid.UUID
    name: str
    cospar_id: str
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outage:
    """One anomaly's interval: from its opening to its resolution (or now, if still open)."""

    spacecraft_id: uuid.UUID
    subsystem: str
    severity: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    planned: bool = False


@dataclass
class Timeline:
    """Everything measured in a window: lifetimes, maintenance and anomalies, by spacecraft."""

    now: datetime
    lifetimes: dict[uuid.UUID, Lifetime] = field(default_factory=dict)
    maintenance: dict[uuid.UUID, list[Span]] = field(default_factory=lambda: defaultdict(list))
    outages: dict[uuid.UUID, list[Outage]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Breakdown:
    malfunctions: int = 0
    downtime_seconds: float = 0.0


@dataclass
class Figures:
    observed_seconds: float = 0.0
    downtime_seconds: float = 0.0
    malfunctions: int = 0
    acknowledge_seconds: list[float] = field(default_factory=list)
    resolve_seconds: list[float] = field(default_factory=list)
    by_subsystem: dict[str, Breakdown] = field(default_factory=lambda: defaultdict(Breakdown))
    by_severity: dict[str, Breakdown] = field(default_factory=lambda: defaultdict(Breakdown))

    @property
    def availability(self) -> float | None:
        if self.observed_seconds <= 0:
            return None
        return 1 - self.downtime_seconds / self.observed_seconds

    @property
    def uptime_seconds(self) -> float:
        return self.observed_seconds - self.downtime_seconds

    @property
    def mtta_seconds(self) -> float | None:
        return _mean(self.acknowledge_seconds)

    @property
    def mttr_seconds(self) -> float | None:
        return _mean(self.resolve_seconds)

    @property
    def mtbf_seconds(self) -> float | None:
        return self.uptime_seconds / self.malfunctions if self.malfunctions else None

    def add(self, other: Figures) -> None:
        self.observed_seconds += other.observed_seconds
        self.downtime_seconds += other.downtime_seconds
        self.malfunctions += other.malfunctions
        self.acknowledge_seconds += other.acknowledge_seconds
        self.resolve_seconds += other.resolve_seconds
        for mine, theirs in (
            (self.by_subsystem, other.by_subsystem),
            (self.by_severity, other.by_severity),
        ):
            for key, part in theirs.items():
                mine[key].malfunctions += part.malfunctions
                mine[key].downtime_seconds += part.downtime_seconds


def measure_spacecraft(
    timeline: Timeline, spacecraft_id: uuid.UUID, start: datetime, end: datetime
) -> Figures:
    figures = Figures()
    life = timeline.lifetimes.get(spacecraft_id)
    if life is None:
        return figures
    observed = _observed(life, timeline.maintenance.get(spacecraft_id, ()), start, end)
    figures.observed_seconds = sum(_seconds(span) for span in observed)
    for outage in timeline.outages.get(spacecraft_id, ()):
        downtime = _overlap((outage.opened_at, outage.resolved_at or timeline.now), observed)
        figures.downtime_seconds += downtime
        opened_here = start <= outage.opened_at < end
        counted = opened_here and not outage.planned
        if counted:
            figures.malfunctions += 1
        if counted or downtime:
            for breakdown in (
                figures.by_subsystem[outage.subsystem],
                figures.by_severity[outage.severity],
            ):
                breakdown.malfunctions += counted
                breakdown.downtime_seconds += downtime
        if outage.acknowledged_at is not None and start <= outage.acknowledged_at < end:
            figures.acknowledge_seconds.append(_seconds((outage.opened_at, outage.acknowledged_at)))
        if outage.resolved_at is not None and start <= outage.resolved_at < end:
            figures.resolve_seconds.append(_seconds((outage.opened_at, outage.resolved_at)))
    return figures


def measure_fleet(timeline: Timeline, start: datetime, end: datetime) -> Figures:
    figures = Figures()
    for spacecraft_id in timeline.lifetimes:
        figures.add(measure_spacecraft(timeline, spacecraft_id, start, end))
    return figures


def measure_fleet_buckets(
    timeline: Timeline, spans: Sequence[Span], *, spacecraft_id: uuid.UUID | None = None
) -> list[Figures]:
    """`measure_fleet` (or with `spacecraft_id`, `measure_spacecraft`) for each of `spans`
    (consecutive, as `buckets` makes them), in one pass over the timeline instead of one per
    span: observed time, downtime, and the acknowledge and resolve times (not malfunctions or
    breakdowns).

    The same definitions: a span's observed time is the whole range's observed time inside
    it, its downtime the outages' downtime inside it. Times are summed in whole microseconds,
    so a span's figures do not depend on the order they are added in.
    """
    if not spans:
        return []
    start, end = spans[0][0], spans[-1][1]
    edges = [low for low, _ in spans] + [end]
    observed: list[Span] = []
    down: list[Span] = []
    result = [Figures() for _ in spans]
    if spacecraft_id is None:
        lives = list(timeline.lifetimes.items())
    else:
        life = timeline.lifetimes.get(spacecraft_id)
        lives = [(spacecraft_id, life)] if life is not None else []
    for craft_id, life in lives:
        seen = _observed(life, timeline.maintenance.get(craft_id, ()), start, end)
        observed += seen
        for outage in timeline.outages.get(craft_id, ()):
            low, high = outage.opened_at, outage.resolved_at or timeline.now
            for span_low, span_high in seen:
                if min(high, span_high) > max(low, span_low):
                    down.append((max(low, span_low), min(high, span_high)))
            for moment, into in (
                (outage.acknowledged_at, "acknowledge_seconds"),
                (outage.resolved_at, "resolve_seconds"),
            ):
                if moment is not None and start <= moment < end:
                    index = bisect.bisect_right(edges, moment) - 1
                    getattr(result[index], into).append(_seconds((outage.opened_at, moment)))
    for figures, seconds in zip(result, _inside(observed, edges), strict=True):
        figures.observed_seconds = seconds
    for figures, seconds in zip(result, _inside(down, edges), strict=True):
        figures.downtime_seconds = seconds
    return result


def _inside(spans: Sequence[Span], edges: Sequence[datetime]) -> list[float]:
    """Seconds of `spans` between each two consecutive `edges`.

    The time covered before an edge, summed over all spans at once: the covered time from
    `origin` (all in whole microseconds) up to each edge, differenced.
    """
    origin = edges[0]
    micro = timedelta(microseconds=1)
    lows = numpy.array([(low - origin) // micro for low, _ in spans], dtype=numpy.int64)
    highs = numpy.array([(high - origin) // micro for _, high in spans], dtype=numpy.int64)
    lengths = highs - lows
    covered = [
        int(numpy.clip((edge - origin) // micro - lows, 0, lengths).sum()) if len(spans) else 0
        for edge in edges
    ]
    return [(after - before) / 1_000_000 for before, after in itertools.pairwise(covered)]


def buckets(start: datetime, end: datetime, count: int) -> list[Span]:
    """`count` equal consecutive spans covering start .. end."""
    step = (end - start) / count
    return [
        (start + step * i, end if i == count - 1 else start + step * (i + 1)) for i in range(count)
    ]


def _observed(
    life: Lifetime, maintenance: Iterable[Span], start: datetime, end: datetime
) -> list[Span]:
    low = max(start, life.created_at)
    high = min(end, life.deleted_at) if life.deleted_at is not None else end
    if low >= high:
        return []
    spans = [(low, high)]
    for hole_start, hole_end in sorted(maintenance):
        spans = [piece for span in spans for piece in _minus(span, (hole_start, hole_end))]
    return spans


def _minus(span: Span, hole: Span) -> list[Span]:
    (low, high), (hole_low, hole_high) = span, hole
    if hole_high <= low or hole_low >= high:
        return [span]
    pieces = []
    if hole_low > low:
        pieces.append((low, hole_low))
    if hole_high < high:
        pieces.append((hole_high, high))
    return pieces


def _overlap(interval: Span, spans: Sequence[Span]) -> float:
    low, high = interval
    total = 0.0
    for span_low, span_high in spans:
        shared = min(high, span_high) - max(low, span_low)
        if shared > timedelta(0):
            total += shared.total_seconds()
    return total


def _seconds(span: Span) -> float:
    return (span[1] - span[0]).total_seconds()


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
