"""Alembic environment. Runs on a connection handed over by `galactic_goofs.migrate`."""

from __future__ import annotations

from alembic import context

from galactic_goofs import lease as _lease  # noqa: F401
from galactic_goofs.analytics import models as _analytics  # noqa: F401
from galactic_goofs.anomalies import models as _anomalies  # noqa: F401
from galactic_goofs.auth import models as _auth  # noqa: F401
from galactic_goofs.db import Base
from galactic_goofs.events import models as _events  # noqa: F401  (registers tables)
from galactic_goofs.fleet import models as _fleet  # noqa: F401
from galactic_goofs.notifications import models as _notifications  # noqa: F401
from galactic_goofs.orbits import models as _orbits  # noqa: F401

# Any number fits as long as it is ours alone; it serialises instances migrating at once.
MIGRATION_LOCK_KEY = 0x60_0F5

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `goofs migrate`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        context.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    context.run_migrations()
