"""Migration 0005_roles on a database that already has operators and tokens."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from galactic_goofs import migrate
from galactic_goofs.auth import service as auth
from galactic_goofs.db import Database


async def test_existing_operators_become_operators_and_the_first_admin_an_admin(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate.upgrade(db, "0003_consumers")
        await db.write(
            lambda session: session.execute(
                text(
                    "INSERT INTO operators (id, name, password_hash, created_at) VALUES "
                    "(1, 'admin', 'x', '2026-11-27 10:00:00'), "
                    "(2, 'ripley', 'x', '2026-11-28 10:00:00');"
                )
            )
        )
        await db.write(
            lambda session: session.execute(
                text(
                    "INSERT INTO api_tokens (operator_id, token_hash, created_at) "
                    "VALUES (2, 'h', '2026-11-28 11:00:00')"
                )
            )
        )
        await migrate.upgrade(db)
        async with db.reading() as session:
            operators = await auth.list_operators(session)
            tokens = await auth.list_tokens(session)
            generation = await auth.current_generation(session)
    finally:
        await db.dispose()

    assert [(o.name, o.role.value, o.enabled) for o in operators] == [
        ("admin", "admin", True),
        ("ripley", "operator", True),
    ]
    assert [(t.operator, t.scope.value, t.expires_at) for t in tokens] == [
        ("ripley", "write", None)
    ]
    assert generation == 0
