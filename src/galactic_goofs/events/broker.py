"""How events travel between instances once committed. Subscribers receive `EventRead`s.

The broker may lose or reorder messages (Redis pub/sub does, on a reconnect); the hub repairs
that from the event log, so a broker only has to be fast, not reliable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from galactic_goofs.events.schemas import EventRead


class Broker(Protocol):
    async def publish(self, event: EventRead) -> None: ...

    def subscribe(self) -> AsyncIterator[EventRead]:
        """Events published from now on, until the broker closes."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: publishing hands the event object straight to the local subscribers."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[EventRead | None]] = set()

    async def publish(self, event: EventRead) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[EventRead]:
        queue: asyncio.Queue[EventRead | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.discard(queue)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)


def create_broker(url: str, *, channel: str = "galactic_goofs:events") -> Broker:
    if url == "memory://":
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from galactic_goofs.events.redis_broker import RedisBroker

        return RedisBroker(url, channel)
    raise ValueError(f"unsupported GOOFS_BROKER_URL {url!r}: use memory:// or redis://host:port/db")
