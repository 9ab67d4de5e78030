"""A database that cannot be reached is an outage, not a bug: answer 503 until it is back.

Nothing here retries or reconnects: the pool drops dead connections (pre-ping on PostgreSQL)
and the next request after the database returns simply succeeds.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
# What an unreachable database raises, wrapped by SQLAlchemy or straight from the driver
# (asyncpg's connect raises OSError when refused and TimeoutError when nobody answers).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DBAPIError,
    exc.TimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def is_outage(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and not isinstance(
        error, exc.OperationalError | exc.InterfaceError
    ):
        # IntegrityError, DataError and friends are our bugs; a dropped connection is not.
        return error.connection_invalidated or _driver_lost_connection(error.orig)
    return isinstance(error, CONNECTION_ERRORS)


def _driver_lost_connection(orig: BaseException | None) -> bool:
    """The driver's error, or what caused it: SQLAlchemy's asyncpg adapter raises its own
    `Error` for a connection that closed while it was being made, caused by asyncpg's."""
    while orig is not None:
        if isinstance(orig, OSError | TimeoutError) or type(orig).__name__ in {
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
            "CannotConnectNowError",
            "InterfaceError",
        }:
            return True
        orig = orig.__cause__
    return False


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    if not is_outage(error):
        raise error
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, error)
    return JSONResponse(
        {"detail": "the database is unavailable right now; retry in a few seconds"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
