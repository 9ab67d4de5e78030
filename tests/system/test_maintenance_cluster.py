"""Two instances on one PostgreSQL: maintenance windows end once, and the simulator keeps off."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from galactic_goofs.db import utcnow
from tests.cluster import cluster_env, instances
from tests.support import cli_token, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CRAFTS = 8
FREE = 2
SIMULATED_SECONDS = 6.0


def _at(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


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


async def test_two_instances_end_a_window_once_and_never_break_a_craft_in_maintenance(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(
        postgres_url, redis_url, clock_interval="0.2", malfunction_interval="0.2", lease_ttl="2"
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
            shielded = ids[FREE:]
            for craft_id in shielded:
                window = {"ends_at": _at(3600), "reason": "Shielded"}
                put = await on_b.put(f"/api/v1/spacecraft/{craft_id}/maintenance", json=window)
                assert put.status_code == 200, put.text
            # The simulator has been at them all along: what counts is what it does from here.
            shielded_from = (await on_a.get("/api/v1/events")).json()["last_seq"]
            brief = ids[0]
            planned = await on_a.put(
                f"/api/v1/spacecraft/{brief}/maintenance",
                json={"starts_at": _at(1), "ends_at": _at(2), "reason": "Brief"},
            )
            assert planned.status_code == 200

            async def ended() -> bool:
                found = await _events(on_b, spacecraft_id=brief)
                return any(event["type"] == "spacecraft.maintenance_ended" for event in found)

            await wait_until(ended, timeout=15, message="the brief window to end")
            # The simulator keeps breaking and both go on fixing the two it may break.
            deadline = asyncio.get_running_loop().time() + SIMULATED_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                for craft_id in ids[:FREE]:
                    await on_b.post(f"/api/v1/spacecraft/{craft_id}/repair")
                await asyncio.sleep(0.3)

            brief_events = [event["type"] for event in await _events(on_a, spacecraft_id=brief)]
            broken = await _events(on_a, shielded_from, type="spacecraft.malfunctioned")

    assert brief_events.count("spacecraft.maintenance_started") == 1
    assert brief_events.count("spacecraft.maintenance_ended") == 1
    assert broken, "the simulator never fired"
    assert not {event["spacecraft_id"] for event in broken} & set(shielded)
