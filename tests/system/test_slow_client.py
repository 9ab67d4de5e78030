"""A client that stops reading, over real TCP: the server cuts it off with its memory bounded,
and it resumes by Last-Event-ID with nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from httpx_sse import aconnect_sse

from tests.cluster import cospar_id
from tests.support import Running, running_app, test_settings, wait_until

QUEUE = 8
"""Frames a stream client may lag (GOOFS_STREAM_QUEUE_SIZE), small so the test is quick."""
RECEIVE_BUFFER = 4096
SEND_BUFFER = 4096


def complete_frames(raw: bytes) -> list[int]:
    """The seq of each whole event in a chunked SSE response cut off anywhere."""
    _, _, body = raw.partition(b"\r\n\r\n")
    data = b""
    while True:
        size_line, found, rest = body.partition(b"\r\n")
        if not found or not size_line:
            break
        size = int(size_line, 16)
        if size == 0 or len(rest) < size:
            break
        data += rest[:size]
        body = rest[size + 2 :]
    frames = data.split(b"\n\n")[:-1]  # the last piece is unfinished (or empty)
    seqs = []
    for frame in frames:
        if found := re.search(r"^id: (\d+)$", frame.decode(), re.MULTILINE):
            seqs.append(int(found.group(1)))
    return seqs


@contextlib.contextmanager
def stalled_client() -> Iterator[socket.socket]:
    """A raw TCP client with a small receive buffer, which the test reads from only at the end."""
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    client.setblocking(False)
    try:
        yield client
    finally:
        client.close()


async def read_to_the_end(client: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    async with asyncio.timeout(10):
        while chunk := await loop.sock_recv(client, 65536):
            received += chunk
    return received


def connection_of(goofs: Running, client: socket.socket) -> Any:
    """The server's protocol object for `client`'s connection (None once it is closed)."""
    address = client.getsockname()
    for connection in goofs.server.server_state.connections:
        if connection.transport.get_extra_info("peername") == address:
            return connection
    return None


async def change(goofs: Running, number: int) -> None:
    response = await goofs.client.post(
        "/api/v1/spacecraft",
        json={"name": f"Chatterbox {number}", "cospar_id": cospar_id(number)},
    )
    assert response.status_code == 201, response.text


async def largest_frame(goofs: Running) -> int:
    """An upper bound on the bytes of any event's frame so far."""
    page = await goofs.client.get("/api/v1/events", params={"limit": 500})
    return max(len(json.dumps(event)) for event in page.json()["items"]) + 100


@pytest.mark.timeout(60)
async def test_a_client_that_stops_reading_is_cut_off_with_bounded_memory_and_resumes(
    sqlite_url: str,
) -> None:
    settings = test_settings(sqlite_url, stream_queue_size=QUEUE, socket_send_buffer=SEND_BUFFER)
    loop = asyncio.get_running_loop()
    async with running_app(settings, listen=True) as goofs:
        hub = goofs.state.hub
        port = int(goofs.url.rpartition(":")[2])
        with stalled_client() as client:
            await loop.sock_connect(client, ("127.0.0.1", port))
            request = f"GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            await loop.sock_sendall(client, request.encode())
            await wait_until(lambda: len(hub.subscribers["json"]) == 1, message="subscription")
            [stalled] = hub.subscribers["json"]
            transport = connection_of(goofs, client).transport
            high_water = transport.get_write_buffer_limits()[1]

            # The client reads nothing from here on, while changes keep coming.
            most_queued = most_buffered = written = 0
            while stalled in hub.subscribers["json"]:
                assert written < 2000, "the server never cut the client off"
                written += 1
                await change(goofs, written)
                most_queued = max(most_queued, stalled.queued)
                most_buffered = max(most_buffered, transport.get_write_buffer_size())
            cut_at = written
            for _ in range(3):  # and after the cut, for the resume to meet live ones
                written += 1
                await change(goofs, written)

            raw = await read_to_the_end(client)
            await wait_until(
                lambda: connection_of(goofs, client) is None, message="the connection to close"
            )
        frame_bound = await largest_frame(goofs)
        first = complete_frames(raw)
        last_seen = first[-1] if first else 0
        resumed = await resume(goofs, last_seen, written)

    assert most_queued <= QUEUE, "no more frames queued for it than the bound"
    assert most_buffered <= high_water + QUEUE * frame_bound, (
        "the server's write buffer for it stopped at its high-water mark"
    )
    assert stalled.overflowed and stalled.closed
    assert not raw.endswith(b"0\r\n\r\n"), "cut off, not a stream that looks finished"
    assert len(first) > QUEUE, "the kernel's and the server's buffers took their share first"
    assert first == list(range(1, last_seen + 1))
    assert last_seen < cut_at, "the client really fell behind"
    assert resumed == list(range(last_seen + 1, written + 1)), "nothing lost, nothing twice"


async def resume(goofs: Running, last_event_id: int, until: int) -> list[int]:
    """The seqs a stream resumed after `last_event_id` delivers, up to seq `until`."""
    seqs: list[int] = []
    headers = {"Last-Event-ID": str(last_event_id)}
    async with (
        asyncio.timeout(10),
        aconnect_sse(goofs.client, "GET", "/api/v1/events/stream", headers=headers) as source,
    ):
        async for message in source.aiter_sse():
            if message.id and message.data:
                seqs.append(int(message.id))
                if seqs[-1] >= until:
                    break
    return seqs
