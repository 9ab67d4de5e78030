from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from galactic_goofs.db import Database


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "galactic_goofs:migrations")
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run from several instances at once."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.write_engine.begin() as connection:
        await connection.run_sync(run)
