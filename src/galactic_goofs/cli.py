"""`goofs`: serve the console and API, apply migrations, manage operators and API tokens,
import a fleet and its orbits."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import resource
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from galactic_goofs import loading, migrate
from galactic_goofs.auth import commands as accounts
from galactic_goofs.auth import service as auth
from galactic_goofs.db import Database
from galactic_goofs.errors import DomainError
from galactic_goofs.fleet.importing import Format
from galactic_goofs.settings import Settings
from galactic_goofs.web import assets

COLLECTOR_THRESHOLDS = (20_000, 2, 100)
"""gc thresholds for the server: young collections every 20k allocations, not 700, and the
middle generation after every third of them, so it never holds more than ~60k objects
(`docs/PERFORMANCE.md`, steps 2, 10 and 14)."""
SERVER_OPTIONS: dict[str, Any] = {
    # The C event loop and HTTP parser: the stream fan-out spends most of its time in them.
    "loop": "uvloop",
    "http": "httptools",
    # Thousands of stream clients may (re)connect at once, e.g. after a restart.
    "backlog": 4096,
    "timeout_graceful_shutdown": 3,
    # A worker answers the supervisor's health check only once it has imported the app; on a
    # busy host that takes longer than uvicorn's 5 s, and the supervisor kills it over and over.
    "timeout_worker_healthcheck": 30,
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
    load = commands.add_parser(
        "import", help="add or update spacecraft from a CSV file (ours or CelesTrak's SATCAT)"
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--format",
        choices=[format.value for format in Format],
        help="csv: name,cospar_id[,norad_id][,status]; satcat: CelesTrak's SATCAT CSV "
        "(default: told by the header)",
    )
    load.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    load.add_argument(
        "--strict", action="store_true", help="import nothing unless every row is valid"
    )
    tle = commands.add_parser(
        "import-tle", help="set orbits from a file of TLE sets, matched by NORAD ID, then name"
    )
    tle.add_argument("file", type=Path)
    commands.add_parser("demo", help="add a demo fleet of real spacecraft with orbits")
    user = commands.add_parser("user", help="manage operators").add_subparsers(
        dest="action", required=True
    )
    user_add = user.add_parser("add", help="add an operator (password from a prompt or stdin)")
    user_add.add_argument("name")
    user_add.add_argument("--role", default="operator", help="viewer, operator (default) or admin")
    user.add_parser("list", help="list operators: name, role, enabled, last sign-in")
    user.add_parser("passwd", help="set a password (from a prompt or stdin)").add_argument("name")
    user_role = user.add_parser("role", help="change an operator's role")
    user_role.add_argument("name")
    user_role.add_argument("role", help="viewer, operator or admin")
    user.add_parser("disable", help="refuse an operator's sign-ins and tokens").add_argument("name")
    user.add_parser("enable", help="let a disabled operator in again").add_argument("name")
    token = commands.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    token_create = token.add_parser("create", help="create an API token and print it once")
    token_create.add_argument("--user", required=True, help="the operator it acts as")
    token_create.add_argument("--scope", help="read, write or admin (default: write; viewer: read)")
    token_create.add_argument("--expires", metavar="DAYS", help="expire after DAYS days")
    token_list = token.add_parser("list", help="list tokens (never the tokens themselves)")
    token_list.add_argument("--user", help="only this operator's")
    token.add_parser("revoke", help="revoke a token by its id").add_argument("id")
    args = parser.parse_args(argv)
    # `goofs user` and `goofs token` answer in a line or a table: no migration chatter.
    quiet = args.command in ("user", "token")
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(levelname)s:     %(name)s: %(message)s",
    )
    # httpx says INFO for every request it makes: a line per webhook attempt. The sender
    # writes its own line for an attempt that failed; what succeeded needs none.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "GOOFS_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"goofs: {name}: {problem['msg']}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("database is up to date")
        return 0
    if args.command in ("import", "import-tle"):
        text = loading.read_file(args.file, sys.stderr)
        if text is None:
            return 1
        if args.command == "import":
            return asyncio.run(
                loading.import_fleet(
                    settings,
                    args.file,
                    text,
                    format=Format(args.format) if args.format else None,
                    dry_run=args.dry_run,
                    strict=args.strict,
                    out=sys.stdout,
                    err=sys.stderr,
                )
            )
        return asyncio.run(
            loading.import_tle(settings, args.file, text, out=sys.stdout, err=sys.stderr)
        )
    if args.command == "demo":
        return asyncio.run(loading.load_demo(settings, out=sys.stdout))
    if args.command in ("user", "token"):
        asyncio.run(_migrate(settings))
        try:
            asyncio.run(accounts.run(settings.database_url, args.command, args.action, args))
        except DomainError as error:
            print(f"goofs: {error.message}", file=sys.stderr)
            return 1
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
    if problem := assets.missing_message():
        # Said here, once, rather than by a console whose script fails in every browser.
        print(f"goofs: {problem}", file=sys.stderr)
        return 1
    if migrate_first:
        asyncio.run(_migrate(settings))
    if password := asyncio.run(_ensure_first_operator(settings)):
        # Shown this once and never stored in the clear: a newcomer can sign in straight away.
        print(
            f"Created operator {auth.FIRST_OPERATOR!r} with password {password!r}. "
            "Sign in at /signin; add more with `goofs user add NAME`.",
            flush=True,
        )
    # The workers (or this process) inherit this: migrations already ran once, here.
    os.environ["GOOFS_MIGRATE_ON_START"] = "false"
    _raise_open_files_limit()
    _tune_collector()
    config = uvicorn.Config(
        "galactic_goofs.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **SERVER_OPTIONS,
    )
    try:
        sockets = [_listen(host, port, settings.socket_send_buffer)]
    except OSError as error:
        print(f"goofs: cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return 1
    bound_port = sockets[0].getsockname()[1]
    print(f"Galactic Goofs on http://{host}:{bound_port} (Ctrl+C to stop)", flush=True)
    if workers > 1:
        with _shared_metrics_directory():
            Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)
    return 0


@contextlib.contextmanager
def _shared_metrics_directory() -> Iterator[None]:
    """Where the workers write what only a process knows, for any worker's `/metrics` to add
    up (prometheus-client reads the variable when a worker imports it). One the operator set
    is kept; ours is fresh each start, so a dead worker's figures never linger."""
    # Imported here, not at the top: each worker re-imports this module before it answers
    # the supervisor's health check, and a slow start there gets it killed.
    from galactic_goofs.metrics.process import MULTIPROCESS_DIR

    if os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="goofs-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]


