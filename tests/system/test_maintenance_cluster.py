"""Two instances on one PostgreSQL: maintenance windows end once, and the simulator keeps off.

The acceptance run: 30 s with a malfunction every 0.2 s and all but two spacecraft in
maintenance, the two free ones repaired as soon as they break so the simulator always has
something it may break, and a window on each of those two opening and closing during the run.
Everything is judged from the event log afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from galactic_goofs.db import utcnow
from tests.cluster import cluster_env, instances
from tests.support import cli_token, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

CRAFTS = 10
FREE = 2
RUN_SECONDS = 30.0
SIMULATOR_INTERVAL = "0.2"
CLOCK_INTERVAL = "0.2"
ON_TIME = timedelta(seconds=2)
"""How late the clock may start or end a window: ten of its ticks, for a shared, busy machine."""
MALFUNCTIONED = "spacecraft.malfunctioned"
STARTED = "spacecraft.maintenance_started"
ENDED = "spacecraft.maintenance_ended"


@dataclass(frozen=True)
class Window:
    craft_id: str
    starts_at: datetime
    ends_at: datetime


async def _events(
    client: httpx.AsyncClient, since: int = 0, **filters: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        after = items[-1]["seq"] if items else since
        page = await client.get("/api/v1/events", params={"after": after, "limit": 500, **filters})
        batch = page.json()["items"]
        if not batch:
            return items
        items.extend(batch)


async def _set_window(
    client: httpx.AsyncClient, craft_id: str, ends_at: datetime, starts_at: datetime | None = None
) -> Window:
    body = {"ends_at": ends_at.isoformat(), "reason": "Shielded"}
    if starts_at is not None:
        body["starts_at"] = starts_at.isoformat()
    response = await client.put(f"/api/v1/spacecraft/{craft_id}/maintenance", json=body)
    assert response.status_code == 200, response.text
    window = response.json()["maintenance"]
    return Window(craft_id, _time(window["starts_at"]), _time(window["until"]))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _opened(malfunction: dict[str, Any]) -> datetime:
    """The moment of a break: its anomaly's opening (the event's own time is a moment later)."""
    return _time(malfunction["data"]["anomaly"]["opened_at"])


def _inside(moment: datetime, window: Window) -> bool:
    return window.starts_at <= moment < window.ends_at


async def test_two_instances_end_a_window_once_and_never_break_a_craft_in_maintenance(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(
        postgres_url,
        redis_url,
        clock_interval=CLOCK_INTERVAL,
        malfunction_interval=SIMULATOR_INTERVAL,
        lease_ttl="2",
    )
    with instances(2, env, tmp_path) as (a, b):
        headers = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=headers, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=headers, timeout=30) as on_b,
        ):
            ids = []
            for number in range(CRAFTS):
                created = await on_a.post(
                    "/api/v1/spacecraft",
                    json={"name": f"Sat {number}", "cospar_id": f"2018-{number + 1:03d}A"},
                )
                ids.append(created.json()["id"])
            free, shielded = ids[:FREE], ids[FREE:]
            before_windows = (await on_a.get("/api/v1/events")).json()["last_seq"]
            run_start = utcnow()
            run_end = run_start + timedelta(seconds=RUN_SECONDS)
            windows = [
                # Shielded for the whole run, ending one after another just after it, set
                # through both instances.
                await _set_window(
                    on_a if number % 2 else on_b,
                    craft_id,
                    ends_at=run_end + timedelta(seconds=1 + 0.3 * number),
                )
                for number, craft_id in enumerate(shielded)
            ] + [
                # The two free ones each get a window inside the run: started and ended by the
                # clock while the simulator is busy.
                await _set_window(
                    on_a,
                    free[0],
                    starts_at=run_start + timedelta(seconds=5),
                    ends_at=run_start + timedelta(seconds=9),
                ),
                await _set_window(
                    on_b,
                    free[1],
                    starts_at=run_start + timedelta(seconds=15),
                    ends_at=run_start + timedelta(seconds=19),
                ),
            ]

            # The simulator has been at them all along: what counts is what it does from here.
            since = (await on_a.get("/api/v1/events")).json()["last_seq"]
            # Whatever broke before the windows were set is mended, so that every shielded
            # spacecraft is one the simulator could break if it ignored maintenance.
            broken_before = await on_a.get(
                "/api/v1/spacecraft", params={"status": "MALFUNCTIONING", "limit": 500}
            )
            for craft in broken_before.json()["items"]:
                await on_b.post(f"/api/v1/spacecraft/{craft['id']}/repair")

            # Watch the log until the run's end, repairing a free spacecraft (through either
            # instance) as soon as it is seen broken, so the simulator never runs out of work.
            seen = since
            repairs = 0
            while utcnow() < run_end:
                fresh = await _events(on_a, seen)
                for event in fresh:
                    if event["type"] == MALFUNCTIONED and event["spacecraft_id"] in free:
                        client = on_a if repairs % 2 else on_b
                        await client.post(f"/api/v1/spacecraft/{event['spacecraft_id']}/repair")
                        repairs += 1
                seen = fresh[-1]["seq"] if fresh else seen

                async def news(after: int = seen) -> bool:
                    page = await on_b.get("/api/v1/events", params={"after": after, "limit": 1})
                    return bool(page.json()["items"]) or utcnow() >= run_end

                await wait_until(news, timeout=10, interval=0.05, message="the next event")

            async def every_window_ended() -> bool:
                found = await _events(on_b, before_windows, type=ENDED)
                ended = {event["spacecraft_id"] for event in found}
                return ended >= set(ids)

            last_end = max(window.ends_at for window in windows)
            wait = (last_end - utcnow()).total_seconds() + 15
            await wait_until(every_window_ended, timeout=wait, message="every window to end")
            # A second end of a window would be logged within the clock's allowance: read the
            # log once that has passed for the last window.
            await wait_until(
                lambda: utcnow() >= last_end + ON_TIME, timeout=wait, message="the allowance"
            )
            log = await _events(on_b, before_windows)

    assert utcnow() - run_start >= timedelta(seconds=RUN_SECONDS)
    by_craft: dict[str, list[dict[str, Any]]] = {craft_id: [] for craft_id in ids}
    for event in log:
        if event["spacecraft_id"] in by_craft:
            by_craft[event["spacecraft_id"]].append(event)

    broken = [event for event in log if event["type"] == MALFUNCTIONED and event["seq"] > since]
    simulated = [event for event in broken if event["actor"] == "simulator"]
    assert len(simulated) >= 20, f"the simulator hardly fired: {len(simulated)} malfunctions"
    assert repairs >= 10, "the free spacecraft were not kept breakable"
    hit_in_maintenance = [
        (event["seq"], event["spacecraft_id"], event["data"]["anomaly"]["opened_at"])
        for event in simulated
        for window in windows
        if event["spacecraft_id"] == window.craft_id
        and _inside(_time(event["data"]["anomaly"]["opened_at"]), window)
    ]
    assert hit_in_maintenance == [], "the simulator broke a spacecraft in maintenance"
    assert [event["seq"] for event in broken if event["data"].get("planned")] == []
    # Through the run the shielded ones were in maintenance throughout (after it, they are
    # fair game again): the simulator only ever broke the two free ones.
    during_run = [event for event in simulated if _opened(event) < run_end]
    assert {event["spacecraft_id"] for event in during_run} == set(free)

    for window in windows:
        events = by_craft[window.craft_id]
        counts = Counter(event["type"] for event in events)
        assert counts[STARTED] == 1, (window, counts)
        assert counts[ENDED] == 1, (window, counts)
        (started,) = [event for event in events if event["type"] == STARTED]
        (ended,) = [event for event in events if event["type"] == ENDED]
        started_at, ended_at = _time(started["occurred_at"]), _time(ended["occurred_at"])
        assert window.starts_at <= started_at <= window.starts_at + ON_TIME, (window, started)
        assert window.ends_at <= ended_at <= window.ends_at + ON_TIME, (window, ended)
        assert ended["data"]["maintenance"]["until"] is not None
        assert _time(ended["data"]["maintenance"]["until"]) == window.ends_at
