"""The bench's stream reader against bodies cut the way a proxy cuts them.

nginx passes a stream on as it reads it from the instance, in chunks of its own: a chunk's
size line can fall anywhere in a frame, inside an `id:` line too. The reader must count every
event however the body is cut, or the bench reports events lost that every client received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bench.clients import Dechunker, Reader, Target, Worker
from galactic_goofs.events.sse import frame

FRAMES = b"".join(
    frame('{"spacecraft": "Hubble"}', event="spacecraft.malfunctioned", id=seq)
    for seq in range(514, 520)
)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(body: bytes, size: int) -> bytes:
    """`body` in chunks of `size` bytes, as a proxy re-chunks what it read."""
    parts = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)


def reads(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunk", [1, 7, 31, 64, 1000])
@pytest.mark.parametrize("read", [1, 5, 13, 4096])
def test_every_event_is_counted_wherever_chunks_and_reads_cut(chunk: int, read: int) -> None:
    async def main() -> list[int]:
        reader = Reader(Worker(Target("127.0.0.1", 1, "/s", "/r"), "127.0.0.1"), "stream", None)
        reader.data_received(HEAD)  # the head comes whole: the reader does not gather it
        for data in reads(chunked(FRAMES, chunk), read):
            reader.data_received(data)
        return list(reader.seqs)

    assert asyncio.run(main()) == list(range(514, 520))


def test_the_dechunker_returns_the_body_across_any_cut() -> None:
    body = b"id: 516\nevent: x\ndata: {}\n\n" * 3
    encoded = chunked(body, 5) + b"0\r\n\r\n"
    for size in (1, 2, 3, 10, len(encoded)):
        dechunker = Dechunker()
        out: list[Any] = [dechunker.feed(data) for data in reads(encoded, size)]
        assert b"".join(out) == body
