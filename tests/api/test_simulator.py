"""The fault simulator breaks nominal spacecraft, one instance at a time."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from galactic_goofs.db import Database
from galactic_goofs.events import service as events_service
from galactic_goofs.events.broker import MemoryBroker
from galactic_goofs.events.hub import Hub
from galactic_goofs.fleet import service
from galactic_goofs.fleet.schemas import SpacecraftCreate
from galactic_goofs.settings import Settings
from galactic_goofs.simulator import FaultSimulator
from galactic_goofs.state import AppState
from tests.support import running_app, test_settings, wait_until


async def test_the_simulator_only_breaks_nominal_living_spacecraft(tmp_path: Path) -> None:
    settings = test_settings(f"sqlite:///{tmp_path / 'g.db'}")
    async with running_app(settings) as goofs:
        client = goofs.client
        ids = []
        for number in range(13):
            status = "MALFUNCTIONING" if number >= 10 else "NOMINAL"
            response = await client.post(
                "/api/v1/spacecraft",
                json={
                    "name": f"Sat {number}",
                    "cospar_id": f"2025-{number + 1:03d}A",
                    "status": status,
                },
            )
            ids.append(response.json()["id"])
        deleted = ids[:2]
        for spacecraft_id in deleted:
            assert (await client.delete(f"/api/v1/spacecraft/{spacecraft_id}")).status_code == 204
        before = (await client.get("/api/v1/events")).json()["last_seq"]

        simulator = FaultSimulator(goofs.state, interval=0.2, lease_ttl=1.0)

        async def simulated() -> list[dict[str, Any]]:
            page = await client.get(
                "/api/v1/events", params={"after": before, "type": "spacecraft.malfunctioned"}
            )
            return [e for e in page.json()["items"] if e["actor"] == "simulator"]

        task = asyncio.create_task(simulator.run())
        try:
            await wait_until(lambda: _at_least(simulated, 5), timeout=10, message="5 malfunctions")
        finally:
            task.cancel()
        events = await simulated()

    broken = [e["spacecraft_id"] for e in events]
    assert len(broken) == len(set(broken)), "a spacecraft broke twice without a repair"
    assert not set(broken) & set(deleted), "a deleted spacecraft broke"
    assert not set(broken) & set(ids[10:]), "an already malfunctioning spacecraft broke again"
    for event in events:
        assert event["data"]["spacecraft"]["status"] == "MALFUNCTIONING"
        assert event["data"]["fault"]["description"]


async def _at_least(read: Any, count: int) -> bool:
    return len(await read()) >= count


def _state(db: Database) -> AppState:
    settings = Settings(database_url=db.url, _env_file=None)  # type: ignore[call-arg]
    return AppState(settings=settings, db=db, broker=MemoryBroker(), hub=Hub(db, MemoryBroker()))


async def _nominal(db: Database, count: int) -> None:
    for number in range(count):
        await db.write(
            service.create,
            SpacecraftCreate(name=f"N{number}", cospar_id=f"2026-{number + 1:03d}A"),
            actor="test",
            rng=random.Random(),
        )


async def test_only_one_simulator_holds_the_lease(db: Database) -> None:
    await _nominal(db, 3)
    first = FaultSimulator(_state(db), interval=1, lease_ttl=5)
    second = FaultSimulator(_state(db), interval=1, lease_ttl=5)

    await first.renew()
    await second.renew()

    assert first.leading and not second.leading


async def test_a_simulator_that_lost_its_lease_cannot_fire(db: Database) -> None:
    await _nominal(db, 3)
    old = FaultSimulator(_state(db), interval=1, lease_ttl=0.05)
    new = FaultSimulator(_state(db), interval=1, lease_ttl=5)
    await old.renew()
    assert old.leading

    await wait_until(lambda: _took_over(new), timeout=5, message="takeover after expiry")
    await old.fire()  # it still believes it leads

    async with db.reading() as session:
        summary = await service.summary(session)
        head = await events_service.last_seq(session)
    assert summary.malfunctioning == 0
    assert head == 3  # the three creations: the refused fire handed its seq back


async def _took_over(simulator: FaultSimulator) -> bool:
    await simulator.renew()
    return simulator.leading


async def test_a_stopping_simulator_hands_over_at_once(db: Database) -> None:
    first = FaultSimulator(_state(db), interval=0.05, lease_ttl=30)
    task = asyncio.create_task(first.run())
    await wait_until(lambda: first.leading, message="first leads")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    second = FaultSimulator(_state(db), interval=1, lease_ttl=30)
    await second.renew()

    assert second.leading
