"""Redis pub/sub between instances.

Pub/sub delivers at most once: a message published while a subscriber is reconnecting is gone.
That is fine here because the hub treats the broker as a fast path only; it spots the gap by seq
(or on its next look at the log head) and reads the missing events from the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis
from pydantic import ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from galactic_goofs.events.schemas import EventRead

log = logging.getLogger(__name__)

CHANNEL = "galactic_goofs:events"
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class RedisBroker:
    """Publishes each event once to a channel that every instance's hub subscribes to."""

    def __init__(self, url: str, channel: str = CHANNEL, *, timeout: float = 1.0) -> None:
        # The health check pings an idle subscription, so a half-open connection (Redis host
        # gone without a FIN) is noticed within seconds rather than when TCP gives up. Two quick
        # retries get past a pooled connection that a Redis restart closed; more would only
        # make every request wait while Redis is down, and the log covers for a lost publish.
        self._redis = redis.from_url(
            url,
            socket_connect_timeout=timeout,
            health_check_interval=5,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        )
        self._channel = channel
        self._timeout = timeout

    async def publish(self, event: EventRead) -> None:
        # Called after commit while a request waits: a stalled Redis must not stall the API.
        async with asyncio.timeout(self._timeout):
            await self._redis.publish(self._channel, event.model_dump_json())

    async def subscribe(self) -> AsyncIterator[EventRead]:
        backoff = FIRST_BACKOFF
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    if backoff > FIRST_BACKOFF:
                        log.info("resubscribed to Redis channel %s", self._channel)
                    backoff = FIRST_BACKOFF
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            event = _decode(message["data"])
                            if event is not None:
                                yield event
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("Redis subscription lost (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def _decode(data: bytes) -> EventRead | None:
    """A message that is not an event (another app, another version) must not stop the stream."""
    try:
        return EventRead.model_validate_json(data)
    except ValidationError as error:
        log.warning("ignoring a message on the events channel that is not an event: %s", error)
        return None
