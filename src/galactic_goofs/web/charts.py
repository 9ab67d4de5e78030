"""The console's analytics charts as plain numbers for SVG templates: points, bars, labels.

Rendered on the server so the charts need no script and pass the CSP; every mark carries its
figure as text (a `<title>`), and each chart has a table beside it, so no reading relies on
colour or on seeing the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from galactic_goofs.analytics import figures
from galactic_goofs.analytics.figures import Timeline

WIDTH = 600
HEIGHT = 180
LEFT = 64
RIGHT = 12
BOTTOM = 24
TOP = 8


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    """The day and its figure, as a person reads it."""


@dataclass(frozen=True)
class Day:
    start: datetime
    end: datetime
    availability: float | None
    mtta_seconds: float | None
    mttr_seconds: float | None


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    down: bool
    """Any downtime that day: drawn hatched as well as shorter."""


def days(timeline: Timeline, start: datetime, end: datetime, count: int) -> list[Day]:
    spans = figures.buckets(start, end, count)
    return [
        Day(low, high, measured.availability, measured.mtta_seconds, measured.mttr_seconds)
        for (low, high), measured in zip(
            spans, figures.measure_fleet_buckets(timeline, spans), strict=True
        )
    ]


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.2f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def line(values: list[float | None], labels: list[str], top: float) -> list[Point]:
    """A point per known value, x by position, y scaled so `top` is the chart's top."""
    step = (WIDTH - LEFT - RIGHT) / max(len(values) - 1, 1)
    scale = (HEIGHT - BOTTOM - TOP) / top if top > 0 else 0
    return [
        Point(
            round(LEFT + index * step, 1),
            round(HEIGHT - BOTTOM - value * scale, 1),
            label,
        )
        for index, (value, label) in enumerate(zip(values, labels, strict=True))
        if value is not None
    ]


def polyline(points: list[Point]) -> str:
    return " ".join(f"{point.x},{point.y}" for point in points)


def uptime_bars(values: list[float | None], labels: list[str], height: float = 28) -> list[Bar]:
    """One bar per day: full height for a fully available day, none where nothing was seen."""
    width = 100 / len(values)
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        tall = height * (value if value is not None else 0)
        # A day with a little downtime still shows a visible notch.
        if value is not None and value < 1:
            tall = min(tall, height - 3)
        bars.append(
            Bar(
                round(index * width, 2),
                round(height - tall, 2),
                round(width * 0.8, 2),
                round(tall, 2),
                label,
                value is not None and value < 1,
            )
        )
    return bars
