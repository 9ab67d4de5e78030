"""`goofs import`, `goofs import-tle` and `goofs demo`: a fleet loaded in bulk, through the write
path like any other change (every row an event), with a progress bar and a report."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from galactic_goofs import migrate
from galactic_goofs.db import Database, utcnow
from galactic_goofs.errors import Conflict, DomainError
from galactic_goofs.events.broker import create_broker
from galactic_goofs.events.schemas import EventType
from galactic_goofs.events.write_path import WritePath
from galactic_goofs.fleet import importing
from galactic_goofs.fleet.importing import Format, Planned, Rejected
from galactic_goofs.orbits import demo, tle_import
from galactic_goofs.settings import Settings

ACTOR = "import"
BATCH = 250
"""Rows per transaction: short enough that a server sharing the SQLite file waits little."""


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )


@asynccontextmanager
async def write_path(settings: Settings) -> AsyncIterator[WritePath]:
    db = Database(settings.database_url)
    broker = create_broker(settings.broker_url, channel=settings.redis_channel)
    try:
        await migrate.upgrade(db)
        yield WritePath(db, broker)
    finally:
        await broker.close()
        await db.dispose()


def _report(rejected: Sequence[Rejected], out: TextIO) -> None:
    for one in sorted(rejected, key=lambda one: one.line):
        print(f"line {one.line}: {one.reason}", file=out)


def read_file(path: Path, err: TextIO) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"goofs: cannot read {path}: {error}", file=err)
        return None


async def import_fleet(
    settings: Settings,
    path: Path,
    text: str,
    *,
    format: Format | None,
    dry_run: bool,
    strict: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    started = time.monotonic()
    try:
        format, rows, rejected = importing.read_rows(text, format)
    except importing.ImportFileError as error:
        print(f"goofs: {path}: {error.message}", file=err)
        return 2
    rng = random.Random()
    async with write_path(settings) as writes:
        async with writes.db.reading() as session:
            plan = importing.plan(rows, await importing.existing_fleet(session))
        rejected = [*rejected, *plan.rejected]
        _report(rejected, err)
        written = 0
        if dry_run:
            verdict = "would import"
        elif strict and rejected:
            verdict = "imported nothing (--strict, and rows were rejected) of"
        else:
            verdict = "imported"
            written, late = await _write(writes, plan.changes, rng, Console(file=err))
            rejected.extend(late)
            _report(late, err)
    print(
        f"{verdict} {path.name} ({format.value}): {plan.count('create')} new, "
        f"{plan.count('update')} updated, {plan.count('unchanged')} unchanged, "
        f"{len(rejected)} rejected; {written} events in {time.monotonic() - started:.1f} s",
        file=out,
    )
    return 2 if rejected else 0


async def _write(
    writes: WritePath, changes: list[Planned], rng: random.Random, console: Console
) -> tuple[int, list[Rejected]]:
    written = 0
    late: list[Rejected] = []
    with progress_bar(console) as progress:
        task = progress.add_task("importing", total=len(changes))
        for batch in importing.batches(changes, BATCH):
            try:
                done = await writes.apply(importing.import_batch, batch, actor=ACTOR, rng=rng)
                written += len(done.events)
            except Conflict:
                # Someone changed the fleet since the plan: row by row, to reject only those.
                for planned in batch:
                    try:
                        one = await writes.apply(
                            importing.import_batch, [planned], actor=ACTOR, rng=rng
                        )
                        written += len(one.events)
                    except DomainError as error:
                        late.append(Rejected(planned.line, error.message))
            progress.advance(task, len(batch))
    return written, late


async def import_tle(settings: Settings, path: Path, text: str, *, out: TextIO, err: TextIO) -> int:
    now = utcnow()
    sets, rejected = tle_import.read_sets(text, now=now)
    async with write_path(settings) as writes:
        async with writes.db.reading() as session:
            matched, unmatched = await tle_import.match(session, sets)
        _report(rejected, err)
        for one in unmatched:
            print(
                f"line {one.line}: no spacecraft with NORAD ID {one.elements.norad_id}"
                f"{f' or named {one.elements.name!r}' if one.elements.name else ''}",
                file=err,
            )
        written = 0
        with progress_bar(Console(file=err)) as progress:
            task = progress.add_task("orbits", total=len(matched))
            for start in range(0, len(matched), BATCH):
                batch = matched[start : start + BATCH]
                try:
                    done = await writes.apply(tle_import.set_orbits, batch, actor=ACTOR)
                    written += len(done.events)
                except DomainError:
                    for item in batch:
                        try:
                            await writes.apply(tle_import.set_orbits, [item], actor=ACTOR)
                            written += 1
                        except DomainError as error:
                            rejected.append(Rejected(item.line, error.message))
                            _report(rejected[-1:], err)
                progress.advance(task, len(batch))
    print(
        f"orbits from {path.name}: {written} set, {len(unmatched)} unmatched, "
        f"{len(rejected)} rejected",
        file=out,
    )
    return 2 if rejected else 0


async def load_demo(settings: Settings, *, out: TextIO) -> int:
    async with write_path(settings) as writes:
        done = await writes.apply(demo.load, actor="demo", rng=random.Random(), now=utcnow())
    added = sum(1 for event in done.events if event.type == EventType.CREATED)
    print(
        f"demo fleet: {added} spacecraft added ({len(demo.FLEET)} in the demo); "
        "their orbits are illustrative, made from typical elements of each orbit class",
        file=out,
    )
    return 0
