"""Which database errors are an outage (503) and which are bugs (500)."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc

from galactic_goofs.outage import is_outage


class AdapterError(Exception):
    """Like SQLAlchemy's asyncpg adapter's `Error`, which wraps what asyncpg raised."""


def wrapped(driver_error: BaseException) -> exc.DBAPIError:
    try:
        try:
            raise driver_error
        except Exception as error:
            raise AdapterError(str(error)) from error
    except AdapterError as adapted:
        return exc.DBAPIError("SELECT 1", None, adapted)


def test_a_connection_closed_while_it_was_being_made_is_an_outage() -> None:
    closed = asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation")
    assert is_outage(wrapped(closed))
    assert is_outage(wrapped(ConnectionRefusedError()))


def test_a_constraint_the_code_broke_is_not_an_outage() -> None:
    assert not is_outage(exc.IntegrityError("INSERT", None, Exception("duplicate key")))
    assert not is_outage(wrapped(ValueError("not a connection problem")))
