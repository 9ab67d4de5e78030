"""`GET /metrics`: the deployment's figures in Prometheus's text format.

Whatever the database knows (the fleet, open anomalies, events by type, availability) is read
at scrape time, so every worker and instance answers the same, and counters kept in the
database (`analytics.tallies`) only go up whichever process restarts. What only a process
knows (its stream clients, the lag of its deliveries) is kept per process; under
`goofs serve --workers N` the processes write it to files in `PROMETHEUS_MULTIPROC_DIR` (set
by the serve command), and any worker's scrape adds them all up.

Labels come from closed sets (statuses, severities, states, event types, windows); a label per
spacecraft only with `GOOFS_METRICS_PER_SPACECRAFT=true`, for small fleets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client import multiprocess as multiprocess_mode
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.analytics import figures, tallies
from galactic_goofs.analytics import service as analytics
from galactic_goofs.analytics.cache import FiguresCache
from galactic_goofs.analytics.schemas import Window
from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.deps import ReadSession, StateDep
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet.faults import Severity
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.metrics.process import ProcessMetrics, multiprocess
from galactic_goofs.notifications import service as webhook_service

UNRESOLVED_STATES = (AnomalyState.OPEN, AnomalyState.ACKNOWLEDGED, AnomalyState.SHELVED)

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(state: StateDep, session: ReadSession) -> Response:
    process: ProcessMetrics = state.metrics
    process.sample(state.hub)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _Snapshot(
            await _read(
                session, state.analytics, per_spacecraft=state.settings.metrics_per_spacecraft
            )
        )
    )
    if multiprocess():
        multiprocess_mode.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in process.collectors():
            registry.register(collector)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@dataclass(eq=False)
class _Snapshot:
    families: list[Metric]

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


async def _read(
    session: AsyncSession, cache: FiguresCache, *, per_spacecraft: bool
) -> list[Metric]:
    fleet = GaugeMetricFamily(
        "goofs_spacecraft", "Spacecraft in the fleet, by status", labels=["status"]
    )
    statuses = dict.fromkeys(Status, 0)
    for status, count in await session.execute(
        select(Spacecraft.status, func.count()).group_by(Spacecraft.status)
    ):
        statuses[Status(status)] = count
    for status, count in statuses.items():
        fleet.add_metric([status.value], count)
    in_maintenance = GaugeMetricFamily(
        "goofs_spacecraft_in_maintenance", "Spacecraft in a maintenance window now"
    )
    in_maintenance.add_metric(
        [],
        await session.scalar(select(func.count()).where(Spacecraft.maintenance_started.is_(True)))
        or 0,
    )

    anomalies = GaugeMetricFamily(
        "goofs_open_anomalies",
        "Anomalies not resolved yet, by severity and state",
        labels=["severity", "state"],
    )
    open_counts = {
        (severity.value, state.value): 0 for severity in Severity for state in UNRESOLVED_STATES
    }
    for severity, state, count in await session.execute(
        select(Anomaly.severity, Anomaly.state, func.count())
        .where(Anomaly.resolved_at.is_(None))
        .group_by(Anomaly.severity, Anomaly.state)
    ):
        open_counts[(severity, state)] = count
    for labels, count in sorted(open_counts.items()):
        anomalies.add_metric(list(labels), count)

    events = CounterMetricFamily(
        "goofs_events", "Events recorded in the log, by type", labels=["type"]
    )
    recorded = dict.fromkeys((type.value for type in EventType), 0) | await tallies.totals(session)
    for type, count in sorted(recorded.items()):
        events.add_metric([type], count)

    webhooks = CounterMetricFamily(
        "goofs_webhook_deliveries",
        "Webhook delivery attempts, by outcome (delivered: 2xx; retry: failed, another "
        "attempt to come; failed: failed, none left; gone: 410, the endpoint disabled)",
        labels=["outcome"],
    )
    for outcome, count in (await webhook_service.tallies(session)).items():
        webhooks.add_metric([outcome], count)

    availability = GaugeMetricFamily(
        "goofs_fleet_availability_ratio",
        "1 - downtime / observed time (maintenance excluded), by window up to now",
        labels=["window"],
    )
    for window in Window:
        # The console's and the API's figures: computed once for all of them every few seconds.
        ratio = (await analytics.fleet(session, window, cache)).availability
        if ratio is not None:
            availability.add_metric([window.value], ratio)
    families: list[Metric] = [fleet, in_maintenance, anomalies, events, webhooks, availability]
    if per_spacecraft:
        timeline = await analytics.recent(session, cache)
        start = timeline.now - analytics.LONGEST.length
        families.append(_per_spacecraft(timeline, start, timeline.now, analytics.LONGEST))
    return families


def _per_spacecraft(
    timeline: figures.Timeline, start: datetime, end: datetime, window: Window
) -> Metric:
    family = GaugeMetricFamily(
        "goofs_spacecraft_availability_ratio",
        f"Availability of each spacecraft over {window.value}",
        labels=["spacecraft_id", "name", "window"],
    )
    for life in timeline.lifetimes.values():
        if life.deleted_at is not None:
            continue
        ratio = figures.measure_spacecraft(timeline, life.spacecraft_id, start, end).availability
        if ratio is not None:
            family.add_metric([str(life.spacecraft_id), life.name, window.value], ratio)
    return family
