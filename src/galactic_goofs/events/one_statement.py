"""A hot change on PostgreSQL in one statement: its reads first, then its writes, its seq and its
event together.

Made in a transaction, a malfunction is seven round trips (BEGIN, the seq, the spacecraft's row,
its update, the anomaly, the event, COMMIT), each costing the app an encoding and a wake-up of
the event loop, and the event log's head stays locked across five of them, so concurrent changes
queue behind one another's round trips. Made here, it is two:

1. its reads run at once, outside any transaction, locking nothing;
2. its rules decide on what they read: the very function `Database.write` runs in a
   transaction, given this `Writer` instead;
3. its writes wait, and its event, the last thing a change does, sends them in one statement:
   the head's claim of the next seq, each UPDATE only where its row still holds what the change
   read (`expected`), the INSERTs, and the event with the claimed seq.

PostgreSQL runs one statement as one transaction. Every UPDATE here asks in its WHERE for the
claim, which PostgreSQL evaluates before it touches the row, so the head is locked first, as
every other change locks it; and at READ COMMITTED an UPDATE that had to wait checks its WHERE
again on the row as now committed. When a row has changed since it was read, its UPDATE writes
nothing, and the statement's answer, the seq divided by the rows each UPDATE wrote, divides by
zero: the error rolls back the claim with everything else (no gap in the seq), and the change is
made again in a transaction. So it is when the rules refuse (they may have read a row just
before a change that commits now: the refusal is confirmed under the lock) and when a change
does what this cannot (reads a row that it does not rewrite).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import bindparam, func, insert, literal_column, text
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import Select
from sqlalchemy.util import await_only

from galactic_goofs.events.models import Event
from galactic_goofs.events.service import _CLAIM, _RECORD
from galactic_goofs.precompiled import PostgresWriter, Statement, StatementChange, Writer
from galactic_goofs.precompiled import on_statements as _on_statements

P = ParamSpec("P")
T = TypeVar("T")

# The event takes its seq from the claim and its time once the claim is made (so that times
# follow seqs, as they do when a transaction claims the seq first).
_EVENT = Statement(
    insert(Event)
    .values(seq=literal_column("(SELECT last_seq FROM head)"), occurred_at=func.clock_timestamp())
    .returning(Event.seq, Event.occurred_at),
    column_keys=[key for key in _RECORD.column_keys or () if key not in {"seq", "occurred_at"}],
)
_CLAIMED = text("EXISTS (SELECT FROM head)")
_PLACEHOLDER = re.compile(r"\$(\d+)")
_DIVISION_BY_ZERO = "22012"


class Stale(Exception):
    """What the change read has changed since, or it cannot be made in one statement: nothing
    was written; make it in a transaction."""


class OneStatement:
    """The `Writer` of a change made in one statement (see the module)."""

    def __init__(self, reader: PostgresWriter) -> None:
        self.reader = reader
        self.writes: list[tuple[Statement, Mapping[str, Any], bool]] = []
        self.unwritten: dict[int, Any] = {}
        """The rows read, by identity, that no UPDATE has been given as `expected` yet."""
        self.claimed = False
        self.sent = False
        """The writes went to the database, and may have been made: an error from here on
        is the change's, not a reason to make it again."""

    def __call__(
        self, statement: Statement, params: Mapping[str, Any] | None = None, *, expected: Any = None
    ) -> list[Any]:
        if self.sent:
            raise AssertionError("a change made in one statement ends with its event")
        params = params or {}
        if statement is _CLAIM:
            self.claimed = True
            return [statement.on_postgresql.row(last_seq=0)]  # the seq comes with the event
        if statement is _RECORD:
            return self._send(params)
        if isinstance(statement.statement, Select):
            rows = self.reader(statement, params)
            self.unwritten.update((id(row), row) for row in rows)
            return rows
        if isinstance(statement.statement, Update):
            if expected is None or self.unwritten.pop(id(expected), None) is None:
                raise Stale("an UPDATE of a row this change did not read")
            fields = tuple(expected._fields)
            guarded = {**params, **{f"expected_{name}": getattr(expected, name) for name in fields}}
            self.writes.append((_guarded(statement, fields), guarded, True))
        elif isinstance(statement.statement, Insert):
            self.writes.append((statement, params, False))
        else:
            raise Stale("a statement that is neither a read, an UPDATE by key nor an INSERT")
        return []

    def _send(self, event: Mapping[str, Any]) -> list[Any]:
        """The statement; returns the event's seq and time as written."""
        if not self.claimed:
            raise Stale("an event without a claimed seq")
        if self.unwritten:
            raise Stale("a change that read rows it does not rewrite")
        parts = [(_CLAIM, {}, False), *self.writes, (_EVENT, event, False)]
        sql = _composed(tuple((part.on_postgresql.sql, guarded) for part, _, guarded in parts))
        parameters = tuple(
            value for part, values, _ in parts for value in part.on_postgresql.parameters(values)
        )
        self.sent = True
        try:
            written = await_only(self.reader.driver.fetch(sql, *parameters))
        except Exception as error:
            if getattr(error, "sqlstate", None) == _DIVISION_BY_ZERO:
                self.sent = False  # it rolled back
                raise Stale("a row changed after this change read it") from error
            raise self.reader.translated(error, sql, parameters) from error
        return _EVENT.on_postgresql.rows(written)


def in_one_statement(fn: Callable[Concatenate[Writer, P], T]) -> StatementChange[P, T]:
    """Mark a change made of `Statement`s that, on PostgreSQL, is tried in one statement first
    (see the module): it claims its seq, reads each row it changes by its key before it
    rewrites it (`expected`), and records one event, last."""
    change = _on_statements(fn)
    change.in_one_statement = OneStatement  # type: ignore[attr-defined]
    return change


@functools.cache
def _guarded(statement: Statement, fields: tuple[str, ...]) -> Statement:
    """`statement`, an UPDATE, where the row still holds the `expected_<field>` values, after the
    claim (see the module); it returns a 1 for the row it wrote."""
    update = statement.statement
    assert isinstance(update, Update)
    columns = update.table.c
    return Statement(
        update.where(
            *(
                columns[name].is_not_distinct_from(
                    bindparam(f"expected_{name}", type_=columns[name].type)
                )
                for name in fields
            ),
            _CLAIMED,
        ).returning(literal_column("1")),
        column_keys=statement.column_keys,
    )


@functools.lru_cache(maxsize=64)
def _composed(parts: tuple[tuple[str, bool], ...]) -> str:
    """One statement of `parts` (the claim first, the event last; each SQL with its own $1...
    and whether it is a guarded UPDATE), their parameters numbered on in order; it answers the
    event's seq and time, or divides by zero where a guarded UPDATE wrote nothing."""
    ctes = []
    divisors = []
    offset = 0
    for index, (sql, guarded) in enumerate(parts):
        name = "head" if index == 0 else f"w{index}"
        numbers = [int(number) for number in _PLACEHOLDER.findall(sql)]
        ctes.append(f"{name} AS ({_renumbered(sql, offset)})")
        offset += max(numbers, default=0)
        if guarded:
            divisors.append(f" / (SELECT count(*) FROM {name})")
    return f"WITH {', '.join(ctes)} SELECT seq{''.join(divisors)}, occurred_at FROM {name}"


def _renumbered(sql: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda match: f"${int(match[1]) + offset}", sql)
