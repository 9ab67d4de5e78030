"""Fleet analytics over the API, from changes made through the real write path at set times."""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from galactic_goofs.web.analytics import CHARTS_FRESH_SECONDS
from tests.support import Running, consumers_caught_up

HOUR = 3600.0
# Where `utcnow` is read by the changes and reads a test makes here.
CLOCK_READERS = (
    "galactic_goofs.events.service",
    "galactic_goofs.fleet.service",
    "galactic_goofs.fleet.maintenance",
    "galactic_goofs.anomalies.service",
    "galactic_goofs.analytics.service",
    "galactic_goofs.analytics.cache",
)


class Clock:
    """The time every change and measurement sees: set by the test, ahead of the real one (a
    maintenance window must end after the real now)."""

    def __init__(self) -> None:
        self.end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=60)
        self.now = self.end

    def at(self, hours_ago: float) -> None:
        self.now = self.end - timedelta(hours=hours_ago)

    def ago(self, hours: float) -> str:
        return (self.end - timedelta(hours=hours)).isoformat()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    controlled = Clock()
    for module in CLOCK_READERS:
        monkeypatch.setattr(f"{module}.utcnow", lambda: controlled.now)
    yield controlled


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


async def _history(goofs: Running, clock: Clock) -> dict[str, str]:
    """Hubble: made 30 h ago, broke 20 h ago (power, major), acknowledged 19.5 h ago, repaired
    17 h ago, in maintenance from 10 h to 8 h ago. Voyager: made 12 h ago, broke 6 h ago
    (comms, minor), deleted 5 h ago."""
    client = goofs.client
    clock.at(30)
    hubble = await _ok(
        await client.post("/api/v1/spacecraft", json={"name": "Hubble", "cospar_id": "1990-037B"}),
        201,
    )
    clock.at(20)
    broken = await _ok(
        await client.post(
            f"/api/v1/spacecraft/{hubble['id']}/malfunction",
            json={"subsystem": "power", "severity": "major"},
        )
    )
    clock.at(19.5)
    await _ok(await client.post(f"/api/v1/anomalies/{broken['anomaly']['id']}/acknowledge"))
    clock.at(17)
    await _ok(await client.post(f"/api/v1/spacecraft/{hubble['id']}/repair"))
    clock.at(12)
    voyager = await _ok(
        await client.post(
            "/api/v1/spacecraft", json={"name": "=Voyager", "cospar_id": "1977-084A"}
        ),
        201,
    )
    clock.at(10)
    await _ok(
        await client.put(
            f"/api/v1/spacecraft/{hubble['id']}/maintenance",
            json={"ends_at": clock.ago(8), "reason": "Reboot the gyros"},
        )
    )
    clock.at(8)
    await _ok(await client.delete(f"/api/v1/spacecraft/{hubble['id']}/maintenance"))
    clock.at(6)
    await _ok(
        await client.post(
            f"/api/v1/spacecraft/{voyager['id']}/malfunction",
            json={"subsystem": "comms", "severity": "minor"},
        )
    )
    clock.at(5)
    await _ok(await client.delete(f"/api/v1/spacecraft/{voyager['id']}"), 204)
    clock.at(0)
    await consumers_caught_up(goofs.state)
    return {"hubble": hubble["id"], "voyager": voyager["id"]}


