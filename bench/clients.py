"""Lean stream readers, many per worker process, so the harness costs far less than the server.

A reader is a bare asyncio protocol: each read is scanned once with a C regex for `id:` lines
and stamped with one clock reading; nothing is parsed per line in Python. `occurred_at` comes
from the event log afterwards (the same for every client), so latency is receipt minus that.

Modes: `stream` reads and reconnects with Last-Event-ID when dropped; `stalled` connects and never
reads (a client that went away without closing) until told to resume, then reads and reconnects
like `stream`; `refetch` is the old design, where every event makes the client download the whole
fleet list again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import resource
import socket
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

ID_LINE = re.compile(rb"\nid: (\d+)\n")
CHUNKED = re.compile(rb"(?i)\r\ntransfer-encoding:\s*chunked")
RECEIVE_BUFFER = 16 * 1024
CONNECTS_IN_FLIGHT = 64


@dataclass(slots=True)
class Target:
    host: str
    port: int
    stream_path: str
    refetch_path: str


class Dechunker:
    """The body of an HTTP/1.1 chunked response, from reads cut anywhere.

    Direct from the server each write is one chunk, so frames arrive whole inside chunks; a
    proxy (nginx) re-chunks the stream as it reads it, and a chunk's size line can then fall
    inside an `id:` line, which scanning the raw bytes would miss.
    """

    __slots__ = ("_left", "_pending")

    def __init__(self) -> None:
        self._left = 0
        """Bytes of the current chunk still to come."""
        self._pending = b""
        """The start of a size line (or of the CRLF after a chunk) cut by the read."""

    def feed(self, data: bytes) -> bytes:
        if self._pending:
            data = self._pending + data
            self._pending = b""
        if self._left >= len(data):
            self._left -= len(data)
            return data
        body = []
        at = 0
        while at < len(data):
            if self._left:
                taken = data[at : at + self._left]
                body.append(taken)
                at += len(taken)
                self._left -= len(taken)
                continue
            end = data.find(b"\r\n", at)
            if end < 0:
                self._pending = data[at:]
                break
            line = data[at:end]
            at = end + 2
            if line:  # not the CRLF that closes a chunk
                self._left = int(line.partition(b";")[0], 16)
        return b"".join(body)


class Reader(asyncio.Protocol):
    def __init__(self, worker: Worker, mode: str, cursor: int | None) -> None:
        self.worker = worker
        self.mode = mode
        self.cursor = cursor
        self.seqs: array[int] = array("q")
        self.times: array[float] = array("d")
        self.bytes = 0
        self.reconnects = 0
        self.dropped_at: list[float] = []
        """When the connection was lost (`time.time()`), and `resumed_at` when a reconnection's
        stream started again: how long a client of a dead instance was without a stream."""
        self.resumed_at: list[float] = []
        self.transport: asyncio.Transport | None = None
        self.started = asyncio.get_running_loop().create_future()
        self.closed = False
        self._carry = b""
        self._headers_done = False
        self._chunks: Dechunker | None = None
        self._refetch: Refetcher | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        last = f"Last-Event-ID: {self.cursor}\r\n" if self.cursor is not None else ""
        request = (
            f"GET {self.worker.target.stream_path} HTTP/1.1\r\nHost: bench\r\n"
            f"Accept: text/event-stream\r\n{last}\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.bytes += len(data)
        if not self._headers_done:
            head, found, data = data.partition(b"\r\n\r\n")
            if not found:
                return
            self._headers_done = True
            if not head.startswith(b"HTTP/1.1 200"):
                # Refused (the stream cap's 503, say): not a connected client; do not retry.
                self.closed = True
                if not self.started.done():
                    self.started.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                assert self.transport is not None
                self.transport.close()
                return
            if self.mode == "stalled":
                # Stop reading once the server has answered, that is, once it has subscribed
                # this client: every event from here on is owed to it.
                assert self.transport is not None
                self.transport.pause_reading()
            if not self.started.done():
                self.started.set_result(None)
            if len(self.resumed_at) < len(self.dropped_at):
                self.resumed_at.append(now)
            self._chunks = Dechunker() if CHUNKED.search(head) else None
            if self._chunks is not None:
                data = self._chunks.feed(data)
            data = b"\n" + data
        elif self._chunks is not None:
            data = self._chunks.feed(data)
        buffer = self._carry + data if self._carry else data
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._carry = buffer
            return
        self._carry = buffer[end:]
        found_ids = ID_LINE.findall(buffer, 0, end + 1)
        if not found_ids:
            return
        seqs = [int(seq) for seq in found_ids]
        self.cursor = seqs[-1]
        if self.mode == "refetch":
            assert self._refetch is not None
            self._refetch.request(seqs)
        else:
            self.seqs.extend(seqs)
            self.times.extend([now] * len(seqs))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.started.done():
            self.started.set_exception(ConnectionError("closed before the stream started"))
        if not self.closed and self.worker.running:
            self.reconnects += 1
            self.dropped_at.append(time.time())
            self._headers_done = False
            self._carry = b""
            self.worker.spawn(self.worker.connect(self))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Refetcher:
    """Downloads the fleet list after events, one request at a time over a kept-alive connection.

    An event seen while a download runs is only satisfied by the next download, which starts
    after it: that is when this client's screen could show it.
    """

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.pending: list[int] = []
        self.busy = False

    def request(self, seqs: list[int]) -> None:
        self.pending.extend(seqs)
        if not self.busy:
            self.busy = True
            self.reader.worker.spawn(self._run())

    async def _run(self) -> None:
        target = self.reader.worker.target
        reader, writer = await asyncio.open_connection(target.host, target.port)
        request = f"GET {target.refetch_path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
        try:
            while self.pending:
                waiting, self.pending = self.pending, []
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                body = await reader.readexactly(length)
                self.reader.bytes += len(head) + len(body)
                now = time.time()
                self.reader.seqs.extend(waiting)
                self.reader.times.extend([now] * len(waiting))
        finally:
            self.busy = False
            writer.close()


@dataclass
class Worker:
    target: Target
    source_ip: str
    readers: list[Reader] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    running: bool = True

    def spawn(self, job: Any) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def connect(self, reader: Reader) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Small buffers make a stalled client look stalled to the server within seconds.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setblocking(False)
        try:
            sock.bind((self.source_ip, 0))
            await loop.sock_connect(sock, (self.target.host, self.target.port))
            await loop.create_connection(lambda: reader, sock=sock)
        except OSError:
            sock.close()
            if not reader.started.done():
                reader.started.set_exception(ConnectionError("could not connect"))

    async def open(self, count: int, mode: str, within: float) -> dict[str, Any]:
        fresh = [Reader(self, mode, None) for _ in range(count)]
        if mode == "refetch":
            for reader in fresh:
                reader._refetch = Refetcher(reader)
        gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

        async def start(reader: Reader) -> bool:
            async with gate:
                await self.connect(reader)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(reader.started), within)
            return reader.started.done() and reader.started.exception() is None

        async with asyncio.timeout(within * 2 + 5):
            results = await asyncio.gather(*(start(reader) for reader in fresh))
        self.readers.extend(fresh)
        return {"opened": sum(results), "failed": len(results) - sum(results)}

    def mark(self) -> None:
        for reader in self.readers:
            reader.bytes = 0
            reader.reconnects = 0
            reader.dropped_at.clear()
            reader.resumed_at.clear()

    async def wait_for(self, last: int, within: float) -> int:
        """Until every reading client has seen `last` (or the timeout); returns how many have."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        live = [reader for reader in self.readers if reader.mode != "stalled"]
        while loop.time() < deadline:
            if all(reader.seqs and reader.seqs[-1] >= last for reader in live):
                break
            await asyncio.sleep(0.05)
        return sum(1 for reader in live if reader.seqs and reader.seqs[-1] >= last)

    async def resume_stalled(self, last: int, within: float) -> dict[str, int]:
        """Stalled clients start reading: what is buffered, then (if the server dropped them)
        the rest by reconnecting with Last-Event-ID. Waits until they have seen `last`."""
        stalled = [reader for reader in self.readers if reader.mode == "stalled"]
        for reader in stalled:
            reader.mode = "resumed"
            if reader.transport is not None and not reader.transport.is_closing():
                reader.transport.resume_reading()
            else:
                self.spawn(self.connect(reader))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if all(reader.seqs and reader.seqs[-1] >= last for reader in stalled):
                break
            await asyncio.sleep(0.05)
        return {
            "dropped": sum(1 for reader in stalled if reader.reconnects),
            "caught_up": sum(1 for reader in stalled if reader.seqs and reader.seqs[-1] >= last),
        }

    def results(self, first: int, occurred: np.ndarray[Any, Any]) -> dict[str, Any]:
        """Per-client delivery checks over the seqs (first, first + len(occurred)]."""
        expected = len(occurred)
        lost = duplicated = out_of_order = clients_with_loss = 0
        latencies: list[np.ndarray[Any, Any]] = []
        offsets: list[np.ndarray[Any, Any]] = []
        gaps: list[tuple[float, float]] = []
        received = bytes_total = reconnects = clients = 0
        resumed_lost = resumed_duplicated = 0
        missing: Counter[int] = Counter()
        """Which seqs the clients that lost something did not get, and how many of them."""
        wanted = np.arange(first + 1, first + expected + 1, dtype=np.int64)
        for reader in self.readers:
            seqs = np.frombuffer(reader.seqs, dtype=np.int64)
            times = np.frombuffer(reader.times, dtype=np.float64)
            window = (seqs > first) & (seqs <= first + expected)
            seqs, times = seqs[window], times[window]
            unique = np.unique(seqs)
            client_lost = expected - len(unique)
            if reader.mode != "stream" and reader.mode != "refetch":
                # A stalled client's receipt times say nothing about delivery; only what it got.
                resumed_lost += client_lost
                resumed_duplicated += len(seqs) - len(unique)
                continue
            clients += 1
            lost += client_lost
            clients_with_loss += client_lost > 0
            if client_lost:
                missing.update(int(seq) for seq in np.setdiff1d(wanted, unique))
            duplicated += len(seqs) - len(unique)
            out_of_order += int(np.count_nonzero(np.diff(seqs) < 0))
            received += len(seqs)
            bytes_total += reader.bytes
            reconnects += reader.reconnects
            for index, dropped in enumerate(reader.dropped_at):
                resumed = reader.resumed_at[index] if index < len(reader.resumed_at) else np.nan
                gaps.append((dropped, resumed))
            if len(seqs):
                latencies.append((times - occurred[seqs - first - 1]).astype(np.float32))
                offsets.append((seqs - first - 1).astype(np.int32))
        return {
            "clients": clients,
            "lost": lost,
            "missing": dict(missing.most_common(20)),
            "duplicated": duplicated,
            "out_of_order": out_of_order,
            "clients_with_loss": clients_with_loss,
            "received": received,
            "bytes": bytes_total,
            "reconnects": reconnects,
            "latencies": np.concatenate(latencies).tobytes() if latencies else b"",
            "offsets": np.concatenate(offsets).tobytes() if offsets else b"",
            "gaps": gaps,
            "resumed_lost": resumed_lost,
            "resumed_duplicated": resumed_duplicated,
        }

    async def close(self) -> None:
        self.running = False
        for reader in self.readers:
            reader.close()
        self.readers.clear()
        for task in list(self.tasks):
            task.cancel()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(conn: Connection, source_ip: str) -> None:
    """Obey the harness: one command at a time over the pipe, connections live in between."""
    loop = asyncio.get_running_loop()
    worker: Worker | None = None
    ready = asyncio.Event()
    loop.add_reader(conn.fileno(), ready.set)
    # uvloop made the pipe non-blocking; a reply of several MB must not fail half-written.
    os.set_blocking(conn.fileno(), True)
    while True:
        await ready.wait()
        ready.clear()
        while conn.poll():
            command, args = conn.recv()
            if command == "open":
                target, count, mode, within = args
                worker = worker or Worker(target, source_ip)
                reply: Any = await worker.open(count, mode, within)
            elif command == "mark":
                if worker is not None:
                    worker.mark()
                reply = cpu_seconds()
            elif worker is None:
                reply = None
            elif command == "wait":
                reply = await worker.wait_for(*args)
            elif command == "resume_stalled":
                reply = await worker.resume_stalled(*args)
            elif command == "results":
                first, occurred = args
                reply = worker.results(first, np.frombuffer(occurred, dtype=np.float64))
                reply["cpu"] = cpu_seconds()
            else:  # close, exit
                await worker.close()
                worker = None
                reply = None
            conn.send(reply)
            if command == "exit":
                loop.remove_reader(conn.fileno())
                return


def run(conn: Connection, source_ip: str, cores: set[int]) -> None:
    """Worker process entry point."""
    from bench.servers import claim

    claim(cores)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # Readers allocate per read and keep little; the collector would only add jitter.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    import uvloop

    uvloop.run(serve(conn, source_ip))
