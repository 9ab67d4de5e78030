"""`python -m bench.triage`: working anomalies at scale, on SQLite, through a real `goofs serve`.

A fleet of 10,000 spacecraft with 100,000 anomalies (most resolved, some hundreds open, some
with notes) and a log of 1,000,000 events, written by `bench.history`. Measured, each against
a target of <= 30 ms:

- the board `/`, whose triage queue lists the open anomalies (the page on call opens);
- `/console/snapshot`, the summary, board, feed and triage queue a console reloads from;
- `/spacecraft/{id}` of the spacecraft with the most anomalies (the longest timeline and the
  heaviest uptime bars), and of one whose open anomaly has notes.

Not part of `python -m bench`. Prints the median and the worst of 15 requests each (after one
that warms the caches). `--database PATH` keeps the seeded database there and reuses it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from bench.history import seed
from bench.servers import Cores, claim, serving
from galactic_goofs.anomalies.models import Anomaly, AnomalyNote

REQUESTS = 15
TARGET_MS = 30.0
SPACECRAFT = 10_000
ANOMALIES = 100_000
OPEN_ANOMALIES = 400
EVENTS = 1_000_000


@contextmanager
def served(database: Path, cores: Cores) -> Iterator[str]:
    """`goofs serve` on the seeded database: no simulator, and the whole log kept; on its own
    core, ahead of other work where allowed (as `python -m bench` runs its servers)."""
    env = {
        **os.environ,
        "GOOFS_DATABASE_URL": f"sqlite:///{database}",
        "GOOFS_MALFUNCTION_INTERVAL": "0",
        "GOOFS_EVENT_RETENTION": "0",
    }
    with serving(env, database.parent, cores.server) as url:
        yield url


def seeded(database: Path) -> str:
    """The fleet's database (seeded now unless it already was); the busiest spacecraft's id."""
    marker = database.with_suffix(".busiest")
    if database.exists() and marker.exists():
        return marker.read_text().strip()
    started = time.perf_counter()
    history = seed(
        database,
        spacecraft=SPACECRAFT,
        events=EVENTS,
        anomalies=ANOMALIES,
        open_anomalies=OPEN_ANOMALIES,
    )
    print(
        f"seeded {history.spacecraft:,} spacecraft, {history.anomalies:,} anomalies "
        f"({history.open_anomalies:,} open, {history.notes:,} notes), {history.events:,} events "
        f"in {time.perf_counter() - started:.0f} s"
    )
    marker.write_text(str(history.busiest_spacecraft_id))
    return str(history.busiest_spacecraft_id)


def open_with_notes(database: Path) -> str:
    """A spacecraft whose open anomaly has the most notes."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            craft_id = connection.scalar(
                select(Anomaly.spacecraft_id)
                .join(AnomalyNote, AnomalyNote.anomaly_id == Anomaly.id)
                .where(Anomaly.resolved_at.is_(None))
                .group_by(Anomaly.id)
                .order_by(func.count().desc())
                .limit(1)
            )
    finally:
        engine.dispose()
    if craft_id is None:
        raise RuntimeError("no open anomaly has notes")
    return str(craft_id)


def timed(client: httpx.Client, path: str) -> list[float]:
    client.get(path)  # the first warms the caches (templates, statements)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:200]
    return times


def report(what: str, times: list[float]) -> bool:
    median = statistics.median(times)
    verdict = "met" if median <= TARGET_MS else "MISSED"
    print(
        f"{what}: median {median:.1f} ms, worst {max(times):.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms: {verdict})"
    )
    return median <= TARGET_MS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage", description=__doc__)
    parser.add_argument("--database", type=Path, help="seed here (or reuse what was seeded)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="goofs-triage-bench-") as folder:
        database = (arguments.database or Path(folder) / "goofs.db").resolve()
        busiest = seeded(database)
        noted = open_with_notes(database)
        pages = [
            ("/ (board with the triage queue)", "/"),
            ("/console/snapshot (triage queue, board, feed)", "/console/snapshot"),
            ("/spacecraft/{id}, the longest history", f"/spacecraft/{busiest}"),
            ("/spacecraft/{id}, an open anomaly with notes", f"/spacecraft/{noted}"),
        ]
        met = True
        cores = Cores.split()
        claim(cores.clients)
        with served(database, cores) as url, httpx.Client(base_url=url, timeout=30) as client:
            for what, path in pages:
                met &= report(what, timed(client, path))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