async def test_fleet_figures_over_a_day_are_exact_to_the_second(
    goofs: Running, clock: Clock
) -> None:
    await _history(goofs, clock)

    fleet = await _ok(await goofs.client.get("/api/v1/analytics/fleet", params={"window": "24h"}))

    # Observed: Hubble 24 h - 2 h maintenance, Voyager 12 h - 5 h; down 3 h and 1 h.
    assert fleet == {
        "window": "24h",
        "availability": 1 - 4 * HOUR / (29 * HOUR),
        "malfunctions": 2,
        "mtta_seconds": 0.5 * HOUR,
        "mttr_seconds": 2 * HOUR,
        "mtbf_seconds": 25 * HOUR / 2,
        "by_subsystem": [
            {"subsystem": "power", "malfunctions": 1, "downtime_seconds": 3 * HOUR},
            {"subsystem": "comms", "malfunctions": 1, "downtime_seconds": 1 * HOUR},
        ],
        "by_severity": [
            {"severity": "major", "malfunctions": 1, "downtime_seconds": 3 * HOUR},
            {"severity": "minor", "malfunctions": 1, "downtime_seconds": 1 * HOUR},
        ],
    }


async def test_a_spacecraft_has_its_availability_and_uptime_bars(
    goofs: Running, clock: Clock
) -> None:
    crafts = await _history(goofs, clock)

    hubble = await _ok(
        await goofs.client.get(
            f"/api/v1/spacecraft/{crafts['hubble']}/availability",
            params={"window": "24h", "buckets": 4},
        )
    )
    gone = await _ok(
        await goofs.client.get(
            f"/api/v1/spacecraft/{crafts['voyager']}/availability", params={"window": "30d"}
        )
    )

    assert hubble["availability"] == 1 - 3 / 22
    assert (hubble["downtime_seconds"], hubble["malfunctions"]) == (3 * HOUR, 1)
    assert hubble["mttr_seconds"] == 3 * HOUR
    assert [bar["availability"] for bar in hubble["buckets"]] == [1 - 2 / 6, 1 - 1 / 6, 1.0, 1.0]
    assert hubble["buckets"][0]["start"].startswith(clock.ago(24)[:19])
    assert gone["availability"] == 1 - 1 / 7, "a deleted spacecraft is measured until deletion"
    assert len(gone["buckets"]) == 30


async def test_figures_read_again_after_a_change_show_it(goofs: Running, clock: Clock) -> None:
    """The figures are kept for a few seconds (`analytics.cache`), but not past a change."""
    crafts = await _history(goofs, clock)
    path = f"/api/v1/spacecraft/{crafts['hubble']}/availability"
    before = await _ok(await goofs.client.get("/api/v1/analytics/fleet?window=24h"))
    bars_before = await _ok(await goofs.client.get(path, params={"window": "24h"}))

    await _ok(
        await goofs.client.post(
            f"/api/v1/spacecraft/{crafts['hubble']}/malfunction",
            json={"subsystem": "thermal", "severity": "minor"},
        )
    )
    await consumers_caught_up(goofs.state)
    clock.now += timedelta(seconds=1)  # well inside the time an entry is kept: only the change

    after = await _ok(await goofs.client.get("/api/v1/analytics/fleet?window=24h"))
    bars_after = await _ok(await goofs.client.get(path, params={"window": "24h"}))
    assert (before["malfunctions"], after["malfunctions"]) == (2, 3)
    assert {"subsystem": "thermal", "malfunctions": 1, "downtime_seconds": 1.0} in after[
        "by_subsystem"
    ]
    assert (bars_before["malfunctions"], bars_after["malfunctions"]) == (1, 2)


async def test_the_console_charts_are_shared_for_a_moment_then_show_the_change(
    goofs: Running, clock: Clock
) -> None:
    """Every open page re-fetches the charts after events: within `CHARTS_FRESH_SECONDS` they
    get the figures another page just had, after it the change."""
    crafts = await _history(goofs, clock)
    before = await goofs.client.get("/console/analytics/charts")
    await _ok(await goofs.client.post(f"/api/v1/spacecraft/{crafts['hubble']}/malfunction"))
    await consumers_caught_up(goofs.state)

    clock.now += timedelta(seconds=CHARTS_FRESH_SECONDS / 2)
    shared = await goofs.client.get("/console/analytics/charts")
    # Past CHARTS_FRESH_SECONDS, and past ten times what measuring this history took.
    clock.now += timedelta(seconds=60)
    fresh = await goofs.client.get("/console/analytics/charts")

    def malfunctions(page: str) -> str:
        found = re.search(r'data-figure="malfunctions">(\d+)<', page)
        assert found, page[:500]
        return found.group(1)

    assert malfunctions(before.text) == malfunctions(shared.text)
    assert int(malfunctions(fresh.text)) == int(malfunctions(before.text)) + 1


