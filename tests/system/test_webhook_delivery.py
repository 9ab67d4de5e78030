"""Webhooks are delivered at least once through crashes: 500 malfunctions while the
dispatching instance is killed with -9 twice and the receiver fails for a while."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devkit.ports import free_port
from devkit.processes import stop
from galactic_goofs.db import Database, utcnow
from galactic_goofs.events.models import ConsumerCursor, Event
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.schemas import MalfunctionRequest, SpacecraftCreate
from galactic_goofs.lease import Lease
from galactic_goofs.notifications import service as webhooks
from galactic_goofs.notifications.dispatch import CONSUMER_NAME
from galactic_goofs.notifications.schemas import WebhookCreate, WebhookUpdate
from tests.support import wait_for_http, wait_until

ROOT = Path(__file__).resolve().parents[2]
MALFUNCTIONS = 500
LEASE = f"consumer:{CONSUMER_NAME}"
# Quick retries, and enough of them to outlast the receiver's outage and two failovers.
SCHEDULE = ",".join(["100ms", "200ms", "500ms", *["1s"] * 40])


def serve(database_url: str, log: Path, *, wait: bool = True) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "GOOFS_DATABASE_URL": database_url,
        "GOOFS_MALFUNCTION_INTERVAL": "0",
        "GOOFS_LEASE_TTL": "3",
        "GOOFS_CATCH_UP_INTERVAL": "0.2",
        "GOOFS_WEBHOOK_ALLOW_PRIVATE": "true",
        "GOOFS_WEBHOOK_RETRY_SCHEDULE": SCHEDULE,
        "GOOFS_WEBHOOK_TIMEOUT": "2",
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "galactic_goofs.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if wait:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process, timeout=60)
    return process


async def leader_pid(db: Database) -> int | None:
    async with db.reading() as session:
        lease = await session.get(Lease, LEASE, populate_existing=True)
    if lease is None:
        return None
    return int(lease.holder.split(":")[1]) if lease.expires_at > utcnow() else None


async def is_leader(db: Database, process: subprocess.Popen[bytes]) -> bool:
    return await leader_pid(db) == process.pid


def start_receiver(secret: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = tmp_path / "receiver.url"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.webhook_receiver", "--secret", secret),
            *("--record", str(tmp_path / "received.jsonl")),
            *("--fail-while", str(tmp_path / "outage")),
            *("--ready", str(ready)),
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while not (ready.exists() and ready.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "the receiver started"
        time.sleep(0.05)
    return process, ready.read_text()


def received(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "received.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.mark.postgres
@pytest.mark.timeout(240)
async def test_every_malfunction_reaches_the_receiver_through_two_kills_and_an_outage(
    postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url.replace("postgresql://", "postgresql+asyncpg://")
    db = Database(url)
    outage = tmp_path / "outage"
    outage.touch()
    processes: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "serve.log"
    try:
        endpoint = await db.write(
            webhooks.create_endpoint,
            WebhookCreate(url="http://127.0.0.1:1/", events=["spacecraft.malfunctioned"]),
            actor="test",
        )
        assert endpoint.secret
        hook, hook_url = start_receiver(endpoint.secret, tmp_path)
        processes.append(hook)
        await db.write(
            webhooks.update_endpoint,
            endpoint.webhook.id,
            WebhookUpdate(url=hook_url + "/hook"),
            actor="test",
        )
        rng = random.Random(5)
        crafts = []
        for number in range(1, MALFUNCTIONS + 1):
            created = await db.write(
                fleet.create,
                SpacecraftCreate(name=f"Sat {number}", cospar_id=f"2019-{number:03d}A"),
                actor="test",
                rng=rng,
            )
            crafts.append(created.spacecraft.id)

        first = serve(url, log)
        processes.append(first)
        await wait_until(lambda: is_leader(db, first), timeout=30, message="a leader")
        await wait_until(lambda: _cursor_exists(db), timeout=30, message="dispatch's cursor")
        second = serve(url, log)
        processes.append(second)

        async def break_them() -> None:
            for craft_id in crafts:
                await db.write(
                    fleet.malfunction, craft_id, MalfunctionRequest(), actor="test", rng=rng
                )

        writing = asyncio.create_task(break_them())
        leaders = [first.pid]
        servers = [first, second]
        for _ in range(2):
            seen = len(received(tmp_path))
            await wait_until(
                lambda seen=seen: len(received(tmp_path)) >= seen + 50,
                timeout=30,
                interval=0.1,
                message="attempts to the failing receiver",
            )
            leader = next(p for p in servers if p.pid == leaders[-1])
            os.kill(leader.pid, signal.SIGKILL)
            leader.wait()
            survivor = next(p for p in servers if p.poll() is None)
            await wait_until(
                lambda survivor=survivor: is_leader(db, survivor),
                timeout=30,
                message="the lease to pass to the other instance",
            )
            leaders.append(survivor.pid)
            # The next standby starts while the survivor works; it is needed only at the next kill.
            servers = [survivor, serve(url, log, wait=False)]
            processes.append(servers[-1])
        outage.unlink()
        await writing

        async with db.reading() as session:
            expected = set(
                await session.scalars(
                    select(Event.seq).where(Event.type == "spacecraft.malfunctioned")
                )
            )

        def delivered() -> set[int]:
            return {line["seq"] for line in received(tmp_path) if line["status"] == 200}

        await wait_until(
            lambda: delivered() == expected,
            timeout=60,
            interval=0.2,
            message="every malfunction delivered",
        )
    finally:
        for process in processes:
            stop(process)
        await db.dispose()

    lines = received(tmp_path)
    assert len(expected) == MALFUNCTIONS
    assert lines[-1]["rejected"] == 0, "every request carried a valid signature"
    ids_of_seq: dict[int, set[str]] = {}
    for line in lines:
        ids_of_seq.setdefault(line["seq"], set()).add(line["webhook_id"])
    assert all(len(ids) == 1 for ids in ids_of_seq.values()), "a repeat is a retry, same id"
    assert len(set(leaders)) == 3, "dispatch moved to another instance at each kill"
    assert any(line["status"] == 500 for line in lines), "the outage made the sender retry"


async def _cursor_exists(db: Database) -> bool:
    async with db.reading() as session:
        cursor = await session.get(ConsumerCursor, CONSUMER_NAME, populate_existing=True)
    return cursor is not None
