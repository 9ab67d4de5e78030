"""Every rule about operators: accounts, passwords, API tokens, browser sessions, throttling."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.auth.models import ApiToken, BrowserSession, Operator, SignInFailure
from galactic_goofs.db import Database, utcnow
from galactic_goofs.errors import Conflict, DomainError, NotFound

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
FIRST_OPERATOR = "admin"
TOKEN_PREFIX = "goofs_"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


class InvalidCredentials(DomainError):
    status_code = 401


class InvalidOperator(DomainError):
    status_code = 422


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking, and how they proved it (`token` needs no CSRF check, `session` does)."""

    name: str
    via: Literal["token", "session"]


@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int
    window: timedelta


def digest(secret: str) -> str:
    """Tokens and session keys are long and random, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidOperator(
            "operator names are 1-50 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidOperator(
            f"passwords are {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )
    return password


async def hash_password(password: str) -> str:
    # Argon2 takes tens of milliseconds on purpose; keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def add_operator(db: Database, name: str, password: str) -> None:
    operator = Operator(
        name=check_name(name),
        password_hash=await hash_password(check_password(password)),
        created_at=utcnow(),
    )
    try:
        await db.write(Session.add, operator)
    except IntegrityError:
        raise Conflict(f"an operator named {name!r} already exists") from None


async def operator_names(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Operator.name).order_by(Operator.name)))


async def count_operators(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Operator)) or 0


async def ensure_first_operator(db: Database) -> str | None:
    """On a database with no operator, create `admin`; returns its password (shown once)."""
    async with db.reading() as session:
        if await count_operators(session):
            return None
    password = secrets.token_urlsafe(15)
    try:
        await add_operator(db, FIRST_OPERATOR, password)
    except Conflict:
        return None  # another instance starting at the same moment made it first
    return password


def create_token(session: Session, name: str) -> str:
    """A new API token for `name` (a write). Returned once: only its digest is stored."""
    operator_id = session.scalar(select(Operator.id).where(Operator.name == name))
    if operator_id is None:
        raise NotFound(f"no operator named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(operator_id=operator_id, token_hash=digest(token), created_at=utcnow()))
    return token


async def identify_token(session: AsyncSession, token: str) -> Identity | None:
    name = await session.scalar(
        select(Operator.name)
        .join(ApiToken, ApiToken.operator_id == Operator.id)
        .where(ApiToken.token_hash == digest(token))
    )
    return None if name is None else Identity(name, "token")


async def identify_session(session: AsyncSession, key: str) -> Identity | None:
    name = await session.scalar(
        select(Operator.name)
        .join(BrowserSession, BrowserSession.operator_id == Operator.id)
        .where(BrowserSession.key_hash == digest(key), BrowserSession.expires_at > utcnow())
    )
    return None if name is None else Identity(name, "session")


async def sign_in(
    db: Database,
    name: str,
    password: str,
    *,
    address: str,
    throttle: Throttle,
    lifetime: timedelta,
) -> str:
    """Check the password and open a browser session; returns the key for the cookie.

    Takes the Database rather than one session: the slow password check runs between two
    short transactions so it never holds the (on SQLite, single) write connection.
    """
    name = name[:50]
    address = address[:64]
    async with db.reading() as session:
        await _refuse_if_throttled(session, name, address, throttle)
        row = (
            await session.execute(
                select(Operator.id, Operator.password_hash).where(Operator.name == name)
            )
        ).one_or_none()
    matches = await password_matches(row.password_hash if row else _dummy_hash(), password)
    if row is None or not matches:
        await db.write(_record_failure, name, address, throttle)
        raise InvalidCredentials("wrong operator name or password")
    return await db.write(_open_session, row.id, name, lifetime)


def _record_failure(session: Session, name: str, address: str, throttle: Throttle) -> None:
    now = utcnow()
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - throttle.window))
    session.add(SignInFailure(name=name, address=address, failed_at=now))


def _open_session(session: Session, operator_id: int, name: str, lifetime: timedelta) -> str:
    now = utcnow()
    key = secrets.token_urlsafe(32)
    session.execute(delete(BrowserSession).where(BrowserSession.expires_at < now))
    session.execute(delete(SignInFailure).where(SignInFailure.name == name))
    session.add(
        BrowserSession(
            key_hash=digest(key), operator_id=operator_id, created_at=now, expires_at=now + lifetime
        )
    )
    return key


def sign_out(session: Session, key: str) -> None:
    session.execute(delete(BrowserSession).where(BrowserSession.key_hash == digest(key)))


async def _refuse_if_throttled(
    session: AsyncSession, name: str, address: str, throttle: Throttle
) -> None:
    """Too many recent failures for this name, or from this address, refuse without checking.

    An address gets a few times the allowance of a name so one office behind a NAT can still
    mistype, while one client trying many names is stopped too.
    """
    since = utcnow() - throttle.window
    recent = select(func.count()).where(SignInFailure.failed_at > since)
    by_name = await session.scalar(recent.where(SignInFailure.name == name)) or 0
    by_address = await session.scalar(recent.where(SignInFailure.address == address)) or 0
    if by_name >= throttle.max_failures or by_address >= 4 * throttle.max_failures:
        seconds = int(throttle.window.total_seconds())
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {seconds} seconds", retry_after=seconds
        )
