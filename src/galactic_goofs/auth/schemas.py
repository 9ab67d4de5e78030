"""What the admin API reads and writes: operators, tokens and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from galactic_goofs.auth.policy import Role, Scope
from galactic_goofs.events.schemas import EventRead

MAX_TOKEN_DAYS = 3650
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
OperatorName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=NAME_PATTERN,
        description="1-50 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
]
Password = Annotated[str, Field(min_length=8, max_length=1024)]


class OperatorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    role: Role
    enabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class OperatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: OperatorName
    password: Password
    role: Role = Role.OPERATOR


class OperatorUpdate(BaseModel):
    """Any of these; a password, role or enabled change ends the operator's browser sessions."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    enabled: StrictBool | None = None  # the schema says boolean: 0 and "no" are refused
    password: Password | None = None


class TokenRead(BaseModel):
    """A token as listed: never the token itself, which is shown once, when it is created."""

    id: int
    operator: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operator: OperatorName
    scope: Scope | None = Field(
        default=None, description="Default: write, or read for a viewer's token"
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=MAX_TOKEN_DAYS, description="Default: never expires"
    )


class TokenCreated(TokenRead):
    token: str = Field(description="The bearer token: shown this once, never again")


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    total: int
    limit: int
    offset: int


class OperatorChange(BaseModel):
    """What an administrative write returns to the write path: it publishes no events."""

    operator: OperatorRead
    events: Sequence[EventRead] = ()


class TokenChange(BaseModel):
    token: TokenRead
    secret: str | None = None
    events: Sequence[EventRead] = ()
