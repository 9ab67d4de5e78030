"""Real processes for the scale-out tests: app instances, nginx, a private Redis, stream clients.

nginx and the private Redis come from `devkit`, which the deployment bench shares.

Everything listens on 127.0.0.1 and is stopped by the context manager that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from devkit.nginx import nginx, nginx_binary
from devkit.ports import free_port
from devkit.postgres import unique_name
from devkit.redis_server import RedisServer
from tests.support import goofs_process, wait_for_http

__all__ = [
    "Instance",
    "RedisServer",
    "StreamClient",
    "cluster_env",
    "cospar_id",
    "instances",
    "mixed_changes",
    "nginx",
    "nginx_binary",
    "streaming",
]


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def cluster_env(database_url: str, broker_url: str, **settings: str) -> dict[str, str]:
    """The environment of every instance of one cluster: shared database, broker and channel."""
    return {
        "GOOFS_DATABASE_URL": database_url,
        "GOOFS_BROKER_URL": broker_url,
        "GOOFS_REDIS_CHANNEL": unique_name("goofs_test_events"),
        **{f"GOOFS_{name.upper()}": value for name, value in settings.items()},
    }


@contextlib.contextmanager
def instances(count: int, env: dict[str, str], workdir: Path) -> Iterator[list[Instance]]:
    """`count` `goofs serve` processes started at once (so they also race to migrate)."""
    with contextlib.ExitStack() as stack:
        started = []
        for number in range(count):
            port = free_port()
            log = workdir / f"instance-{number}.log"
            process = stack.enter_context(
                goofs_process(["serve", "--port", str(port)], env, workdir, log=log)
            )
            started.append(Instance(f"http://127.0.0.1:{port}", process, log))
        for instance in started:
            try:
                wait_for_http(f"{instance.url}/healthz", instance.process)
            except AssertionError as error:
                raise AssertionError(f"{error}\n{instance.output()}") from None
        yield started


@dataclass
class StreamClient:
    """Reads `/api/v1/events/stream` from one server and keeps what it got, with arrival times.

    It does not reconnect: in these tests every event must arrive on the first connection.
    """

    url: str
    after: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    arrived: dict[int, float] = field(default_factory=dict)
    served_by: str | None = None
    instance: str | None = None
    """The `X-Goofs-Instance` of the process that served the stream."""
    ended: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]

    async def run(self) -> None:
        timeout = httpx.Timeout(5.0, read=None)
        try:
            async with (
                httpx.AsyncClient(timeout=timeout) as client,
                aconnect_sse(
                    client, "GET", f"{self.url}/api/v1/events/stream", params={"after": self.after}
                ) as source,
            ):
                source.response.raise_for_status()
                self.served_by = source.response.headers.get("x-upstream")
                self.instance = source.response.headers.get("x-goofs-instance")
                self.connected.set()
                async for message in source.aiter_sse():
                    if message.event == "reset":
                        self.ended = f"unexpected reset: {message.data}"
                        return
                    if message.id and message.data:
                        event = json.loads(message.data)
                        self.arrived.setdefault(event["seq"], time.monotonic())
                        self.events.append(event)
            self.ended = "the server ended the stream"
        except httpx.HTTPError as error:
            self.ended = f"stream failed: {error!r}"


@contextlib.asynccontextmanager
async def streaming(urls: Sequence[str], *, after: int = 0) -> Any:
    """One stream client per url, connected before the block runs, closed after it."""
    clients = [StreamClient(url, after) for url in urls]
    tasks = [asyncio.create_task(client.run()) for client in clients]
    try:
        async with asyncio.timeout(10):
            for client, task in zip(clients, tasks, strict=True):
                connected = asyncio.create_task(client.connected.wait())
                await asyncio.wait({connected, task}, return_when=asyncio.FIRST_COMPLETED)
                connected.cancel()
                assert client.connected.is_set(), f"{client.url}: {client.ended}"
        yield clients
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def cospar_id(number: int) -> str:
    """A distinct valid international designator for each number below 999 * 60."""
    return f"{1960 + number // 999}-{number % 999 + 1:03d}A"


async def mixed_changes(
    clients: Sequence[httpx.AsyncClient], crafts: int, *, first: int = 0, concurrency: int = 16
) -> set[str]:
    """Five changes per spacecraft (create, break, repair, rename, delete) for spacecraft
    `first` .. `first + crafts - 1`, spread over `clients`: step k of craft i goes to client
    (i + k) mod len(clients).

    Returns the `X-Upstream` values the responses carried (set by a load balancer, if any).
    """
    upstreams: set[str] = set()
    gate = asyncio.Semaphore(concurrency)

    async def check(response: httpx.Response, expected: int) -> httpx.Response:
        assert response.status_code == expected, (response.request.url, response.text)
        upstreams.add(response.headers.get("x-upstream", ""))
        return response

    async def lifecycle(number: int) -> None:
        def client(step: int) -> httpx.AsyncClient:
            return clients[(number + step) % len(clients)]

        async with gate:
            created = await check(
                await client(0).post(
                    "/api/v1/spacecraft",
                    json={"name": f"Goof {number}", "cospar_id": cospar_id(number)},
                ),
                201,
            )
            path = created.headers["location"]
            await check(await client(1).post(f"{path}/malfunction", json={}), 200)
            await check(await client(2).post(f"{path}/repair"), 200)
            await check(await client(3).patch(path, json={"name": f"Goof {number} II"}), 200)
            await check(await client(4).delete(path), 204)

    await asyncio.gather(*(lifecycle(number) for number in range(first, first + crafts)))
    upstreams.discard("")
    return upstreams
