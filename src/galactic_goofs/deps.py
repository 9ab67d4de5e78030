"""What a request can ask for. Everything hangs off the `AppState` that `create_app` built."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.auth.dependencies import Operator
from galactic_goofs.auth.service import Identity
from galactic_goofs.db import Database
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.hub import Hub
from galactic_goofs.fleet.service import Change
from galactic_goofs.settings import Settings

log = logging.getLogger(__name__)

TOKEN_CACHE_SECONDS = 30.0


@dataclass
class AppState:
    settings: Settings
    db: Database
    broker: Broker
    hub: Hub
    rng: random.Random = field(default_factory=random.Random)
    known_tokens: TTLCache[str, Identity] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=TOKEN_CACHE_SECONDS)
    )
    """API tokens recently found valid, by digest: a write need not read the database for its
    token first. A token deleted from the database keeps working here for at most that long."""

    async def publish(self, change: Change | None) -> None:
        """After commit. A failed publish loses nothing: every hub catches up from the log."""
        if change is None:
            return
        try:
            await self.broker.publish(change.event)
        except Exception as error:
            log.warning(
                "publishing event %d failed (%s); hubs will catch up", change.event.seq, error
            )


# Dependencies are `async def` even when they never await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request for nothing.


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.goofs
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def read_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.db.reading() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]


async def current_actor(operator: Operator) -> str:
    """Who is acting: the signed-in operator, recorded as the event's `actor`.

    Depending on it is what makes a route a write route: anonymous callers get 401.
    """
    return operator.name


Actor = Annotated[str, Depends(current_actor)]
