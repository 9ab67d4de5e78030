"""A durable consumer killed with -9 in the middle of its batches: nothing lost, nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from devkit.ports import free_port
from devkit.processes import stop
from galactic_goofs.db import Database
from galactic_goofs.events import service as events_service
from galactic_goofs.events.models import ConsumerCursor
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.schemas import SpacecraftCreate
from tests.support import wait_until
from tests.system.consumer_server import NAME

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 150
KILLS = 3


def async_url(url: str) -> str:
    return url.replace("sqlite://", "sqlite+aiosqlite://").replace(
        "postgresql://", "postgresql+asyncpg://"
    )


def start(database_url: str, progress: Path, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "GOOFS_DATABASE_URL": database_url,
        "GOOFS_MALFUNCTION_INTERVAL": "0",
        "GOOFS_TEST_PROGRESS": str(progress),
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "tests.system.consumer_server:build"),
                *("--factory", "--host", "127.0.0.1", "--port", str(port)),
            ],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process


def batches_begun(progress: Path) -> list[int]:
    return [int(line) for line in progress.read_text().split()] if progress.exists() else []


async def cursor(db: Database) -> int:
    async with db.reading() as session:
        value = await session.scalar(
            select(ConsumerCursor.last_seq).where(ConsumerCursor.name == NAME)
        )
    return value or 0


@pytest.mark.timeout(120)
async def test_a_consumer_killed_mid_batch_resumes_with_every_event_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(async_url(database_url))
    progress, log = tmp_path / "progress", tmp_path / "server.log"
    try:
        await db.write(lambda session: session.execute(text("CREATE TABLE handled (seq BIGINT)")))
        for number in range(1, EVENTS + 1):
            await db.write(
                fleet.create,
                SpacecraftCreate(name=f"Sat {number}", cospar_id=f"2018-{number:03d}A"),
                actor="test",
                rng=random.Random(number),
            )

        killed_in = []
        for kill in range(KILLS):
            # After the first kill, the second batch of the run: the first redoes the one killed.
            target = len(batches_begun(progress)) + (1 if kill == 0 else 2)
            process = start(database_url, progress, log)
            try:
                # A batch has begun and is taking its time, its rows written, not committed.
                await wait_until(
                    lambda target=target: len(batches_begun(progress)) >= target,
                    timeout=20,
                    message="a batch to begin",
                )
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
            finally:
                stop(process)
            killed_in.append(batches_begun(progress)[-1])
            assert await cursor(db) < killed_in[-1], "the killed batch committed nothing"

        process = start(database_url, progress, log)
        try:
            await wait_until(
                lambda: _at(db, EVENTS), timeout=60, message="the consumer to finish the log"
            )
        finally:
            stop(process)

        async with db.reading() as session:
            seqs = list(await session.scalars(text("SELECT seq FROM handled ORDER BY seq")))
            head = await events_service.last_seq(session)
    finally:
        await db.write(lambda session: session.execute(text("DROP TABLE IF EXISTS handled")))
        await db.dispose()

    assert head == EVENTS
    assert seqs == list(range(1, EVENTS + 1)), f"killed in batches from {killed_in}"
    assert len(set(killed_in)) == KILLS, "each kill landed in a later batch"


async def _at(db: Database, seq: int) -> bool:
    return await cursor(db) >= seq
