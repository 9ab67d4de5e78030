"""What a request can ask for. Everything hangs off the `AppState` that `create_app` built."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.auth.dependencies import Operator
from galactic_goofs.db import Database
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.hub import Hub
from galactic_goofs.fleet.service import Change
from galactic_goofs.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    db: Database
    broker: Broker
    hub: Hub
    rng: random.Random = field(default_factory=random.Random)

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


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.goofs
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def read_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.db.reading() as session:
        yield session


async def write_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.db.writing() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]
WriteSession = Annotated[AsyncSession, Depends(write_session)]


def current_actor(operator: Operator) -> str:
    """Who is acting: the signed-in operator, recorded as the event's `actor`.

    Depending on it is what makes a route a write route: anonymous callers get 401.
    """
    return operator.name


Actor = Annotated[str, Depends(current_actor)]
