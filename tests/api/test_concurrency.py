"""One truth, one order: concurrent writers on both databases."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import datetime
from typing import Any

import pytest

from tests.support import Running

# Up to fifty writers at once: on PostgreSQL one of these tests can hold some sixty connections
# (the hot changes' pool and the reads'), so with parallel workers (`make test-fast`) they run
# one after another on one worker, within the service's hundred.
pytestmark = pytest.mark.xdist_group("many-connections")


async def create(goofs: Running, name: str, cospar_id: str, status: str = "NOMINAL") -> str:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": cospar_id, "status": status}
    )
    assert response.status_code == 201, response.text
    spacecraft_id: str = response.json()["id"]
    return spacecraft_id


async def all_events(goofs: Running) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = await goofs.client.get(
            "/api/v1/events", params={"after": events[-1]["seq"] if events else 0, "limit": 500}
        )
        items = page.json()["items"]
        if not items:
            return events
        events.extend(items)


async def test_fifty_concurrent_repairs_succeed_exactly_once(goofs: Running) -> None:
    spacecraft_id = await create(goofs, "Hubble", "1990-037B", status="MALFUNCTIONING")

    responses = await asyncio.gather(
        *(goofs.client.post(f"/api/v1/spacecraft/{spacecraft_id}/repair") for _ in range(50))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 49
    repaired = [e for e in await all_events(goofs) if e["type"] == "spacecraft.repaired"]
    assert len(repaired) == 1


async def test_racing_malfunctions_repairs_and_deletes_leave_state_equal_to_the_last_event(
    goofs: Running,
) -> None:
    ids = [await create(goofs, f"Racer {n}", f"2021-{n + 1:03d}A") for n in range(4)]
    rng = random.Random(7)
    calls = []
    for _ in range(60):
        spacecraft_id = rng.choice(ids)
        action = rng.choice(["malfunction", "repair", "malfunction", "repair", "delete"])
        if action == "delete":
            calls.append(goofs.client.delete(f"/api/v1/spacecraft/{spacecraft_id}"))
        else:
            calls.append(goofs.client.post(f"/api/v1/spacecraft/{spacecraft_id}/{action}"))

    responses = await asyncio.gather(*calls)

    assert {r.status_code for r in responses} <= {200, 204, 404, 409}
    successes = sum(r.status_code in (200, 204) for r in responses)
    events = await all_events(goofs)
    assert len(events) == len(ids) + successes
    for spacecraft_id in ids:
        history = [e for e in events if e["spacecraft_id"] == spacecraft_id]
        types = [e["type"] for e in history]
        if "spacecraft.deleted" in types:
            assert types.index("spacecraft.deleted") == len(types) - 1, types
            current = await goofs.client.get(f"/api/v1/spacecraft/{spacecraft_id}")
            assert current.status_code == 404
        else:
            current = await goofs.client.get(f"/api/v1/spacecraft/{spacecraft_id}")
            assert current.json() == history[-1]["data"]["spacecraft"]
        # A transition only ever follows the state it requires.
        for before, after in itertools.pairwise(types):
            if after == "spacecraft.repaired":
                assert before == "spacecraft.malfunctioned", types
            if after == "spacecraft.malfunctioned":
                assert before in ("spacecraft.created", "spacecraft.repaired"), types


async def test_seq_is_gap_free_and_in_commit_order_under_twenty_writers(goofs: Running) -> None:
    async def writer(number: int) -> int:
        spacecraft_id = await create(goofs, f"Writer {number}", f"2022-{number + 1:03d}A")
        done = 1
        for _ in range(4):
            for action in ("malfunction", "repair"):
                response = await goofs.client.post(f"/api/v1/spacecraft/{spacecraft_id}/{action}")
                assert response.status_code == 200, response.text
                done += 1
        return done

    changes = sum(await asyncio.gather(*(writer(n) for n in range(20))))

    events = await all_events(goofs)
    assert [e["seq"] for e in events] == list(range(1, changes + 1))
    occurred = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert occurred == sorted(occurred), "seq order and commit order disagree"
    versions: dict[str, int] = {}
    for event in events:
        version = event["data"]["spacecraft"]["version"]
        assert version > versions.get(event["spacecraft_id"], 0)
        versions[event["spacecraft_id"]] = version


async def test_seq_stays_gap_free_after_concurrent_writes_refused_as_conflicts(
    goofs: Running,
) -> None:
    """A refused write has taken the next seq before it fails; its rollback must give it back."""
    ids = [await create(goofs, f"Contender {n}", f"2024-{n + 1:03d}A") for n in range(4)]
    client = goofs.client
    calls = []
    for number, spacecraft_id in enumerate(ids):
        path = f"/api/v1/spacecraft/{spacecraft_id}"
        calls += [client.post(f"{path}/malfunction") for _ in range(4)]
        calls += [client.post(f"{path}/repair") for _ in range(4)]
        # Version 1 is stale as soon as any other change to this craft commits.
        calls += [client.patch(path, json={"name": f"Renamed {n}", "version": 1}) for n in range(3)]
        duplicate = {"name": f"Copy {number}", "cospar_id": f"2024-{number + 1:03d}A"}
        calls += [client.post("/api/v1/spacecraft", json=duplicate) for _ in range(2)]
        fresh = {"name": f"Newcomer {number}", "cospar_id": f"2024-{number + 101:03d}A"}
        calls.append(client.post("/api/v1/spacecraft", json=fresh))
    random.Random(13).shuffle(calls)

    responses = await asyncio.gather(*calls)
    after_the_race = await create(goofs, "Latecomer", "2024-999A")

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 201, 409}, statuses
    refused = statuses.count(409)
    accepted = len(statuses) - refused
    assert refused >= len(ids) * 2 and accepted >= len(ids) * 2, statuses
    events = await all_events(goofs)
    assert [e["seq"] for e in events] == list(range(1, len(ids) + accepted + 2))
    assert events[-1]["spacecraft_id"] == after_the_race
    page = await client.get("/api/v1/events", params={"limit": 1})
    assert page.json()["last_seq"] == len(events)
