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

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from galactic_goofs import lease
from galactic_goofs.db import Base, Database, utcnow
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
        connection = session.connection()
        cursor = _locked_cursor(connection, self.consumer)
        if self.lease_ttl is not None and not lease.is_held(session, self.lease_name, self.holder):
            self.leading = False
            return 0
        rows = connection.execute(_EVENTS_AFTER, {"after": cursor, "limit": self.batch_size}).all()
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
        connection.execute(
            _MOVE_CURSOR,
            {"key": self.consumer.name, "last_seq": rows[-1].seq, "updated_at": utcnow()},
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


# A batch's statements, built once: a consumer runs one batch per handful of events.
_CURSORS = Base.metadata.tables[ConsumerCursor.__tablename__]
_EVENTS = Base.metadata.tables[Event.__tablename__]
_CURSOR = select(_CURSORS.c.last_seq).where(_CURSORS.c.name == bindparam("name")).with_for_update()
_HEAD = select(EventLogHead.last_seq).where(EventLogHead.id == 1)
_NEW_CURSOR = {
    "postgresql": postgresql.insert(_CURSORS).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_CURSORS).on_conflict_do_nothing(),
}
_EVENTS_AFTER = (
    select(*_EVENTS.c)
    .where(_EVENTS.c.seq > bindparam("after"))
    .order_by(_EVENTS.c.seq)
    .limit(bindparam("limit"))
)
_MOVE_CURSOR = (
    update(_CURSORS)
    .where(_CURSORS.c.name == bindparam("key"))
    .values(last_seq=bindparam("last_seq"), updated_at=bindparam("updated_at"))
)


def _locked_cursor(connection: Connection, consumer: Consumer) -> int:
    """The consumer's cursor, locked until this transaction ends; made if it is new."""
    cursor = connection.scalar(_CURSOR, {"name": consumer.name})
    if cursor is not None:
        return int(cursor)
    first = (connection.scalar(_HEAD) or 0) if consumer.start == "now" else 0
    connection.execute(
        _NEW_CURSOR[connection.dialect.name],
        {"name": consumer.name, "last_seq": first, "updated_at": utcnow()},
    )
    # Another instance may have made it meanwhile; either way it is there now, to lock.
    cursor = connection.scalar(_CURSOR, {"name": consumer.name})
    assert cursor is not None
    return int(cursor)
