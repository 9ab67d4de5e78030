"""`goofs user ...` and `goofs token ...`: the admin API's powers on the command line.

Whoever can run these can reach the database, so they act with every power; the audit log
records them as the command line. Errors are `DomainError`s, printed as one line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime

from galactic_goofs.auth import service as auth
from galactic_goofs.auth.schemas import MAX_TOKEN_DAYS
from galactic_goofs.db import Database
from galactic_goofs.errors import DomainError


async def run(database_url: str, command: str, action: str, args: argparse.Namespace) -> None:
    db = Database(database_url)
    try:
        if command == "user":
            await _user(db, action, args)
        else:
            await _token(db, action, args)
    finally:
        await db.dispose()


async def _user(db: Database, action: str, args: argparse.Namespace) -> None:
    if action == "add":
        role = auth.parse_role(args.role)
        auth.check_name(args.name)
        await auth.add_operator(db, args.name, read_password(), role=role)
        print(f"operator {args.name!r} added as {role.value}")
    elif action == "list":
        async with db.reading() as session:
            operators = await auth.list_operators(session)
        rows = [
            [o.name, o.role.value, "yes" if o.enabled else "no", when(o.last_sign_in_at)]
            for o in operators
        ]
        print(table(["NAME", "ROLE", "ENABLED", "LAST SIGN-IN"], rows))
    elif action == "passwd":
        async with db.reading() as session:
            await auth.get_operator(session, args.name)  # before asking for a password
        password_hash = await auth.hash_password(read_password())
        await db.write(auth.update_operator, args.name, password_hash=password_hash)
        print(f"password of {args.name!r} changed; their browser sessions have ended")
    elif action == "role":
        role = auth.parse_role(args.role)
        await db.write(auth.update_operator, args.name, role=role)
        print(f"{args.name!r} is now {role.value}")
    else:
        enabled = action == "enable"
        await db.write(auth.update_operator, args.name, enabled=enabled)
        print(f"{args.name!r} is {'enabled' if enabled else 'disabled'}")


async def _token(db: Database, action: str, args: argparse.Namespace) -> None:
    if action == "create":
        scope = None if args.scope is None else auth.parse_scope(args.scope)
        days = None if args.expires is None else whole_number(args.expires, "--expires", 1)
        if days is not None and days > MAX_TOKEN_DAYS:
            raise DomainError(f"--expires is at most {MAX_TOKEN_DAYS} days")
        change = await db.write(auth.issue_token, args.user, scope=scope, expires_in_days=days)
        token = change.token
        expiry = (
            "never expires" if token.expires_at is None else f"expires {when(token.expires_at)}"
        )
        # The description goes to stderr and the token alone to stdout, so a script can
        # capture it as it always could: it is also the last word of the last line.
        print(
            f"token {token.id} for {token.operator!r}, scope {token.scope.value}, {expiry}; "
            "shown this once:",
            file=sys.stderr,
            flush=True,
        )
        print(change.secret)
    elif action == "list":
        async with db.reading() as session:
            if args.user is not None:
                await auth.get_operator(session, args.user)
            tokens = await auth.list_tokens(session, args.user)
        rows = [
            [
                str(t.id),
                t.operator,
                t.scope.value,
                when(t.created_at),
                when(t.expires_at, "never"),
                when(t.last_used_at),
            ]
            for t in tokens
        ]
        print(table(["ID", "OWNER", "SCOPE", "CREATED", "EXPIRES", "LAST USED"], rows))
    else:
        token_id = whole_number(args.id, "the token id", 1)
        change = await db.write(auth.revoke_token, token_id)
        print(f"token {token_id} of {change.token.operator!r} revoked")


def read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise DomainError("the passwords do not match")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def whole_number(text: str, what: str, minimum: int) -> int:
    if not text.strip().isdigit() or int(text) < minimum or int(text) > 2**31 - 1:
        raise DomainError(f"{what} must be a whole number from {minimum}, not {text!r}")
    return int(text)


def when(moment: datetime | None, none: str = "-") -> str:
    return none if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
