"""Durable consumers: what must happen *because of* an event, and survive a crash.

A consumer has a name and a stored cursor (`consumer_cursors`). Its runner reads the event log
in seq order, in batches, and hands each batch to `Consumer.handle` inside a write transaction
that also moves the cursor past it: the effect and the cursor commit together or not at all,
so a process killed mid-batch leaves the cursor where it was and the next run handles that
batch once, from the start. (An effect outside the database, such as an HTTP call, cannot be
in the transaction: such a consumer writes down what to do, an outbox row, and something else
does it, idempotently.)

Seqs are gap-free and committed in order, so "everything after my cursor" never skips an
event. Runners on several instances may run the same consumer: the cursor row is locked for
the batch, so each event is handled once. A consumer that must run on one instance only
(it talks to the outside world) asks for a lease, as the fault simulator does.

The runner wakes when the hub fans out a new event, and looks at the log every catch-up
interval anyway. Adding one: write a class with `name`, `start` and `handle`, and list it in
`galactic_goofs.app.CONSUMERS`; `analytics.tallies` is an example.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from galactic_goofs import lease
from galactic_goofs.db import Database, utcnow
from galactic_goofs.events.models import ConsumerCursor, Event, EventLogHead
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.instance import instance_id

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.5
"""How long a woken runner waits for more events before it reads them. A batch is a write
transaction (about a millisecond of the server's core on SQLite); one per event made three
consumers cost a quarter of what the live stream itself costs at 20 changes/s (bench target 5).
Half the default catch-up interval keeps them a few batches a second behind the stream."""
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0)


class Consumer(Protocol):
    name: str
    """Unique among consumers, and stable: it names the stored cursor."""
    start: Literal["beginning", "now"]
    """Where a cursor that does not exist yet starts: the first retained event, or the head."""
    batch_size: int
    """Events per transaction. On SQLite a batch holds the event loop while it runs: keep its
    work to a few milliseconds."""

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        """Make this batch's effect in `session`'s transaction (events in seq order)."""


@dataclass
class ConsumerRunner:
    """Runs one consumer in this process until cancelled."""

    db: Database
    consumer: Consumer
    wake: asyncio.Event
    """Set by the hub whenever it fans out an event."""
    catch_up_interval: float = 1.0
    batch_size: int = 0
    """0: the consumer's own `batch_size`."""
    lease_ttl: float | None = None
    """None: run on every instance that has it. Otherwise only on the holder of a lease."""
    holder: str = field(default_factory=instance_id)
    leading: bool = False
    settle: float = SETTLE_SECONDS
    """Shorter for a consumer whose effect someone waits for (a notification)."""
    committed: Callable[[], None] | None = None
    """Called after each batch that committed, for whoever acts on the consumer's effect."""

    def __post_init__(self) -> None:
        self.batch_size = self.batch_size or self.consumer.batch_size

    @property
    def lease_name(self) -> str:
        return f"consumer:{self.consumer.name}"

    async def run(self) -> None:
        failures = 0
        renewed = 0.0
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    if self.lease_ttl is not None and loop.time() - renewed >= self.lease_ttl / 3:
                        await self._renew()
                        renewed = loop.time()
                    await self._drain()
                    failures = 0
                except Exception as error:
                    delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
                    failures += 1
                    log.warning(
                        "consumer %s failed (%s); retrying in %.1fs", self.name, error, delay
                    )
                    await asyncio.sleep(delay)
                    continue
                await self._sleep(loop)
        finally:
            if self.leading:
                await asyncio.shield(self._release())

    @property
    def name(self) -> str:
        return self.consumer.name

    async def _drain(self) -> None:
        """Batches until one comes back short; the loop's other work runs between them."""
        handled = self.batch_size
        while handled == self.batch_size:
            handled = await self.step()
            await asyncio.sleep(0)

    async def step(self) -> int:
        """Handle the next batch, if any (and if this instance may); returns its size."""
        if self.lease_ttl is not None and not self.leading:
            return 0
        handled = await self.db.write(self._handle_batch)
        if handled and self.committed is not None:
            self.committed()
        return handled

    def _handle_batch(self, session: Session) -> int:
        cursor = _locked_cursor(session, self.consumer)
        if self.lease_ttl is not None and not lease.is_held(session, self.lease_name, self.holder):
            self.leading = False
            return 0
        rows = session.scalars(
            select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(self.batch_size)
        ).all()
        if not rows:
            return 0
        if rows[0].seq != cursor + 1:
            log.warning(
                "consumer %s: events %d..%d were pruned before it handled them",
                self.name,
                cursor + 1,
                rows[0].seq - 1,
            )
        self.consumer.handle(session, [EventRead.model_validate(row) for row in rows])
        session.execute(
            update(ConsumerCursor)
            .where(ConsumerCursor.name == self.consumer.name)
            .values(last_seq=rows[-1].seq, updated_at=utcnow())
        )
        return len(rows)

    async def _sleep(self, loop: asyncio.AbstractEventLoop) -> None:
        timeout = self.catch_up_interval
        if self.lease_ttl is not None:
            timeout = min(timeout, self.lease_ttl / 3)
        # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
        # event is set, and the runner would outlive the app's shutdown.
        try:
            async with asyncio.timeout(timeout):
                await self.wake.wait()
        except TimeoutError:
            return
        self.wake.clear()
        await asyncio.sleep(self.settle)

    async def _renew(self) -> None:
        assert self.lease_ttl is not None
        leading = await self.db.write(lease.acquire, self.lease_name, self.holder, self.lease_ttl)
        if leading != self.leading:
            log.info(
                "consumer %s %s on %s",
                self.name,
                "leading" if leading else "standing by",
                self.holder,
            )
        self.leading = leading

    async def _release(self) -> None:
        try:
            await self.db.write(lease.release, self.lease_name, self.holder)
        except Exception as error:
            log.warning("could not release the lease of consumer %s: %s", self.name, error)


def _locked_cursor(session: Session, consumer: Consumer) -> int:
    """The consumer's cursor, locked until this transaction ends; made if it is new."""
    if consumer.start == "now":
        first = session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1)) or 0
    else:
        first = 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(ConsumerCursor)
        .values(name=consumer.name, last_seq=first, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[ConsumerCursor.name])
    )
    cursor = session.scalar(
        select(ConsumerCursor.last_seq)
        .where(ConsumerCursor.name == consumer.name)
        .with_for_update()
    )
    assert cursor is not None
    return cursor
