"""The one way a change is made: its transaction, then its committed events on the broker.

Every route, view, job and command that changes something calls `WritePath.apply` with a
service function; nothing else publishes. A service function writes its state and appends its
events in one transaction (`Database.write`) and returns what it changed, `Recorded`.

What must happen *because of* an event (a webhook, a roll-up) does not hang off this call: it
is a durable consumer of the event log (`galactic_goofs.events.consumers`), which survives a
crash between the commit and here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from sqlalchemy.orm import Session

from galactic_goofs.db import Database
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.precompiled import StatementChange

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Recorded(Protocol):
    """What a change returns: the events it appended, in seq order."""

    @property
    def events(self) -> Sequence[EventRead]: ...


C = TypeVar("C", bound=Recorded | None)


class WritePath:
    def __init__(self, db: Database, broker: Broker) -> None:
        self.db = db
        self.broker = broker

    @overload
    async def apply(
        self, change: StatementChange[P, C], /, *args: P.args, **kwargs: P.kwargs
    ) -> C: ...

    @overload
    async def apply(
        self,
        change: Callable[Concatenate[Session, P], C],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> C: ...

    async def apply(self, change: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`change(session, *args, **kwargs)` in one transaction, then its events published.

        A change that returns None changed nothing (the simulator found nobody to break).
        """
        recorded = await self.db.write(change, *args, **kwargs)
        if recorded is not None:
            await self._publish(recorded.events)
        return recorded

    async def _publish(self, events: Sequence[EventRead]) -> None:
        """After commit. A failed publish loses nothing: every hub catches up from the log."""
        for event in events:
            try:
                await self.broker.publish(event)
            except Exception as error:
                log.warning("publishing event %d failed (%s); hubs will catch up", event.seq, error)
                return
