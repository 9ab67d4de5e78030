"""Every rule about operators: accounts, roles, passwords, API tokens, browser sessions,
throttling and the audit log of what admins did."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ScalarSelect, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.auth.models import (
    ApiToken,
    AuditEntry,
    BrowserSession,
    CredentialGeneration,
    Operator,
    SignInFailure,
)
from galactic_goofs.auth.policy import (
    ROLE_ACCESS,
    SCOPE_ACCESS,
    Role,
    Scope,
    default_scope,
    granted,
)
from galactic_goofs.auth.schemas import (
    AuditEntryRead,
    AuditPage,
    OperatorChange,
    OperatorRead,
    TokenChange,
    TokenRead,
)
from galactic_goofs.db import Database, utcnow
from galactic_goofs.errors import Conflict, DomainError, NotFound

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
FIRST_OPERATOR = "admin"
TOKEN_PREFIX = "goofs_"
COMMAND_LINE = "command line"
"""The actor the audit log records for changes made with `goofs user` and `goofs token`."""

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
    """Who is asking, and how they proved it (`token` needs no CSRF check, `session` does).

    `scope` is the token's (None when signed in); `expires_at` is when the credential stops
    being good, so an instance that remembers it can tell without asking the database.
    """

    name: str
    via: Literal["token", "session"]
    role: Role = Role.OPERATOR
    scope: Scope | None = None
    operator_id: int = 0
    token_id: int | None = None
    expires_at: datetime | None = None

    @property
    def access(self) -> int:
        return granted(self.role, self.scope)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


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


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidOperator(
            f"unknown role {value!r}: choose one of {', '.join(role.value for role in Role)}"
        ) from None


def parse_scope(value: str) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise InvalidOperator(
            f"unknown scope {value!r}: choose one of {', '.join(scope.value for scope in Scope)}"
        ) from None


async def hash_password(password: str) -> str:
    """The stored form of a new password, after checking its length."""
    check_password(password)
    # Argon2 takes tens of milliseconds on purpose; keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def _audit(session: Session, actor: str, action: str, target: str, detail: str = "") -> None:
    session.add(
        AuditEntry(at=utcnow(), actor=actor[:60], action=action, target=target, detail=detail)
    )


def _credentials_changed(session: Session) -> None:
    """Every instance forgets the credentials it remembered (see `CredentialGeneration`)."""
    session.execute(
        update(CredentialGeneration)
        .where(CredentialGeneration.id == 1)
        .values(value=CredentialGeneration.value + 1)
    )


def _end_sessions(session: Session, operator_id: int) -> None:
    session.execute(delete(BrowserSession).where(BrowserSession.operator_id == operator_id))
    _credentials_changed(session)


def _operator(session: Session, name: str) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.name == name))
    if operator is None:
        raise NotFound(f"no operator named {name!r}")
    return operator


def _refuse_losing_the_last_admin(session: Session, operator: Operator, change: str) -> None:
    """Someone must always be able to administer: the last enabled admin stays one.

    The enabled admins' rows are locked (on PostgreSQL) so two admins demoting each other at
    once cannot both succeed; SQLite runs one write at a time anyway.
    """
    if operator.role != Role.ADMIN or not operator.enabled:
        return
    admins = session.scalars(
        select(Operator.id)
        .where(Operator.role == Role.ADMIN.value, Operator.enabled.is_(True))
        .with_for_update()
    ).all()
    if len([other for other in admins if other != operator.id]) == 0:
        raise Conflict(
            f"{operator.name!r} is the last enabled admin and cannot be {change}: "
            "make another operator an admin first"
        )


def create_operator(
    session: Session,
    name: str,
    password_hash: str,
    *,
    role: Role = Role.OPERATOR,
    actor: str = COMMAND_LINE,
) -> OperatorChange:
    """A new account (a write); `password_hash` from `hash_password`."""
    check_name(name)
    if session.scalar(select(Operator.id).where(Operator.name == name)) is not None:
        raise Conflict(f"an operator named {name!r} already exists")
    operator = Operator(
        name=name, password_hash=password_hash, created_at=utcnow(), role=role.value, enabled=True
    )
    session.add(operator)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"an operator named {name!r} already exists") from None
    _audit(session, actor, "operator.added", name, f"role {role.value}")
    return OperatorChange(operator=OperatorRead.model_validate(operator))


async def add_operator(
    db: Database,
    name: str,
    password: str,
    *,
    role: Role = Role.OPERATOR,
    actor: str = COMMAND_LINE,
) -> None:
    check_name(name)
    password_hash = await hash_password(password)
    try:
        await db.write(create_operator, name, password_hash, role=role, actor=actor)
    except IntegrityError:
        raise Conflict(f"an operator named {name!r} already exists") from None


def update_operator(
    session: Session,
    name: str,
    *,
    role: Role | None = None,
    enabled: bool | None = None,
    password_hash: str | None = None,
    actor: str = COMMAND_LINE,
) -> OperatorChange:
    """Change a role, enable or disable, or set a password (a write).

    Any of them ends the operator's browser sessions: whoever held one signs in again, under
    the new rules. Their tokens stay, bounded by the new role (or refused while disabled).
    """
    operator = _operator(session, name)
    changed = False
    if role is not None and role != operator.role:
        if role != Role.ADMIN:
            _refuse_losing_the_last_admin(session, operator, f"made {role.value}")
        _audit(session, actor, "operator.role_changed", name, f"{operator.role} -> {role.value}")
        operator.role = role.value
        changed = True
    if enabled is not None and enabled != operator.enabled:
        if not enabled:
            _refuse_losing_the_last_admin(session, operator, "disabled")
        _audit(session, actor, "operator.enabled" if enabled else "operator.disabled", name)
        operator.enabled = enabled
        changed = True
    if password_hash is not None:
        _audit(session, actor, "operator.password_changed", name)
        operator.password_hash = password_hash
        changed = True
    if changed:
        _end_sessions(session, operator.id)
    session.flush()
    return OperatorChange(operator=OperatorRead.model_validate(operator))


async def operator_names(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Operator.name).order_by(Operator.name)))


async def list_operators(session: AsyncSession) -> list[OperatorRead]:
    operators = await session.scalars(select(Operator).order_by(Operator.name))
    return [OperatorRead.model_validate(operator) for operator in operators]


async def get_operator(session: AsyncSession, name: str) -> OperatorRead:
    operator = await session.scalar(select(Operator).where(Operator.name == name))
    if operator is None:
        raise NotFound(f"no operator named {name!r}")
    return OperatorRead.model_validate(operator)


async def count_operators(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Operator)) or 0


async def ensure_first_operator(db: Database) -> str | None:
    """On a database with no operator, create `admin` (an admin); returns its password."""
    async with db.reading() as session:
        if await count_operators(session):
            return None
    password = secrets.token_urlsafe(15)
    try:
        await add_operator(db, FIRST_OPERATOR, password, role=Role.ADMIN, actor="goofs serve")
    except Conflict:
        return None  # another instance starting at the same moment made it first
    return password


def issue_token(
    session: Session,
    name: str,
    *,
    scope: Scope | None = None,
    expires_in_days: int | None = None,
    actor: str = COMMAND_LINE,
) -> TokenChange:
    """A new API token for `name` (a write). Its secret is returned once: only a digest is kept.

    A token may not be given more power than its owner's role: that would only mislead.
    """
    operator = _operator(session, name)
    role = Role(operator.role)
    scope = scope or default_scope(role)
    if SCOPE_ACCESS[scope] > ROLE_ACCESS[role]:
        raise InvalidOperator(
            f"{name!r} is a {role.value}: a token with scope '{scope.value}' would claim more "
            "than the operator may do"
        )
    now = utcnow()
    expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        operator_id=operator.id,
        token_hash=digest(secret),
        created_at=now,
        scope=scope.value,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    expiry = "never expires" if expires_at is None else f"expires {expires_at:%Y-%m-%d %H:%M} UTC"
    _audit(session, actor, "token.created", f"token {token.id}", f"for {name}, {scope}, {expiry}")
    return TokenChange(token=_token_read(token, name), secret=secret)


def create_token(session: Session, name: str) -> str:
    """A new default API token for `name` (a write); returns the token itself."""
    change = issue_token(session, name)
    assert change.secret is not None
    return change.secret


def revoke_token(session: Session, token_id: int, *, actor: str = COMMAND_LINE) -> TokenChange:
    """Delete a token (a write); every instance refuses it within seconds."""
    row = session.execute(
        select(ApiToken, Operator.name)
        .join(Operator, Operator.id == ApiToken.operator_id)
        .where(ApiToken.id == token_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    token, owner = row
    session.delete(token)
    _credentials_changed(session)
    _audit(session, actor, "token.revoked", f"token {token_id}", f"of {owner}, {token.scope}")
    return TokenChange(token=_token_read(token, owner))


def _token_read(token: ApiToken, owner: str) -> TokenRead:
    return TokenRead(
        id=token.id,
        operator=owner,
        scope=Scope(token.scope),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
    )


async def list_tokens(session: AsyncSession, operator: str | None = None) -> list[TokenRead]:
    query = (
        select(ApiToken, Operator.name)
        .join(Operator, Operator.id == ApiToken.operator_id)
        .order_by(ApiToken.id)
    )
    if operator is not None:
        query = query.where(Operator.name == operator)
    return [_token_read(token, owner) for token, owner in await session.execute(query)]


async def get_token(session: AsyncSession, token_id: int) -> TokenRead:
    row = (
        await session.execute(
            select(ApiToken, Operator.name)
            .join(Operator, Operator.id == ApiToken.operator_id)
            .where(ApiToken.id == token_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    return _token_read(*row)


def record_token_use(session: Session, uses: dict[int, datetime]) -> None:
    """When tokens were last used, noted by an instance in memory (a write, never later ones)."""
    for token_id, at in uses.items():
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < at),
            )
            .values(last_used_at=at)
        )


async def audit_log(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> AuditPage:
    total = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    entries = await session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return AuditPage(
        items=[AuditEntryRead.model_validate(entry) for entry in entries],
        total=total,
        limit=limit,
        offset=offset,
    )


def _generation() -> ScalarSelect[int]:
    return select(CredentialGeneration.value).where(CredentialGeneration.id == 1).scalar_subquery()


async def current_generation(session: AsyncSession) -> int:
    return await session.scalar(select(_generation())) or 0


async def identify_token(session: AsyncSession, token: str) -> tuple[Identity | None, int]:
    """The identity a token proves (None if unknown, expired or its operator disabled), and the
    credential generation read in the same statement."""
    row = (
        await session.execute(
            select(
                Operator.id,
                Operator.name,
                Operator.role,
                Operator.enabled,
                ApiToken.id,
                ApiToken.scope,
                ApiToken.expires_at,
                _generation(),
            )
            .join(ApiToken, ApiToken.operator_id == Operator.id)
            .where(ApiToken.token_hash == digest(token))
        )
    ).one_or_none()
    if row is None:
        return None, 0
    operator_id, name, role, enabled, token_id, scope, expires_at, generation = row
    identity = Identity(
        name,
        "token",
        role=Role(role),
        scope=Scope(scope),
        operator_id=operator_id,
        token_id=token_id,
        expires_at=expires_at,
    )
    if not enabled or identity.expired(utcnow()):
        return None, generation or 0
    return identity, generation or 0


async def identify_session(session: AsyncSession, key: str) -> tuple[Identity | None, int]:
    row = (
        await session.execute(
            select(
                Operator.id,
                Operator.name,
                Operator.role,
                BrowserSession.expires_at,
                _generation(),
            )
            .join(BrowserSession, BrowserSession.operator_id == Operator.id)
            .where(
                BrowserSession.key_hash == digest(key),
                BrowserSession.expires_at > utcnow(),
                Operator.enabled.is_(True),
            )
        )
    ).one_or_none()
    if row is None:
        return None, 0
    operator_id, name, role, expires_at, generation = row
    identity = Identity(
        name, "session", role=Role(role), operator_id=operator_id, expires_at=expires_at
    )
    return identity, generation or 0


class OperatorDisabled(DomainError):
    status_code = 403


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
                select(Operator.id, Operator.password_hash, Operator.enabled).where(
                    Operator.name == name
                )
            )
        ).one_or_none()
    matches = await password_matches(row.password_hash if row else _dummy_hash(), password)
    if row is None or not matches:
        await db.write(_record_failure, name, address, throttle)
        raise InvalidCredentials("wrong operator name or password")
    if not row.enabled:
        raise OperatorDisabled(f"the operator {name!r} is disabled; ask an admin")
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
    session.execute(update(Operator).where(Operator.id == operator_id).values(last_sign_in_at=now))
    session.add(
        BrowserSession(
            key_hash=digest(key), operator_id=operator_id, created_at=now, expires_at=now + lifetime
        )
    )
    return key


def sign_out(session: Session, key: str) -> None:
    ended = session.execute(delete(BrowserSession).where(BrowserSession.key_hash == digest(key)))
    if getattr(ended, "rowcount", 0):
        # Another instance may remember this session: it must forget it too.
        _credentials_changed(session)


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
