"""Kill -9 the server while 20 operators write: acknowledged changes survive, with their events."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.ports import free_port
from tests.support import cli_token, goofs_process, wait_until

WRITERS = 20
MAX_CHANGES_PER_WRITER = 60
KILL_AFTER_ACKNOWLEDGED = 200


class Acknowledged:
    """Every change the server answered 2xx to: (spacecraft id, version it reached)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[int]] = defaultdict(list)
        self.count = 0

    def add(self, craft: dict[str, Any]) -> None:
        self.versions[craft["id"]].append(craft["version"])
        self.count += 1


async def write_until_killed(
    client: httpx.AsyncClient, writer: int, acknowledged: Acknowledged
) -> None:
    """Register a craft, then break and fix it, until the server stops answering."""
    try:
        created = await client.post(
            "/api/v1/spacecraft",
            json={"name": f"Writer {writer}", "cospar_id": f"2024-{writer + 1:03d}A"},
        )
        assert created.status_code == 201, created.text
        craft = created.json()
        acknowledged.add(craft)
        for change in range(MAX_CHANGES_PER_WRITER):
            action = "malfunction" if change % 2 == 0 else "repair"
            response = await client.post(f"/api/v1/spacecraft/{craft['id']}/{action}")
            assert response.status_code == 200, response.text
            acknowledged.add(response.json())
    except httpx.TransportError:
        return  # the server died under us: whatever was in flight has no acknowledgement


async def all_events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        after = events[-1]["seq"] if events else 0
        page = (await client.get("/api/v1/events", params={"after": after, "limit": 500})).json()
        if not page["items"]:
            return events
        events.extend(page["items"])


@pytest.mark.timeout(120)
async def test_every_acknowledged_change_survives_a_kill_9(
    database_url: str, tmp_path: Path
) -> None:
    env = {"GOOFS_DATABASE_URL": database_url}
    token = cli_token(env, tmp_path, "writer")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged = Acknowledged()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=WRITERS)
    log = tmp_path / "serve.log"

    serve = ["serve", "--port", str(port)]
    with goofs_process(serve, env, tmp_path, port=port, log=log) as server:
        async with httpx.AsyncClient(
            base_url=url, headers=headers, timeout=30, limits=limits
        ) as client:
            writers = [
                asyncio.create_task(write_until_killed(client, writer, acknowledged))
                for writer in range(WRITERS)
            ]
            await wait_until(
                lambda: acknowledged.count >= KILL_AFTER_ACKNOWLEDGED,
                timeout=60,
                message=f"{KILL_AFTER_ACKNOWLEDGED} acknowledged changes",
            )
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            await asyncio.gather(*writers)
    assert server.returncode == -signal.SIGKILL
    assert acknowledged.count < WRITERS * (MAX_CHANGES_PER_WRITER + 1), "killed mid-write"

    with goofs_process(serve, env, tmp_path, port=port, log=log) as server:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            fleet = (await client.get("/api/v1/spacecraft", params={"limit": 500})).json()
            events = await all_events(client)
            last_seq = (await client.get("/api/v1/events")).json()["last_seq"]

    seqs = [event["seq"] for event in events]
    assert seqs == list(range(1, len(events) + 1)), "seq is gap-free from 1"
    assert last_seq == len(events)

    current = {craft["id"]: craft["version"] for craft in fleet["items"]}
    versions_logged: dict[str, list[int]] = defaultdict(list)
    for event in events:
        versions_logged[event["spacecraft_id"]].append(event["data"]["spacecraft"]["version"])

    for craft_id, versions in acknowledged.versions.items():
        assert craft_id in current, "an acknowledged spacecraft survived"
        assert current[craft_id] >= max(versions), "every acknowledged change survived"
        assert set(versions) <= set(versions_logged[craft_id]), "and so did its event"
    for craft_id, version in current.items():
        # One event per change, no more, no fewer: versions 1..now, each exactly once.
        assert versions_logged[craft_id] == list(range(1, version + 1)), craft_id
    assert set(versions_logged) == set(current), "no event for a change that is not there"
