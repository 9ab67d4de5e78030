"""Every change goes through one write path, which publishes its event the moment it commits."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse

from galactic_goofs.simulator import FaultSimulator
from tests.support import Running, running_app, test_settings

SRC = Path(__file__).resolve().parents[2] / "src" / "galactic_goofs"
PUBLISHERS = {SRC / "events" / "write_path.py", SRC / "events" / "redis_broker.py"}
"""The write path, and the Redis broker passing an event on to Redis."""
NO_CATCH_UP = 3600.0
"""The hubs' look at the log for events the broker never brought, pushed out of the test's
reach: an event that arrives did so because it was published."""

Step = Callable[[Running, str], Awaitable[httpx.Response]]


@pytest.fixture
async def goofs_without_catch_up(sqlite_url: str) -> AsyncIterator[Running]:
    async with running_app(test_settings(sqlite_url, catch_up_interval=NO_CATCH_UP)) as goofs:
        yield goofs


async def _create(goofs: Running, number: int) -> str:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": f"Probe {number}", "cospar_id": f"2011-{number:03d}A"}
    )
    assert response.status_code == 201, response.text
    craft_id: str = response.json()["id"]
    return craft_id


def _on_anomaly(action: str, body: dict[str, object] | None = None) -> Step:
    """A step on the spacecraft's open anomaly."""

    async def step(goofs: Running, craft_id: str) -> httpx.Response:
        craft = (await goofs.client.get(f"/api/v1/spacecraft/{craft_id}")).json()
        path = f"/api/v1/anomalies/{craft['anomaly']['id']}/{action}"
        return await goofs.client.post(path, json=body)

    return step


API: dict[str, Step] = {
    "API create": lambda g, _: g.client.post(
        "/api/v1/spacecraft", json={"name": "Fresh", "cospar_id": "2011-900A"}
    ),
    "API edit": lambda g, i: g.client.patch(f"/api/v1/spacecraft/{i}", json={"name": "Renamed"}),
    "API malfunction": lambda g, i: g.client.post(f"/api/v1/spacecraft/{i}/malfunction"),
    "API acknowledge": _on_anomaly("acknowledge", {"comment": "mine"}),
    "API assign": _on_anomaly("assign", {"assignee": "operator"}),
    "API note": _on_anomaly("notes", {"text": "Checked the cables"}),
    "API shelve": _on_anomaly("shelve", {"minutes": 30, "reason": "Known"}),
    "API unshelve": _on_anomaly("unshelve"),
    "API repair": lambda g, i: g.client.post(
        f"/api/v1/spacecraft/{i}/repair", json={"resolution": "Cables"}
    ),
    "API maintenance": lambda g, i: g.client.put(
        f"/api/v1/spacecraft/{i}/maintenance",
        json={"ends_at": "2999-01-01T00:00:00Z", "reason": "Polishing the lenses"},
    ),
    "API maintenance end": lambda g, i: g.client.delete(f"/api/v1/spacecraft/{i}/maintenance"),
    "API delete": lambda g, i: g.client.delete(f"/api/v1/spacecraft/{i}"),
}
CONSOLE: dict[str, Step] = {
    "console create": lambda g, _: g.client.post(
        "/console/spacecraft", data={"name": "Fresh", "cospar_id": "2011-901A"}
    ),
    "console edit": lambda g, i: g.client.post(
        f"/console/spacecraft/{i}/edit", data={"name": "Renamed", "cospar_id": "2011-902A"}
    ),
    "console malfunction": lambda g, i: g.client.post(f"/console/spacecraft/{i}/malfunction"),
    "console repair": lambda g, i: g.client.post(f"/console/spacecraft/{i}/repair"),
    "console delete": lambda g, i: g.client.delete(f"/console/spacecraft/{i}"),
}


@pytest.mark.parametrize("steps", [API, CONSOLE], ids=["api", "console"])
async def test_every_change_reaches_the_stream_at_once_without_the_catch_up(
    goofs_without_catch_up: Running, steps: dict[str, Step]
) -> None:
    goofs = goofs_without_catch_up
    craft = await _create(goofs, 1)
    after = (await goofs.client.get("/api/v1/events")).json()["last_seq"]

    async with aconnect_sse(
        goofs.client, "GET", "/api/v1/events/stream", params={"after": after}
    ) as source:
        frames = source.aiter_sse()
        for name, step in steps.items():
            response = await step(goofs, craft)
            assert response.status_code < 300, (name, response.text)
            async with asyncio.timeout(2):
                frame = await anext(frame async for frame in frames if frame.data)
            after += 1
            assert int(frame.id) == after, name


async def test_the_simulators_malfunctions_are_published_at_once(
    goofs_without_catch_up: Running,
) -> None:
    goofs = goofs_without_catch_up
    await _create(goofs, 2)
    async with aconnect_sse(goofs.client, "GET", "/api/v1/events/stream") as source:
        frames = source.aiter_sse()
        simulator = FaultSimulator(goofs.state, interval=0.05, lease_ttl=1.0)
        firing = asyncio.create_task(simulator.run())
        try:
            async with asyncio.timeout(3):
                frame = await anext(frame async for frame in frames if frame.data)
        finally:
            firing.cancel()
    assert frame.event == "spacecraft.malfunctioned"


def test_only_the_write_path_publishes() -> None:
    publishers = []
    for module in SRC.rglob("*.py"):
        tree = ast.parse(module.read_text(), filename=str(module))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "publish"
                and module not in PUBLISHERS
            ):
                publishers.append(f"{module.relative_to(SRC)}:{node.lineno}")
    assert publishers == []
