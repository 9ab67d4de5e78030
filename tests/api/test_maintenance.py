"""Maintenance windows: planned work the simulator leaves alone, started and ended on time."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from galactic_goofs import lease
from galactic_goofs.clock import LEASE_NAME, Clock
from galactic_goofs.db import utcnow
from galactic_goofs.fleet import service
from galactic_goofs.fleet.models import Spacecraft
from tests.support import Running, running_app, test_settings, wait_until

COUNTER = iter(range(1, 1000))


async def _craft(goofs: Running) -> str:
    number = next(COUNTER)
    created = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": f"Sat {number}", "cospar_id": f"2015-{number:03d}A"}
    )
    assert created.status_code == 201, created.text
    craft_id: str = created.json()["id"]
    return craft_id


def _at(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


async def _types(goofs: Running, craft_id: str) -> list[str]:
    page = await goofs.client.get("/api/v1/events", params={"spacecraft_id": craft_id})
    return [event["type"] for event in page.json()["items"]]


@pytest.fixture
async def goofs_with_a_quick_clock(sqlite_url: str) -> AsyncIterator[Running]:
    async with running_app(test_settings(sqlite_url, clock_interval=0.05)) as goofs:
        yield goofs


async def test_maintenance_from_now_starts_at_once_and_ends_when_asked(goofs: Running) -> None:
    craft_id = await _craft(goofs)
    path = f"/api/v1/spacecraft/{craft_id}/maintenance"

    started = await goofs.client.put(path, json={"ends_at": _at(3600), "reason": "New firmware"})
    assert started.status_code == 200, started.text
    window = started.json()["maintenance"]
    assert window["reason"] == "New firmware" and window["active"] is True

    ended = await goofs.client.delete(path)
    assert ended.status_code == 200 and ended.json()["maintenance"] is None
    assert (await _types(goofs, craft_id))[1:] == [
        "spacecraft.maintenance_started",
        "spacecraft.maintenance_ended",
    ]
    again = await goofs.client.delete(path)
    assert again.status_code == 409 and "not in maintenance" in again.json()["detail"]


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ({"ends_at": "2001-01-01T00:00:00Z", "reason": "late"}, "ends_at is in the past"),
        (
            {"starts_at": "2999-01-02T00:00:00Z", "ends_at": "2999-01-01T00:00:00Z", "reason": "x"},
            "ends_at must be after starts_at",
        ),
        ({"ends_at": "2999-01-01T00:00:00", "reason": "naive"}, "time zone"),
        ({"ends_at": "2999-01-01T00:00:00Z"}, "reason"),
        ({"ends_at": "2999-01-01T00:00:00Z", "reason": "a\x00b"}, "control characters"),
        ({"ends_at": "2999-01-01T00:00:00Z", "reason": "r" * 1001}, "at most 1000"),
    ],
    ids=["ended", "backwards", "no time zone", "no reason", "control characters", "too long"],
)
async def test_a_window_that_cannot_be_is_refused_with_the_reason(
    goofs_sqlite: Running, window: dict[str, Any], says: str
) -> None:
    craft_id = await _craft(goofs_sqlite)
    response = await goofs_sqlite.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance", json=window
    )
    assert response.status_code == 422
    assert says in response.text


async def test_maintenance_of_an_unknown_spacecraft_is_not_found(goofs: Running) -> None:
    path = f"/api/v1/spacecraft/{uuid.uuid4()}/maintenance"
    put = await goofs.client.put(path, json={"ends_at": _at(60), "reason": "x"})
    assert put.status_code == 404
    assert (await goofs.client.delete(path)).status_code == 404


async def test_a_window_ahead_starts_and_ends_by_itself_on_time(
    goofs_with_a_quick_clock: Running,
) -> None:
    goofs = goofs_with_a_quick_clock
    craft_id = await _craft(goofs)
    planned = await goofs.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance",
        json={"starts_at": _at(0.5), "ends_at": _at(1.5), "reason": "Orbit raise"},
    )
    assert planned.json()["maintenance"]["active"] is False

    async def ended() -> bool:
        return "spacecraft.maintenance_ended" in await _types(goofs, craft_id)

    await wait_until(ended, timeout=10, message="the window to end by itself")
    events = (await goofs.client.get("/api/v1/events", params={"spacecraft_id": craft_id})).json()[
        "items"
    ]
    assert [event["type"] for event in events] == [
        "spacecraft.created",
        "spacecraft.updated",
        "spacecraft.maintenance_started",
        "spacecraft.maintenance_ended",
    ]
    assert all(event["actor"] == "clock" for event in events[2:])
    window = planned.json()["maintenance"]
    assert events[2]["occurred_at"] >= window["starts_at"]
    assert events[3]["occurred_at"] >= window["until"]
    craft = (await goofs.client.get(f"/api/v1/spacecraft/{craft_id}")).json()
    assert craft["maintenance"] is None


@pytest.fixture
async def goofs_with_a_stopped_clock(sqlite_url: str) -> AsyncIterator[Running]:
    """The app's own clock ticks once at start, then not for an hour; its lease is let go."""
    async with running_app(test_settings(sqlite_url, clock_interval=3600)) as goofs:
        state = goofs.state

        def holder(session: Session) -> str | None:
            return session.scalar(select(lease.Lease.holder).where(lease.Lease.name == LEASE_NAME))

        async def taken() -> bool:
            return await state.db.write(holder) is not None

        await wait_until(taken, message="the app's clock to take its lease")
        await state.db.write(lease.release, LEASE_NAME, await state.db.write(holder))
        yield goofs


