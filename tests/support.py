"""Test helpers: servers on loopback, the external services, waiting on conditions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from devkit.processes import stop, wait_for_http
from galactic_goofs import cli
from galactic_goofs.app import create_app
from galactic_goofs.auth import service as auth
from galactic_goofs.events import service as events_service
from galactic_goofs.events.models import ConsumerCursor
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.settings import Settings
from galactic_goofs.state import AppState

LOOPBACK_SSL = ssl.create_default_context()
"""One SSL context for every test client: each httpx client would otherwise load the CA
bundle again (a sixth of the API tests' time), for servers that speak plain HTTP anyway."""
REDIS_URL = os.environ.get("GOOFS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
OPERATOR = "operator"
OPERATOR_PASSWORD = "correct horse"
"""The operator `running_app` signs its client in as (with an API token), and its password."""


def require(service: str, reachable: bool, detail: str) -> None:
    """Skip when a service is missing on a laptop; fail in CI, where it must be there."""
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"{service} is required when CI=true but is not reachable: {detail}")
    pytest.skip(f"{service} not reachable: {detail}")


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": "memory://",
        "malfunction_interval": 0,
        "catch_up_interval": 0.5,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


async def wait_until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> None:
    """Poll `condition` until it holds; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)


@dataclass
class Running:
    url: str
    client: httpx.AsyncClient
    """Acts as the operator `OPERATOR`, with its bearer token."""
    state: AppState
    token: str
    server: uvicorn.Server


@asynccontextmanager
async def running_app(
    settings: Settings, *, middleware: Sequence[type[Any]] = (), listen: bool = False
) -> AsyncIterator[Running]:
    """The real app under uvicorn on a loopback port, in this event loop; `middleware` is
    added around the app's own. With `listen`, on the socket `goofs serve` makes (its kernel
    send buffer capped by `settings.socket_send_buffer`)."""
    app = create_app(settings)
    for layer in middleware:
        app.add_middleware(layer)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    sockets = [cli._listen("127.0.0.1", 0, settings.socket_send_buffer)] if listen else None
    task = asyncio.create_task(server.serve(sockets=sockets))
    started = asyncio.create_task(server.ready.wait())
    try:
        async with asyncio.timeout(10):
            await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
    except TimeoutError:
        raise AssertionError("timed out after 10s waiting for server start") from None
    finally:
        started.cancel()
    if task.done():
        task.result()
        raise AssertionError("the server stopped before it started")
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        token = await operator_token(app.state.goofs, OPERATOR)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=url, timeout=30, headers=headers, verify=LOOPBACK_SSL
        ) as client:
            yield Running(url, client, app.state.goofs, token, server)
    finally:
        server.stop()
        try:
            async with asyncio.timeout(10):
                await asyncio.shield(task)
        except TimeoutError:
            # Whatever holds the shutdown up, shown instead of a bare timeout.
            for running in asyncio.all_tasks():
                running.print_stack(limit=8)
            raise


class _Server(uvicorn.Server):
    """uvicorn checks whether to exit, and whether connections have gone, every 0.1 s; a test
    suite starting hundreds of servers stops each one as soon as it asks, and learns that one
    has started (`ready`) without polling for it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()

    async def main_loop(self) -> None:
        await self._exit.wait()

    def stop(self) -> None:
        self.should_exit = True
        self._exit.set()

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        """uvicorn's own, without its fixed 0.1 s pause: a test has closed its connections."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for _ in range(3):  # the closed connections' callbacks run on the next turns
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await self._wait_tasks_to_complete()
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel()
        await self.lifespan.shutdown()


async def consumers_caught_up(state: AppState, timeout: float = 10.0) -> None:
    """Until every durable consumer's cursor has reached the head of the event log."""

    async def caught_up() -> bool:
        async with state.db.reading() as session:
            head = await events_service.last_seq(session)
            cursors = (await session.scalars(select(ConsumerCursor.last_seq))).all()
        return bool(cursors) and min(cursors) >= head

    await wait_until(caught_up, timeout=timeout, message="the consumers to reach the log's head")


async def operator_token(state: AppState, name: str, password: str = OPERATOR_PASSWORD) -> str:
    """An API token for operator `name`, added with `password` if it does not exist yet."""
    async with state.db.reading() as session:
        known = name in await auth.operator_names(session)
    if not known:
        await auth.add_operator(state.db, name, password)
    return await state.db.write(auth.create_token, name)


@contextlib.contextmanager
def goofs_process(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    port: int | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`goofs ...` as a real process; with `port`, waits until it answers /healthz.

    Its output is a pipe, or with `log` that file: a busy server would fill an unread pipe.
    """
    full_env = {**os.environ, "GOOFS_MALFUNCTION_INTERVAL": "0", **env}
    with contextlib.ExitStack() as files:
        output = files.enter_context(log.open("wb")) if log is not None else subprocess.PIPE
        process = subprocess.Popen(
            [sys.executable, "-m", "galactic_goofs.cli", *args],
            env=full_env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        if port is not None:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        yield process
    finally:
        stop(process)


def run_goofs(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """One `goofs` command to its end, as an operator would type it."""
    return subprocess.run(
        [sys.executable, "-m", "galactic_goofs.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
    )


def cli_token(env: dict[str, str], cwd: Path, name: str = OPERATOR) -> str:
    """Add operator `name` with `goofs user add` (test databases come with `OPERATOR`) and
    return a token from `goofs token create`."""
    added = run_goofs(["user", "add", name], env, cwd, stdin=f"{OPERATOR_PASSWORD}\n")
    assert added.returncode == 0 or "already exists" in added.stderr, added.stderr
    created = run_goofs(["token", "create", "--user", name], env, cwd)
    created.check_returncode()
    return created.stdout.split()[-1]


# A time with microseconds, as the database must keep them.
STAMP = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)


def add_craft(session: Session, index: int) -> uuid.UUID:
    """A nominal spacecraft written through the ORM, as `create` would not (no event)."""
    craft = Spacecraft(
        id=uuid.uuid4(),
        name=f"Probe-{index}",
        cospar_id=f"2026-{index:03d}A",
        status=Status.NOMINAL,
        created_at=STAMP,
        updated_at=STAMP,
        version=1,
    )
    session.add(craft)
    return craft.id
