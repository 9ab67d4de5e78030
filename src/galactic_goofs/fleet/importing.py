"""Bringing a fleet in from a file: our CSV or CelesTrak's SATCAT, upserted by COSPAR ID.

Reading and checking the whole file comes first (`read_rows`, `plan`), so a dry run and
`--strict` know every rejected row before anything is written. The writes then go through the
write path in batches (`import_batch`), each row its own event, so every open console sees
the fleet arrive; a row that changes nothing writes nothing, so a rerun adds no events.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.errors import DomainError
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.fleet import service
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.fleet.schemas import (
    CosparId,
    Name,
    NoradId,
    SpacecraftCreate,
    SpacecraftUpdate,
)

OUR_COLUMNS = ("name", "cospar_id", "norad_id", "status")
SATCAT_COLUMNS = ("OBJECT_NAME", "OBJECT_ID", "NORAD_CAT_ID")
"""The columns of CelesTrak's SATCAT CSV we read (it has more: OBJECT_TYPE, OWNER, ...)."""


class Format(StrEnum):
    CSV = "csv"
    SATCAT = "satcat"


class ImportFileError(DomainError):
    """The file as a whole cannot be read (a missing column): nothing in it is imported."""


class ImportRow(BaseModel):
    name: Name
    cospar_id: CosparId
    norad_id: NoradId | None = None
    status: Status | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Planned:
    line: int
    row: ImportRow
    action: str
    """"create", "update" or "unchanged"."""


@dataclass
class Plan:
    rows: list[Planned] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for planned in self.rows if planned.action == action)

    @property
    def changes(self) -> list[Planned]:
        return [planned for planned in self.rows if planned.action != "unchanged"]


def read_rows(
    text: str, format: Format | None = None
) -> tuple[Format, list[tuple[int, ImportRow]], list[Rejected]]:
    """Every data row, checked, with its line number; the format is guessed from the header
    when not given. An ImportFileError when the file as a whole cannot be read."""
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not lines:
        raise ImportFileError("the file is empty")
    header = [cell.strip() for cell in lines[0]]
    if format is None:
        format = Format.SATCAT if "OBJECT_NAME" in header else Format.CSV
    columns = _columns(format, header)
    has_header = format is Format.SATCAT or header[:1] == ["name"]
    start = 1 if has_header else 0
    accepted: list[tuple[int, ImportRow]] = []
    rejected: list[Rejected] = []
    for number, cells in enumerate(lines[start:], start=start + 1):
        if not any(cell.strip() for cell in cells):
            continue
        values = {
            field_name: cells[index].strip()
            for field_name, index in columns.items()
            if index < len(cells) and cells[index].strip()
        }
        try:
            accepted.append((number, ImportRow.model_validate(values)))
        except ValidationError as error:
            rejected.append(Rejected(number, _reason(error)))
    return format, accepted, rejected


def _columns(format: Format, header: list[str]) -> dict[str, int]:
    if format is Format.SATCAT:
        missing = [column for column in SATCAT_COLUMNS if column not in header]
        if missing:
            raise ImportFileError(
                f"not a SATCAT CSV: the header has no {', '.join(missing)} column "
                f"(it has: {', '.join(header) or 'nothing'})"
            )
        return {
            "name": header.index("OBJECT_NAME"),
            "cospar_id": header.index("OBJECT_ID"),
            "norad_id": header.index("NORAD_CAT_ID"),
        }
    if header[:1] == ["name"]:
        unknown = [column for column in header if column not in OUR_COLUMNS]
        if unknown or "cospar_id" not in header:
            raise ImportFileError(
                f"the header must name columns from {', '.join(OUR_COLUMNS)} (name and "
                f"cospar_id first), not {', '.join(header)}"
            )
        return {column: header.index(column) for column in header}
    return {column: index for index, column in enumerate(OUR_COLUMNS)}


def _reason(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        problems.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


@dataclass(frozen=True, slots=True)
class Known:
    id: Any
    name: str
    norad_id: int | None


async def existing_fleet(session: AsyncSession) -> dict[str, Known]:
    rows = await session.execute(
        select(Spacecraft.cospar_id, Spacecraft.id, Spacecraft.name, Spacecraft.norad_id)
    )
    return {row.cospar_id: Known(row.id, row.name, row.norad_id) for row in rows}


def plan(rows: Iterable[tuple[int, ImportRow]], fleet: dict[str, Known]) -> Plan:
    """What importing `rows` into `fleet` would do, row by row, and which rows it refuses."""
    result = Plan()
    holders = {known.norad_id: cospar for cospar, known in fleet.items() if known.norad_id}
    seen_cospar: dict[str, int] = {}
    seen_norad: dict[int, int] = {}
    for line, row in rows:
        if row.cospar_id in seen_cospar:
            result.rejected.append(
                Rejected(
                    line,
                    f"COSPAR ID {row.cospar_id} is already on line {seen_cospar[row.cospar_id]}",
                )
            )
            continue
        if row.norad_id is not None:
            if row.norad_id in seen_norad:
                result.rejected.append(
                    Rejected(
                        line,
                        f"NORAD ID {row.norad_id} is already on line {seen_norad[row.norad_id]}",
                    )
                )
                continue
            holder = holders.get(row.norad_id)
            if holder is not None and holder != row.cospar_id:
                result.rejected.append(
                    Rejected(
                        line,
                        f"NORAD ID {row.norad_id} is registered to {fleet[holder].name} ({holder})",
                    )
                )
                continue
            seen_norad[row.norad_id] = line
        seen_cospar[row.cospar_id] = line
        known = fleet.get(row.cospar_id)
        if known is None:
            action = "create"
        elif known.name != row.name or (row.norad_id not in (None, known.norad_id)):
            action = "update"
        else:
            action = "unchanged"
        result.rows.append(Planned(line, row, action))
    return result


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """What one batch wrote: its events, in seq order (one per changed row)."""

    events: tuple[EventRead, ...]


def import_batch(
    session: Session, rows: Sequence[Planned], *, actor: str, rng: random.Random
) -> ImportBatch:
    """Create or update each row's spacecraft, each change with its own event, in file order.
    A row whose spacecraft changed since the plan was made (by someone else) fails the batch
    (Conflict), and the caller goes row by row."""
    found = session.execute(
        select(Spacecraft.cospar_id, Spacecraft.id).where(
            Spacecraft.cospar_id.in_([planned.row.cospar_id for planned in rows])
        )
    )
    ids = {cospar_id: craft_id for cospar_id, craft_id in found}
    written: list[EventRead] = []
    new: list[SpacecraftCreate] = []

    def flush_new() -> None:
        written.extend(
            change.event for change in service.create_many(session, new, actor=actor, rng=rng)
        )
        new.clear()

    for planned in rows:
        row = planned.row
        craft_id = ids.get(row.cospar_id)
        if craft_id is None:
            new.append(
                SpacecraftCreate(
                    name=row.name,
                    cospar_id=row.cospar_id,
                    norad_id=row.norad_id,
                    status=row.status or Status.NOMINAL,
                )
            )
            continue
        if new:
            flush_new()
        update = SpacecraftUpdate(name=row.name, norad_id=row.norad_id)
        written.append(service.update(session, craft_id, update, actor=actor).event)
    if new:
        flush_new()
    return ImportBatch(tuple(written))


def batches(rows: Sequence[Planned], size: int) -> Iterator[Sequence[Planned]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
