"""`python -m bench.analytics`: fleet analytics on a long history, through a real `goofs serve`.

On SQLite, 10,000 spacecraft, 1,000,000 events and 100,000 anomalies (`bench.history`):

- the fleet's analytics for 30 days (`GET /api/v1/analytics/fleet?window=30d`): <= 100 ms;
- the `/analytics` page (30 daily points, Pareto, trends, the ten least available): <= 100 ms
  (the same target as the fleet's figures it is drawn from);
- one spacecraft's 30-day uptime bars (`GET /api/v1/spacecraft/{id}/availability`, the
  spacecraft with the most anomalies): <= 20 ms;
- `GET /metrics`: <= 50 ms.

Not part of `python -m bench`. Prints the median and the worst of 15 requests each, the
verdict on the median, and the time of the first request before them, which computes what the
others find in the analytics cache (kept for 5 s while nothing changes; with changes coming in,
a request after each one computes again). `--database FILE` keeps the seeded file
and uses it again on the next run (seeding takes a minute or more).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import history
from bench.servers import serving

REQUESTS = 15
SPACECRAFT, EVENTS, ANOMALIES = 10_000, 1_000_000, 100_000


@contextmanager
def server(database: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "GOOFS_DATABASE_URL": f"sqlite:///{database}",
        "GOOFS_MALFUNCTION_INTERVAL": "0",
        "GOOFS_EVENT_RETENTION": "0",  # keep the million events
    }
    with serving(env, database.parent) as url:
        yield url


def busiest_spacecraft(database: Path) -> uuid.UUID:
    """The living spacecraft with the most anomalies: the most work for its bars."""
    with sqlite3.connect(database) as connection:
        (hex_id,) = connection.execute(
            "SELECT a.spacecraft_id FROM anomalies a JOIN spacecraft s ON s.id = a.spacecraft_id "
            "GROUP BY a.spacecraft_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return uuid.UUID(hex_id)


def timed(url: str, path: str) -> tuple[float, list[float]]:
    """The first request's time (it computes the figures), and the next ones' (which find
    them computed, `analytics.cache`, unless the cache's seconds have run out)."""
    times = []
    with httpx.Client(base_url=url, timeout=120) as client:
        started = time.perf_counter()
        client.get(path).raise_for_status()
        first = (time.perf_counter() - started) * 1000
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return first, times


def report(what: str, measured: tuple[float, list[float]], target: float) -> bool:
    first, times = measured
    median = statistics.median(times)
    verdict = "met" if median <= target else "MISSED"
    print(
        f"{what}: median {median:.1f} ms, worst {max(times):.1f} ms "
        f"(target <= {target:.0f} ms: {verdict}); first, computing: {first:.0f} ms",
        flush=True,
    )
    return median <= target


def run(database: Path) -> bool:
    if not database.exists():
        print(
            f"seeding {SPACECRAFT:,} spacecraft, {EVENTS:,} events, {ANOMALIES:,} anomalies...",
            flush=True,
        )
        seeded = history.seed(database, spacecraft=SPACECRAFT, events=EVENTS, anomalies=ANOMALIES)
        print(f"seeded in {seeded.seconds:.0f} s", flush=True)
    craft = busiest_spacecraft(database)
    checks = (
        ("fleet analytics, 30 d", "/api/v1/analytics/fleet?window=30d", 100),
        ("/analytics page", "/analytics", 100),
        (
            "one spacecraft's 30-day bars",
            f"/api/v1/spacecraft/{craft}/availability?window=30d&buckets=30",
            20,
        ),
        ("/metrics", "/metrics", 50),
    )
    met = True
    with server(database) as url:
        for what, path, target in checks:
            met &= report(what, timed(url, path), target)
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database", type=Path, help="seeded SQLite file to use (seeded here if missing)"
    )
    args = parser.parse_args()
    if args.database is not None:
        return 0 if run(args.database.resolve()) else 1
    with tempfile.TemporaryDirectory(prefix="goofs-analytics-bench-") as folder:
        return 0 if run(Path(folder) / "goofs.db") else 1


if __name__ == "__main__":
    sys.exit(main())