def _listen(host: str, port: int, send_buffer: int) -> socket.socket:
    """The listening socket, with a capped kernel send buffer that every connection inherits.

    Left to itself, Linux grows a connection's send buffer up to `net.ipv4.tcp_wmem` (4 MB
    here) when the client does not read: a stalled stream would park megabytes in the kernel
    before the hub noticed. Capped, a client that stops reading fills it within seconds, its
    frames back up into its bounded queue, and it is dropped (to resume by Last-Event-ID).
    """
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family, backlog=SERVER_OPTIONS["backlog"])
    if send_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    return sock


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


async def _ensure_first_operator(settings: Settings) -> str | None:
    db = Database(settings.database_url)
    try:
        try:
            await migrate.ensure_current(db)
        except migrate.SchemaOutOfDate:
            return None  # the server refuses to start on it, with the reason
        return await auth.ensure_first_operator(db)
    finally:
        await db.dispose()


def _raise_open_files_limit() -> None:
    """Each stream client is a socket; the default soft limit of 1024 would cap them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _tune_collector() -> None:
    """Collect less often: with thousands of streams the cyclic collector rescanned long-lived
    connection objects after every few hundred allocations. Frames, futures and buffers here
    are freed by reference counting; cycles are rare.

    The middle generation is collected often, though: new connections' objects all survive
    their first collection, and letting them pile up makes one long pause. Each object is
    still scanned there only once on its way to the old generation. Measured in
    `docs/PERFORMANCE.md`, steps 2, 10 and 14.
    """
    import galactic_goofs.app  # noqa: F401  (what the server will run; then it is frozen)

    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


if __name__ == "__main__":
    sys.exit(main())
