from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.exceptions import RedisError

from galactic_goofs.events.schemas import EventRead

log = logging.getLogger(__name__)

CHANNEL = "galactic_goofs:events"


class RedisBroker:
    """Redis pub/sub between instances; what is lost while disconnected, the hub backfills."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._redis = redis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
        self._channel = channel

    async def publish(self, event: EventRead) -> None:
        await self._redis.publish(self._channel, event.model_dump_json())

    async def subscribe(self) -> AsyncIterator[EventRead]:
        backoff = 0.1
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    if backoff > 0.1:
                        log.info("reconnected to Redis")
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            yield EventRead.model_validate_json(message["data"])
            except (RedisError, OSError) as error:
                log.warning("Redis subscription lost (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
