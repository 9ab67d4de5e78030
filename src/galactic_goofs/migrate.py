from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from galactic_goofs.db import Database


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "galactic_goofs:migrations")
    return config


@functools.cache
def heads() -> frozenset[str]:
    """The revisions the migrations end at, read from their scripts once a process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run from several instances at once."""

    def run(session: Session) -> None:
        connection = session.connection()
        if revision == "head" and _current(connection) == heads():
            return  # Alembic would load its environment and every script to find nothing to do
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await db.write(run)


class SchemaOutOfDate(RuntimeError):
    pass


async def ensure_current(db: Database) -> None:
    """Refuse to start on a schema that migrations have not brought to head."""

    async with db.engine.connect() as connection:
        revisions = await connection.run_sync(_current)
    if revisions != heads():
        raise SchemaOutOfDate(
            f"the database schema is at {sorted(revisions) or 'nothing'}, not {sorted(heads())}: "
            "run `goofs migrate` (or start without --no-migrate)"
        )
