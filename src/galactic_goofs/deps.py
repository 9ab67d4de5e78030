"""What a request can ask for, as `Annotated` aliases for route signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.auth.dependencies import Operator
from galactic_goofs.state import AppState, get_state

# Dependencies are `async def` even when they never await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request for nothing.


async def _state(request: Request) -> AppState:
    return get_state(request)


StateDep = Annotated[AppState, Depends(_state)]


async def _read_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.db.reading() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(_read_session)]


async def _actor(operator: Operator) -> str:
    """Who is acting: the signed-in operator, recorded as the event's `actor`.

    Depending on it is what makes a route a write route: anonymous callers get 401.
    """
    return operator.name


Actor = Annotated[str, Depends(_actor)]
