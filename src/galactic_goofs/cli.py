"""`goofs`: serve the console and API, or apply migrations."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import resource
import sys
from typing import Any

import uvicorn

from galactic_goofs import migrate
from galactic_goofs.db import Database
from galactic_goofs.settings import Settings

COLLECTOR_THRESHOLDS = (50_000, 20, 100)
"""gc thresholds for the server: young collections every 50k allocations, not 700."""
SERVER_OPTIONS: dict[str, Any] = {
    # The C event loop and HTTP parser: the stream fan-out spends most of its time in them.
    "loop": "uvloop",
    "http": "httptools",
    # Thousands of stream clients may (re)connect at once, e.g. after a restart.
    "backlog": 4096,
    "timeout_graceful_shutdown": 3,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="goofs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the web console, API and streams")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (needs a Redis broker)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

    settings = Settings()
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("database is up to date")
        return 0
    return _serve(settings, args.host, args.port, args.workers, migrate_first=not args.no_migrate)


def _serve(settings: Settings, host: str, port: int, workers: int, *, migrate_first: bool) -> int:
    if workers < 1:
        print("goofs: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and settings.broker_url == "memory://":
        print(
            "goofs: --workers needs a shared broker. With GOOFS_BROKER_URL=memory:// each worker "
            "would see only its own events; set GOOFS_BROKER_URL=redis://host:port/0.",
            file=sys.stderr,
        )
        return 2
    if migrate_first:
        asyncio.run(_migrate(settings))
    # The workers (or this process) inherit this: migrations already ran once, here.
    os.environ["GOOFS_MIGRATE_ON_START"] = "false"
    _raise_open_files_limit()
    _tune_collector()
    uvicorn.run(
        "galactic_goofs.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **SERVER_OPTIONS,
    )
    return 0


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


def _raise_open_files_limit() -> None:
    """Each stream client is a socket; the default soft limit of 1024 would cap them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _tune_collector() -> None:
    """Collect less often: with thousands of streams the cyclic collector was a third of the
    server's CPU, rescanning long-lived connection objects after every few hundred allocations.
    Frames, futures and buffers here are freed by reference counting; cycles are rare.
    """
    import galactic_goofs.app  # noqa: F401  (what the server will run; then it is frozen)

    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


if __name__ == "__main__":
    sys.exit(main())
