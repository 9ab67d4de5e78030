"""A small HTTP/1.1 client over kept-alive asyncio streams, and the open-loop change driver.

httpx costs a few hundred microseconds of CPU per request; this costs a few tens, so driving
hundreds of changes a second leaves the harness core free for the stream readers.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Pool:
    """Kept-alive connections to one server; a request waits for a free one."""

    def __init__(self, host: str, port: int, size: int, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.size = size
        self._authorization = f"Authorization: Bearer {token}\r\n" if token else ""
        self._free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._opened = 0

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(payload)}\r\n"
        head += self._authorization
        if payload:
            head += "Content-Type: application/json\r\n"
        message = head.encode() + b"\r\n" + payload
        reused = False
        if self._free.empty() and self._opened < self.size:
            connection = await self._connect()
        else:
            connection, reused = await self._free.get(), True
        try:
            response = await _exchange(connection, message)
        except (OSError, asyncio.IncompleteReadError):
            connection[1].close()
            if not reused:
                self._opened -= 1
                raise
            # The server closes connections that sat idle; one fresh attempt is honest.
            connection = await asyncio.open_connection(self.host, self.port)
            try:
                response = await _exchange(connection, message)
            except BaseException:
                self._opened -= 1
                connection[1].close()
                raise
        except BaseException:
            self._opened -= 1
            connection[1].close()
            raise
        self._free.put_nowait(connection)
        return response

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self._opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            self._opened -= 1
            raise

    async def close(self) -> None:
        while not self._free.empty():
            _, writer = self._free.get_nowait()
            writer.close()
        self._opened = 0


@dataclass
class DriveResult:
    requested: int
    succeeded: int
    failed: int
    seconds: float
    latencies: np.ndarray[Any, Any] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


async def drive(
    pool: Pool, plan: list[tuple[str, str]], rate: float, *, max_seconds: float
) -> DriveResult:
    """Send `plan` open-loop at `rate`/s; latency counts from when each request was due."""
    loop = asyncio.get_running_loop()
    latencies = np.full(len(plan), np.nan)
    failed = 0
    started = loop.time()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, method: str, path: str, due: float) -> None:
        nonlocal failed
        try:
            response = await pool.request(method, path)
        except (OSError, asyncio.IncompleteReadError):
            failed += 1
            return
        if response.status >= 400:
            failed += 1
            return
        latencies[index] = loop.time() - due

    for index, (method, path) in enumerate(plan):
        due = started + index / rate
        if due > started + max_seconds:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, method, path, due)))
    # A server that fell behind gets a bounded grace period; what is still open then is failed.
    _, late = await asyncio.wait(tasks, timeout=30) if tasks else (set(), set())
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    done = latencies[~np.isnan(latencies)]
    return DriveResult(len(tasks), len(done), failed + len(late), loop.time() - started, done)


async def hammer(
    pool: Pool, plan: list[tuple[str, str]], concurrency: int, *, max_seconds: float
) -> DriveResult:
    """Closed loop: `concurrency` requests always in flight, for throughput."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failed = 0
    started = loop.time()
    next_index = 0

    async def lane() -> None:
        nonlocal next_index, failed
        while next_index < len(plan) and loop.time() - started < max_seconds:
            method, path = plan[next_index]
            next_index += 1
            sent = loop.time()
            response = await pool.request(method, path)
            if response.status >= 400:
                failed += 1
            else:
                latencies.append(loop.time() - sent)

    async with asyncio.timeout(max_seconds + 30):
        await asyncio.gather(*(lane() for _ in range(concurrency)))
    seconds = loop.time() - started
    return DriveResult(next_index, len(latencies), failed, seconds, np.array(latencies))


def now() -> float:
    return time.time()


async def _exchange(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], message: bytes
) -> Response:
    reader, writer = connection
    writer.write(message)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return Response(int(head[9:12]), await reader.readexactly(length) if length else b"")
