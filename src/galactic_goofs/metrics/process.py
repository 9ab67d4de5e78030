"""What only one process knows: its stream clients and the lag of its deliveries."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from prometheus_client import Gauge, Histogram
from prometheus_client import multiprocess as multiprocess_mode
from prometheus_client.registry import Collector

from galactic_goofs.events.hub import Hub

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL = 1.0
"""How often a process writes down its number of stream clients."""
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


@dataclass
class ProcessMetrics:
    """What only this process knows. Not in prometheus-client's global registry: each app has
    its own, so several apps in one process (tests) do not collide."""

    stream_clients: Gauge = field(
        default_factory=lambda: Gauge(
            "goofs_stream_clients",
            "Open event streams, by format (json: API clients, html: console tabs)",
            ["format"],
            registry=None,
            multiprocess_mode="livesum",
        )
    )
    delivery_lag: Histogram = field(
        default_factory=lambda: Histogram(
            "goofs_delivery_lag_seconds",
            "From an event's commit to its fan-out to the stream clients of one process",
            buckets=LAG_BUCKETS,
            registry=None,
        )
    )

    def observe_delivery(self, lag_seconds: float) -> None:
        self.delivery_lag.observe(max(lag_seconds, 0.0))

    def sample(self, hub: Hub) -> None:
        for format, subscribers in hub.subscribers.items():
            self.stream_clients.labels(format).set(len(subscribers))

    async def sample_periodically(self, hub: Hub) -> None:
        while True:
            self.sample(hub)
            await asyncio.sleep(SAMPLE_INTERVAL)

    def retire(self) -> None:
        """This process stops: its live gauges leave the sum."""
        if multiprocess():
            multiprocess_mode.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def collectors(self) -> list[Collector]:
        return [self.stream_clients, self.delivery_lag]
