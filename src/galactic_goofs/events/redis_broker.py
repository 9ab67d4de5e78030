"""Redis pub/sub between instances.

Pub/sub delivers at most once: a message published while a subscriber is reconnecting is gone.
That is fine here because the hub treats the broker as a fast path only; it spots the gap by seq
(or on its next look at the log head) and reads the missing events from the log.

An instance's own events go straight to its own subscribers, as `MemoryBroker` hands them, and
their echo from Redis is dropped unread. To Redis they go from a queue, as many as have come in
one round trip (a pipeline), so a change never waits on Redis and costs a fraction of a publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

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
OUTBOX_LIMIT = 10_000
"""Events waiting for Redis beyond this are dropped (the other instances read them from the
log): a Redis that is down must not grow an instance's memory."""
ECHOES_KEPT = 10_000
"""Own events whose echo is awaited; one Redis never sent back is forgotten after this many."""
_SEQ_PREFIX = b'{"seq":'


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
        self._queues: set[asyncio.Queue[EventRead]] = set()
        self._outbox: list[tuple[int, str]] = []
        self._sending: asyncio.Task[None] | None = None
        self._dropped = 0
        self._echoes: dict[int, None] = {}
        """Seqs of own events sent to Redis while this instance listens: their echo is dropped."""

    async def publish(self, event: EventRead) -> None:
        """Hands the event to this instance's subscribers and queues it for Redis: a change
        never waits on Redis, and one that is down costs the other instances a look at the log."""
        for queue in self._queues:
            queue.put_nowait(event)
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._dropped += 1  # `_send` says so
            return
        self._outbox.append((event.seq, event.model_dump_json()))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send(), name="redis-publish")

    async def _send(self) -> None:
        """Sends the queue in seq order, one pipeline per round trip, until it is empty."""
        try:
            while self._outbox:
                batch, self._outbox = sorted(self._outbox), []
                if self._dropped:
                    log.warning("%d events were not sent to Redis: too many waited", self._dropped)
                    self._dropped = 0
                if self._queues:
                    self._expect_echoes(seq for seq, _ in batch)
                try:
                    async with asyncio.timeout(self._timeout):
                        async with self._redis.pipeline(transaction=False) as pipeline:
                            for _, data in batch:
                                pipeline.publish(self._channel, data)
                            await pipeline.execute()
                except (RedisError, OSError, TimeoutError) as error:
                    log.warning(
                        "publishing events %d..%d to Redis failed (%s); the other instances "
                        "will read them from the log",
                        batch[0][0],
                        batch[-1][0],
                        error or type(error).__name__,
                    )
        finally:
            self._sending = None

    def _expect_echoes(self, seqs: Iterable[int]) -> None:
        echoes = self._echoes
        for seq in seqs:
            echoes[seq] = None
        while len(echoes) > ECHOES_KEPT:
            del echoes[next(iter(echoes))]

    async def subscribe(self) -> AsyncIterator[EventRead]:
        queue: asyncio.Queue[EventRead] = asyncio.Queue()
        self._queues.add(queue)
        listening = asyncio.create_task(self._listen(queue), name="redis-subscribe")
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def _listen(self, queue: asyncio.Queue[EventRead]) -> None:
        """Other instances' events into `queue`, resubscribing after Redis went away."""
        backoff = FIRST_BACKOFF
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    if backoff > FIRST_BACKOFF:
                        log.info("resubscribed to Redis channel %s", self._channel)
                    backoff = FIRST_BACKOFF
                    async for message in pubsub.listen():
                        if message["type"] == "message" and not self._is_echo(message["data"]):
                            event = _decode(message["data"])
                            if event is not None:
                                queue.put_nowait(event)
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("Redis subscription lost (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _is_echo(self, data: bytes) -> bool:
        """An own event coming back, known by its seq (the first field) without decoding it."""
        if not self._echoes or not data.startswith(_SEQ_PREFIX):
            return False
        end = data.find(b",", len(_SEQ_PREFIX))
        try:
            seq = int(data[len(_SEQ_PREFIX) : end])
        except ValueError:
            return False
        if seq not in self._echoes:
            return False
        del self._echoes[seq]
        return True

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        if self._sending is not None:
            # What is queued goes first; past the timeout, the log has it for the others.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sending, self._timeout)
        await self._redis.aclose()


def _decode(data: bytes) -> EventRead | None:
    """A message that is not an event (another app, another version) must not stop the stream."""
    try:
        return EventRead.model_validate_json(data)
    except ValidationError as error:
        log.warning("ignoring a message on the events channel that is not an event: %s", error)
        return None