async def test_charts_that_take_long_to_measure_are_shared_for_ten_times_as_long(
    goofs: Running, clock: Clock
) -> None:
    """On a long history the charts cost a second or more: every open page re-fetching them
    after each event would keep the server measuring. Here the charts 'take' 2 s: the timer
    moves 0.4 s at each reading, and they are read five times while they are made (the charts'
    start, their figures' and the history's starts and ends, their end)."""
    ticks = itertools.count()
    goofs.state.analytics.timer = lambda: next(ticks) * 0.4
    crafts = await _history(goofs, clock)
    before = await goofs.client.get("/console/analytics/charts")
    await _ok(await goofs.client.post(f"/api/v1/spacecraft/{crafts['hubble']}/malfunction"))
    await consumers_caught_up(goofs.state)

    clock.now += timedelta(seconds=15)  # past CHARTS_FRESH_SECONDS, within 10 x 2 s
    shared = await goofs.client.get("/console/analytics/charts")
    clock.now += timedelta(seconds=10)
    fresh = await goofs.client.get("/console/analytics/charts")
    pages = (before, shared, fresh)
    figures = [re.search(r'data-figure="malfunctions">(\d+)<', page.text) for page in pages]
    assert all(figures), before.text[:500]
    counts = [int(found.group(1)) for found in figures if found]
    assert counts[1] == counts[0] and counts[2] == counts[0] + 1


async def test_a_fleet_without_anomalies_is_fully_available_with_no_repair_time(
    goofs: Running,
) -> None:
    await _ok(
        await goofs.client.post(
            "/api/v1/spacecraft", json={"name": "Quiet", "cospar_id": "2001-001A"}
        ),
        201,
    )

    fleet = await _ok(await goofs.client.get("/api/v1/analytics/fleet"))

    assert fleet["window"] == "7d"
    assert fleet["availability"] == 1.0
    assert (fleet["malfunctions"], fleet["mttr_seconds"], fleet["mtbf_seconds"]) == (0, None, None)


async def test_the_csv_export_has_one_row_per_spacecraft(goofs: Running, clock: Clock) -> None:
    crafts = await _history(goofs, clock)

    response = await goofs.client.get("/api/v1/analytics/spacecraft.csv", params={"window": "24h"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="spacecraft-availability-24h.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["spacecraft_id"], row["name"]) for row in rows] == [
        (crafts["voyager"], "'=Voyager"),  # least available first; no formula for a spreadsheet
        (crafts["hubble"], "Hubble"),
    ]
    assert float(rows[1]["availability"]) == 1 - 3 / 22
    assert rows[0]["deleted"] == "True" and rows[1]["mtta_seconds"] == "1800.0"


UNKNOWN = uuid.UUID(int=1)  # a fixed id: every test process must collect the same test names


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/analytics/fleet", {"window": "1y"}),
        ("/api/v1/analytics/spacecraft.csv", {"window": "24"}),
        (f"/api/v1/spacecraft/{UNKNOWN}/availability", {"buckets": 0}),
        (f"/api/v1/spacecraft/{UNKNOWN}/availability", {"buckets": 91}),
    ],
)
async def test_a_bad_window_or_bucket_count_is_refused(
    goofs_sqlite: Running, path: str, params: dict[str, Any]
) -> None:
    response = await goofs_sqlite.client.get(path, params=params)

    assert response.status_code == 422


async def test_an_unknown_spacecraft_has_no_availability(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{uuid.uuid4()}/availability")

    assert response.status_code == 404
