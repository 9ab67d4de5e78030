"""Fan-out: one hub per instance turns each event into bytes once and hands them to subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from galactic_goofs.db import Database
from galactic_goofs.events import service
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.pacing import RoundPacer
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.events.sse import HEARTBEAT, frame

log = logging.getLogger(__name__)

Encoder = Callable[[EventRead], Awaitable[bytes]]
BACKFILL_BATCH = 500


async def encode_json(event: EventRead) -> bytes:
    return frame(event.model_dump_json(), event=event.type, id=event.seq)


class Subscriber:
    """One stream client: a bounded buffer of shared frames, and its writer's wake-up.

    The writer sleeps on a bare future, not an `asyncio.Event`: with thousands of clients per
    event, waking them is the hot path. A subscriber asks the hub's pacer for a wake-up only
    when its buffer goes from empty to non-empty (`galactic_goofs.events.pacing`).
    """

    __slots__ = (
        "_buffer",
        "_flushed",
        "_hub",
        "_loop",
        "_pacer",
        "_waiter",
        "active",
        "closed",
        "cursor",
        "format",
        "limit",
        "overflowed",
        "round",
        "writer",
        "writing",
    )

    def __init__(
        self, hub: Hub, loop: asyncio.AbstractEventLoop, format: str, cursor: int, limit: int
    ) -> None:
        self._hub = hub
        self._pacer = hub.pacer
        self._loop = loop
        """Held, not looked up per wait: `asyncio.get_running_loop()` is a system call (getpid)."""
        self._buffer: list[bytes] = []
        self._flushed = False
        self._waiter: asyncio.Future[None] | None = None
        self.round = 0
        self.active = False
        """Was given a frame since the last heartbeat tick (so it needs no heartbeat)."""
        self.closed = False
        self.format = format
        self.cursor = cursor
        self.limit = limit
        self.overflowed = False
        self.writer: asyncio.Task[object] | None = None
        self.writing = False
        """True while the writer is blocked sending to a client that may have stopped reading."""

    def push(self, seq: int, data: bytes) -> None:
        if seq <= self.cursor:
            return
        buffer = self._buffer
        if len(buffer) >= self.limit:
            self.overflowed = True
            self.close()
            return
        buffer.append(data)
        self.active = True
        if len(buffer) == 1:
            self._pacer.request_wake(self)

    def push_heartbeat(self) -> None:
        if self.active:
            self.active = False
        elif not self._buffer:
            self._buffer.append(HEARTBEAT)
            self.wake()

    @property
    def queued(self) -> int:
        """Frames handed over and not yet written: never more than `limit`."""
        return len(self._buffer)

    @property
    def waiting(self) -> bool:
        """Its writer is asleep until the hub hands over frames."""
        return self._waiter is not None

    async def wait(self) -> None:
        """Until the hub has handed over frames to send, or the subscriber is closed."""
        if self.closed or (self._flushed and self._buffer):
            return
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        self._flushed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self) -> bytes:
        """Everything buffered, as one write (frames that arrived together go out together)."""
        data = b"".join(self._buffer)
        self._buffer.clear()
        self._flushed = False
        self._pacer.written(self)
        return data

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._hub.subscribers[self.format].discard(self)
        self._pacer.written(self)
        self._buffer.clear()
        self.wake()
        if self.writing and self.writer is not None and self.writer is not asyncio.current_task():
            self.writer.cancel()


@dataclass(slots=True)
class _Recent:
    event: EventRead
    frames: dict[str, bytes] = field(default_factory=dict)


class Hub:
    """Receives events from the broker, repairs gaps from the log, fans frames out.

    `last_seq` only ever moves by one, and anything at or below it is a duplicate. An event
    whose predecessors have not arrived waits `reorder_wait` for them: changes made side by side
    are published in the order they finish, not the order of their seqs, so the one before is
    usually a moment behind. What is still missing then is read from the log.
    """

    def __init__(
        self,
        db: Database,
        broker: Broker,
        *,
        queue_size: int = 1024,
        heartbeat_interval: float = 15.0,
        catch_up_interval: float = 1.0,
        recent: int = 2048,
        coalesce_window: float = 0.002,
        reorder_wait: float = 0.05,
    ) -> None:
        self.db = db
        self.broker = broker
        self.queue_size = queue_size
        self.heartbeat_interval = heartbeat_interval
        self.catch_up_interval = catch_up_interval
        self.encoders: dict[str, Encoder] = {"json": encode_json}
        self.subscribers: dict[str, set[Subscriber]] = {"json": set()}
        self.last_seq = 0
        self.reorder_wait = reorder_wait
        self._early: dict[int, EventRead] = {}
        """Events that arrived before one they follow, by seq."""
        self._gap_timer: asyncio.TimerHandle | None = None
        self._gap_fill: asyncio.Task[None] | None = None
        self._recent: deque[_Recent] = deque(maxlen=recent)
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._apart: dict[str, asyncio.Queue[_Recent]] = {}
        """Formats other than JSON, each encoded by a task of its own, in seq order: the
        console's HTML (a summary query and templates) must not hold up the JSON clients."""
        self.pacer = RoundPacer(coalesce_window)
        self._watchers: list[asyncio.Event] = []
        self.lag_observer: Callable[[float], None] | None = None
        """Told each event's seconds from commit to fan-out (a metric: O(1), no I/O)."""

    def watch(self) -> asyncio.Event:
        """An event the hub sets whenever it fans out a new event (durable consumers wait on
        it, then read the log themselves)."""
        watcher = asyncio.Event()
        self._watchers.append(watcher)
        return watcher

    def add_format(self, name: str, encoder: Encoder) -> None:
        """Another stream format, encoded apart from the fan-out (see `_encode_apart`)."""
        self.encoders[name] = encoder
        self.subscribers[name] = set()
        self._apart[name] = asyncio.Queue()
        if self._running:
            self._start_apart(name)

    def _start_apart(self, name: str) -> None:
        task = asyncio.create_task(self._encode_apart(name), name=f"hub-encode-{name}")
        self._tasks.append(task)

    async def start(self) -> None:
        async with self.db.reading() as session:
            self.last_seq = await service.last_seq(session)
        self._tasks = [
            asyncio.create_task(self._consume(), name="hub-consume"),
            asyncio.create_task(self._catch_up_periodically(), name="hub-catch-up"),
            asyncio.create_task(self._heartbeat_periodically(), name="hub-heartbeat"),
        ]
        self._running = True
        for name in self._apart:
            self._start_apart(name)

    async def stop(self) -> None:
        self._running = False
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        if self._gap_fill is not None:
            self._tasks.append(self._gap_fill)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscribers in self.subscribers.values():
            for subscriber in list(subscribers):
                subscriber.close()

    def subscribe(self, format: str, after: int | None) -> tuple[Subscriber, int]:
        """Register a subscriber; returns it and the seq up to which the caller must replay.

        Everything after that seq reaches the subscriber live, so replaying `(after, upto]`
        and then draining the subscriber leaves no gap and no duplicate.
        """
        upto = self.last_seq
        cursor = upto if after is None else max(after, upto)
        subscriber = Subscriber(self, asyncio.get_running_loop(), format, cursor, self.queue_size)
        self.subscribers[format].add(subscriber)
        return subscriber, upto

    async def replay(self, format: str, after: int, upto: int) -> AsyncIterator[bytes]:
        """Frames for seq in (after, upto], from memory when recent, else from the log."""
        encode = self.encoders[format]
        if self._recent and self._recent[0].event.seq <= after + 1:
            for entry in list(self._recent):
                if after < entry.event.seq <= upto:
                    yield await self._frame(entry, format)
            return
        while after < upto:
            async with self.db.reading() as session:
                batch = await service.read_after(session, after, BACKFILL_BATCH, upto=upto)
            if not batch:
                return
            for event in batch:
                yield await encode(event)
            after = batch[-1].seq

    async def deliver(self, event: EventRead) -> None:
        """Take one event from any source; duplicates are dropped, an early event waits for
        those before it (see the class), and a gap that stays is backfilled from the log."""
        if event.seq <= self.last_seq:
            return
        async with self._lock:
            if event.seq > self.last_seq + 1:
                self._early[event.seq] = event
                if self.reorder_wait <= 0:
                    await self._fill_gaps()
                elif self._gap_timer is None:
                    self._watch_gap()
            elif event.seq == self.last_seq + 1:
                await self._fan_out(event)
                if self._early:
                    await self._fan_out_early()
                    self._watch_gap()

    async def catch_up(self) -> None:
        """Pick up committed events that the broker never brought (lost message, dead publisher)."""
        async with self.db.reading() as session:
            head = await service.last_seq(session)
        if head > self.last_seq:
            async with self._lock:
                await self._backfill(head)
                await self._fan_out_early()
                self._watch_gap()

    def _watch_gap(self) -> None:
        """The first early event's wait starts again: it is new, or the one before it came."""
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        if self._early and self._running:
            self._gap_timer = asyncio.get_running_loop().call_later(
                self.reorder_wait, self._gap_overdue
            )

    def _gap_overdue(self) -> None:
        self._gap_timer = None
        if self._gap_fill is None or self._gap_fill.done():  # else it looks again when done
            self._gap_fill = asyncio.create_task(self._fill_overdue_gap(), name="hub-gap")

    async def _fill_overdue_gap(self) -> None:
        try:
            async with self._lock:
                await self._fill_gaps()
                self._watch_gap()  # the log did not have it yet: look again in a moment
        except Exception as error:
            log.warning("could not read a gap in the events (%s); the catch-up loop will", error)

    async def _fill_gaps(self) -> None:
        """What the early events still wait for, from the log (under the lock)."""
        if self._early:
            await self._backfill(min(self._early) - 1)
            await self._fan_out_early()

    async def _fan_out_early(self) -> None:
        """The early events that are next now, in order (under the lock)."""
        early = self._early
        while early:
            event = early.pop(self.last_seq + 1, None)
            if event is not None:
                await self._fan_out(event)
            elif min(early) <= self.last_seq:
                for seq in [seq for seq in early if seq <= self.last_seq]:
                    del early[seq]  # the log brought it first
            else:
                return

    async def _backfill(self, upto: int) -> None:
        while self.last_seq < upto:
            async with self.db.reading() as session:
                batch = await service.read_after(session, self.last_seq, BACKFILL_BATCH, upto=upto)
            if not batch:
                # The log was pruned past us, or the seq is not visible yet: never skip silently.
                log.warning("events %d..%d not in the log yet", self.last_seq + 1, upto)
                return
            for event in batch:
                await self._fan_out(event)

    async def _fan_out(self, event: EventRead) -> None:
        entry = _Recent(event)
        self._recent.append(entry)
        self.last_seq = event.seq
        if self.lag_observer is not None:
            self.lag_observer(time.time() - event.occurred_at.timestamp())
        for watcher in self._watchers:
            watcher.set()
        for format, subscribers in self.subscribers.items():
            if not subscribers:
                continue
            if format in self._apart:
                self._apart[format].put_nowait(entry)
                continue
            data = await self._frame(entry, format)
            for subscriber in list(subscribers):
                subscriber.push(event.seq, data)

    async def _encode_apart(self, format: str) -> None:
        """Encodes a format's events in seq order and hands the frames over. It may run behind
        the fan-out: a subscriber that joins meanwhile replays up to `last_seq`, and its cursor
        drops what this hands over late. An event it cannot encode closes its subscribers, who
        reconnect and replay it from the log, rather than miss it."""
        queue = self._apart[format]
        while True:
            entry = await queue.get()
            subscribers = self.subscribers[format]
            if not subscribers:
                continue
            try:
                data = await self._frame(entry, format)
            except Exception:
                log.exception("could not encode event %d as %s", entry.event.seq, format)
                for subscriber in list(subscribers):
                    subscriber.close()
                continue
            for subscriber in list(subscribers):
                subscriber.push(entry.event.seq, data)

    async def _frame(self, entry: _Recent, format: str) -> bytes:
        data = entry.frames.get(format)
        if data is None:
            data = entry.frames[format] = await self.encoders[format](entry.event)
        return data

    async def _consume(self) -> None:
        async for event in self.broker.subscribe():
            try:
                await self.deliver(event)
            except Exception:
                log.exception("could not deliver event %d; the catch-up loop will retry", event.seq)

    async def _catch_up_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.catch_up_interval)
            try:
                await self.catch_up()
            except Exception as error:
                log.warning("event log catch-up failed: %s", error)

    async def _heartbeat_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            for subscribers in self.subscribers.values():
                for subscriber in subscribers:
                    subscriber.push_heartbeat()