async def test_two_clocks_end_a_window_exactly_once(goofs_with_a_stopped_clock: Running) -> None:
    goofs = goofs_with_a_stopped_clock
    craft_id = await _craft(goofs)
    await goofs.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance", json={"ends_at": _at(60), "reason": "x"}
    )

    def run_out(session: Session) -> None:
        craft = session.get(Spacecraft, uuid.UUID(craft_id))
        assert craft is not None
        craft.maintenance_ends_at = utcnow()

    await goofs.state.db.write(run_out)
    clocks = [Clock(goofs.state, interval=1, lease_ttl=5, holder=name) for name in "ab"]
    for _ in range(3):
        await asyncio.gather(*(clock.tick() for clock in clocks))
    assert sum(clock.leading for clock in clocks) == 1
    assert (await _types(goofs, craft_id)).count("spacecraft.maintenance_ended") == 1


async def test_an_operators_malfunction_during_maintenance_is_planned(goofs: Running) -> None:
    craft_id = await _craft(goofs)
    await goofs.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance", json={"ends_at": _at(600), "reason": "Test"}
    )
    broken = await goofs.client.post(f"/api/v1/spacecraft/{craft_id}/malfunction")
    assert broken.status_code == 200
    anomaly_id = broken.json()["anomaly"]["id"]
    assert (await goofs.client.get(f"/api/v1/anomalies/{anomaly_id}")).json()["planned"] is True
    page = await goofs.client.get(
        "/api/v1/events", params={"spacecraft_id": craft_id, "type": "spacecraft.malfunctioned"}
    )
    assert page.json()["items"][0]["data"]["planned"] is True

    other = await _craft(goofs)
    unplanned = await goofs.client.post(f"/api/v1/spacecraft/{other}/malfunction")
    other_anomaly = unplanned.json()["anomaly"]["id"]
    assert (await goofs.client.get(f"/api/v1/anomalies/{other_anomaly}")).json()["planned"] is False


async def test_the_simulator_never_picks_a_spacecraft_in_maintenance(goofs: Running) -> None:
    crafts = [await _craft(goofs) for _ in range(5)]
    free = crafts[2]
    for craft_id in crafts:
        if craft_id != free:
            response = await goofs.client.put(
                f"/api/v1/spacecraft/{craft_id}/maintenance",
                json={"ends_at": _at(600), "reason": "Shielding"},
            )
            assert response.status_code == 200
    rng = random.Random(14)

    first = await goofs.state.writes.apply(service.malfunction_random, actor="simulator", rng=rng)
    assert first is not None and str(first.spacecraft.id) == free
    for _ in range(5):
        # Everyone else is in maintenance and the free one is broken: nobody is left.
        none = await goofs.state.writes.apply(
            service.malfunction_random, actor="simulator", rng=rng
        )
        assert none is None


async def test_a_window_still_ahead_does_not_shield_a_spacecraft(goofs_sqlite: Running) -> None:
    goofs = goofs_sqlite
    craft_id = await _craft(goofs)
    await goofs.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance",
        json={"starts_at": _at(600), "ends_at": _at(1200), "reason": "Next week"},
    )
    change = await goofs.state.writes.apply(
        service.malfunction_random, actor="simulator", rng=random.Random(1)
    )
    assert change is not None and str(change.spacecraft.id) == craft_id


async def test_the_simulator_picks_and_breaks_at_one_moment_as_a_window_opens(
    goofs_sqlite: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    goofs = goofs_sqlite
    craft_id = await _craft(goofs)
    window = await goofs.client.put(
        f"/api/v1/spacecraft/{craft_id}/maintenance",
        json={"starts_at": _at(600), "ends_at": _at(1200), "reason": "Opens any moment"},
    )
    opens = datetime.fromisoformat(window.json()["maintenance"]["starts_at"])
    # The clock reads a microsecond before the window, then the window's first moment.
    readings = itertools.chain([opens - timedelta(microseconds=1)], itertools.repeat(opens))
    monkeypatch.setattr(service, "utcnow", lambda: next(readings))

    change = await goofs.state.writes.apply(
        service.malfunction_random, actor="simulator", rng=random.Random(1)
    )

    assert change is not None and str(change.spacecraft.id) == craft_id
    event = change.event.model_dump(mode="json")
    assert event["data"]["planned"] is False, "broken in its window by the simulator"
    assert datetime.fromisoformat(event["data"]["anomaly"]["opened_at"]) < opens
