"""A fast webhook receiver on loopback, in a process of its own on the harness cores.

A bare asyncio protocol speaking just enough HTTP/1.1 (kept-alive connections, Content-Length
bodies): each POST to `/hook/N` is answered 204 at once and noted as (endpoint N, event seq,
time of receipt). It does not check signatures (the tests' receiver does, with the
`standardwebhooks` package); here it must cost the machine as little as it can, so the
numbers are the server's.

The parent drives it through a pipe: `start()` returns its port, `results()` what arrived.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

ANSWER = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
PATH_PREFIX = "/hook/"


@dataclass
class Arrivals:
    endpoints: array[int]
    seqs: array[int]
    """The event's seq; -1 for what carries none (a test ping)."""
    times: array[float]
    """`time.time()` when the whole request had arrived (and the 204 went back)."""


class _Connection(asyncio.Protocol):
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        assert self.transport is not None
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            request_line = head.split("\r\n", 1)[0].split(" ")
            if len(request_line) < 2 or not request_line[1].startswith(PATH_PREFIX):
                self.transport.write(BAD)
                self.transport.close()
                return
            self.transport.write(ANSWER)
            self._note(int(request_line[1][len(PATH_PREFIX) :]), body, now)

    def _note(self, endpoint: int, body: bytes, at: float) -> None:
        try:
            seq = int(json.loads(body)["data"]["seq"])
        except (ValueError, KeyError, TypeError):
            seq = -1
        self.arrivals.endpoints.append(endpoint)
        self.arrivals.seqs.append(seq)
        self.arrivals.times.append(at)


async def _serve(pipe: Connection, cores: set[int]) -> None:
    os.sched_setaffinity(0, cores)
    arrivals = Arrivals(array("q"), array("q"), array("d"))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(arrivals), "127.0.0.1", 0, backlog=512)
    pipe.send(server.sockets[0].getsockname()[1])
    while True:
        command = await asyncio.to_thread(pipe.recv)
        if command == "results":
            pipe.send(
                (arrivals.endpoints.tobytes(), arrivals.seqs.tobytes(), arrivals.times.tobytes())
            )
        elif command == "clear":
            arrivals.endpoints, arrivals.seqs, arrivals.times = array("q"), array("q"), array("d")
            pipe.send(True)
        else:
            server.close()
            return


def _run(pipe: Connection, cores: set[int]) -> None:
    asyncio.run(_serve(pipe, cores))


class Receiver:
    """The receiver process; `url(n)` is where endpoint n posts."""

    def __init__(self, cores: set[int]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process: Any = context.Process(target=_run, args=(child, cores), daemon=True)
        self._process.start()
        self.port: int = self._pipe.recv()

    def url(self, endpoint: int) -> str:
        return f"http://127.0.0.1:{self.port}{PATH_PREFIX}{endpoint}"

    async def results(self) -> Arrivals:
        self._pipe.send("results")
        endpoints, seqs, times = await asyncio.to_thread(self._pipe.recv)
        return Arrivals(array("q", endpoints), array("q", seqs), array("d", times))

    async def clear(self) -> None:
        self._pipe.send("clear")
        await asyncio.to_thread(self._pipe.recv)

    def close(self) -> None:
        self._pipe.send("exit")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
