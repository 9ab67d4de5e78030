"""The console's analytics page and its live charts fragment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.analytics import figures
from galactic_goofs.analytics import service as analytics
from galactic_goofs.analytics.cache import FiguresCache, cached
from galactic_goofs.analytics.figures import Timeline
from galactic_goofs.analytics.schemas import Window
from galactic_goofs.auth.dependencies import MaybeSignedIn
from galactic_goofs.db import utcnow
from galactic_goofs.deps import ReadSession, StateDep
from galactic_goofs.events import service as events
from galactic_goofs.web import charts, rendering

router = APIRouter(include_in_schema=False)
templates = rendering.templates
templates.env.filters["percent"] = charts.percent
templates.env.filters["duration"] = charts.duration

DAYS = 30
CHARTS_FRESH_SECONDS = 1.0
"""How old the charts a page re-fetches may be. A page asks 3 s after an event (console.js
`SUMMARY_EVERY_MS`), so what it gets was measured at least 2 s after that event: time for the
analytics consumer to have taken it in."""
LEAST_AVAILABLE = 10
PARETO_ROW = 26


@dataclass(frozen=True)
class ParetoBar:
    name: str
    y: float
    width: float
    text: str
    label: str


@dataclass(frozen=True)
class LeastAvailable:
    id: uuid.UUID
    name: str
    deleted: bool
    availability: float | None
    malfunctions: int
    bars: list[charts.Bar]


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request, state: StateDep, session: ReadSession, operator: MaybeSignedIn
) -> HTMLResponse:
    seq = await events.last_seq(session)  # first: later changes stream in and refresh the charts
    context = {"seq": seq, "operator": operator, **await charts_context(session, state.analytics)}
    return templates.TemplateResponse(request, "analytics.html", context)


@router.get("/console/analytics/charts", response_class=HTMLResponse)
async def analytics_charts(state: StateDep, session: ReadSession) -> HTMLResponse:
    """The charts as the page shows them. Every open page asks within seconds of the others
    (the same events reach them all together), so the HTML is made once and shared like the
    figures it shows."""

    async def render() -> str:
        context = await charts_context(session, state.analytics)
        return templates.get_template("_analytics_charts.html").render(context)

    html = await cached(
        state.analytics, session, ("charts-html",), render, fresh_within=CHARTS_FRESH_SECONDS
    )
    return HTMLResponse(html)


async def charts_context(
    session: AsyncSession, cache: FiguresCache | None = None
) -> dict[str, Any]:
    """What the charts show, cached while the log stands still (a page loaded now shows it all)."""
    return await cached(cache, session, ("charts",), lambda: _charts_context(session, cache))


async def _charts_context(session: AsyncSession, cache: FiguresCache | None) -> dict[str, Any]:
    timeline = await analytics.recent(session, cache)
    now = timeline.now
    start = now - Window.MONTH.length
    days = charts.days(timeline, start, now, DAYS)
    names = [day.end.strftime("%d %b") for day in days]
    each = {
        spacecraft_id: figures.measure_spacecraft(timeline, spacecraft_id, start, now)
        for spacecraft_id in timeline.lifetimes
    }
    measured = figures.Figures()
    for part in each.values():
        measured.add(part)
    fleet = analytics.fleet_figures(Window.MONTH, measured)
    availability = [day.availability for day in days]
    mtta = [_hours(day.mtta_seconds) for day in days]
    mttr = [_hours(day.mttr_seconds) for day in days]
    trend_top = max([value for value in mtta + mttr if value is not None], default=1.0) or 1.0
    availability_points = charts.line(
        availability,
        [
            f"{name}: {charts.percent(value)} available"
            for name, value in zip(names, availability, strict=True)
        ],
        top=1.0,
    )
    mtta_points = charts.line(
        mtta,
        [
            f"{name}: MTTA {charts.duration(day.mtta_seconds)}"
            for name, day in zip(names, days, strict=True)
        ],
        trend_top,
    )
    mttr_points = charts.line(
        mttr,
        [
            f"{name}: MTTR {charts.duration(day.mttr_seconds)}"
            for name, day in zip(names, days, strict=True)
        ],
        trend_top,
    )
    known = [
        (value, name) for value, name in zip(availability, names, strict=True) if value is not None
    ]
    lowest = min(known, default=None)
    return {
        "width": charts.WIDTH,
        "height": charts.HEIGHT,
        "left": charts.LEFT,
        "fleet": fleet,
        "days": days,
        "first_day": names[0],
        "last_day": names[-1],
        "lowest_day": f"{lowest[1]}, {charts.percent(lowest[0])}" if lowest else "none observed",
        "percent_ticks": [
            {"y": charts.line([share], [""], 1.0)[0].y, "label": f"{share:.0%}"}
            for share in (0.0, 0.5, 1.0)
        ],
        "availability_points": availability_points,
        "availability_line": charts.polyline(availability_points),
        "mtta_points": mtta_points,
        "mttr_points": mttr_points,
        "mtta_line": charts.polyline(mtta_points),
        "mttr_line": charts.polyline(mttr_points),
        "trend_top": charts.duration(trend_top * 3600),
        "pareto": fleet.by_subsystem,
        "severities": fleet.by_severity,
        "pareto_bars": _pareto(fleet.by_subsystem),
        "pareto_height": max(len(fleet.by_subsystem), 1) * PARETO_ROW + 8,
        "least": _least_available(timeline, each, start, now),
    }


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def _pareto(parts: list[Any]) -> list[ParetoBar]:
    longest = max((part.downtime_seconds for part in parts), default=0.0) or 1.0
    room = charts.WIDTH - charts.LEFT - 58 - 150
    bars = []
    for index, part in enumerate(parts):
        text = f"{charts.duration(part.downtime_seconds)} down · {part.malfunctions} malfunctions"
        bars.append(
            ParetoBar(
                name=part.subsystem,
                y=4 + index * PARETO_ROW,
                width=round(room * part.downtime_seconds / longest, 1),
                text=text,
                label=f"{part.subsystem}: {text}",
            )
        )
    return bars


def _least_available(
    timeline: Timeline,
    each: dict[uuid.UUID, figures.Figures],
    start: datetime,
    end: datetime,
) -> list[LeastAvailable]:
    measured = [(each[life.spacecraft_id], life) for life in timeline.lifetimes.values()]
    observed = sorted(
        ((found, life) for found, life in measured if found.availability is not None),
        key=lambda pair: (pair[0].availability, pair[1].name),
    )
    return [
        LeastAvailable(
            life.spacecraft_id,
            life.name,
            life.deleted_at is not None,
            found.availability,
            found.malfunctions,
            daily_bars(timeline, life.spacecraft_id, start, end),
        )
        for found, life in observed[:LEAST_AVAILABLE]
    ]


def daily_bars(
    timeline: Timeline, spacecraft_id: uuid.UUID, start: datetime, end: datetime
) -> list[charts.Bar]:
    spans = figures.buckets(start, end, DAYS)
    measured = figures.measure_fleet_buckets(timeline, spans, spacecraft_id=spacecraft_id)
    values = [day.availability for day in measured]
    labels = [
        f"{high.strftime('%d %b')}: {charts.percent(value)} available"
        for (_, high), value in zip(spans, values, strict=True)
    ]
    return charts.uptime_bars(values, labels)


async def spacecraft_bars(
    session: AsyncSession, spacecraft_id: uuid.UUID, cache: FiguresCache | None = None
) -> list[charts.Bar]:
    """A spacecraft's 30 days of uptime, for its own page."""
    return await cached(
        cache, session, ("bars", spacecraft_id), lambda: _spacecraft_bars(session, spacecraft_id)
    )


async def _spacecraft_bars(session: AsyncSession, spacecraft_id: uuid.UUID) -> list[charts.Bar]:
    now = utcnow()
    start = now - Window.MONTH.length
    timeline = await analytics.load(session, start, now, spacecraft_id=spacecraft_id, now=now)
    return daily_bars(timeline, spacecraft_id, start, now)
