"""Admin API: operators, API tokens and the audit log. Admins only (with an admin-scope token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from galactic_goofs.auth import service
from galactic_goofs.auth.dependencies import Admin, require_admin
from galactic_goofs.auth.schemas import (
    NAME_PATTERN,
    AuditPage,
    OperatorCreate,
    OperatorName,
    OperatorRead,
    OperatorUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from galactic_goofs.deps import ReadSession, StateDep

ADMINS_ONLY = [Depends(require_admin)]
operators = APIRouter(prefix="/api/v1/operators", tags=["operators"], dependencies=ADMINS_ONLY)
tokens = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], dependencies=ADMINS_ONLY)
audit = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=ADMINS_ONLY)

NO_OPERATOR: dict[int | str, dict[str, Any]] = {404: {"description": "No operator by that name"}}
NO_TOKEN: dict[int | str, dict[str, Any]] = {404: {"description": "No token with that id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The name is taken, or the change would leave no enabled admin"}
}
Name = Annotated[str, Path(max_length=50, pattern=NAME_PATTERN)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@operators.get("")
async def list_operators(session: ReadSession) -> list[OperatorRead]:
    return await service.list_operators(session)


@operators.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def add_operator(
    data: OperatorCreate, state: StateDep, admin: Admin, response: Response
) -> OperatorRead:
    password_hash = await service.hash_password(data.password)
    change = await state.writes.apply(
        service.create_operator, data.name, password_hash, role=data.role, actor=admin.name
    )
    response.headers["Location"] = f"{operators.prefix}/{change.operator.name}"
    return change.operator


@operators.get("/{name}", responses=NO_OPERATOR)
async def get_operator(name: Name, session: ReadSession) -> OperatorRead:
    return await service.get_operator(session, name)


@operators.patch("/{name}", responses=NO_OPERATOR | CONFLICT)
async def update_operator(
    name: Name, data: OperatorUpdate, state: StateDep, admin: Admin
) -> OperatorRead:
    """Change the role, enable or disable, or reset the password: each ends the operator's
    browser sessions. The last enabled admin can be neither demoted nor disabled (409)."""
    password_hash = None if data.password is None else await service.hash_password(data.password)
    change = await state.writes.apply(
        service.update_operator,
        name,
        role=data.role,
        enabled=data.enabled,
        password_hash=password_hash,
        actor=admin.name,
    )
    return change.operator


@tokens.get("")
async def list_tokens(
    session: ReadSession,
    operator: Annotated[OperatorName | None, Query(description="Only this operator's")] = None,
) -> list[TokenRead]:
    return await service.list_tokens(session, operator)


@tokens.post("", status_code=status.HTTP_201_CREATED, responses=NO_OPERATOR)
async def create_token(
    data: TokenCreate, state: StateDep, admin: Admin, response: Response
) -> TokenCreated:
    """The response carries the token itself, this once: only its digest is stored."""
    change = await state.writes.apply(
        service.issue_token,
        data.operator,
        scope=data.scope,
        expires_in_days=data.expires_in_days,
        actor=admin.name,
    )
    response.headers["Location"] = f"{tokens.prefix}/{change.token.id}"
    return TokenCreated(**change.token.model_dump(), token=change.secret or "")


@tokens.get("/{token_id}", responses=NO_TOKEN)
async def get_token(token_id: TokenId, session: ReadSession) -> TokenRead:
    return await service.get_token(session, token_id)


@tokens.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NO_TOKEN)
async def revoke_token(token_id: TokenId, state: StateDep, admin: Admin) -> None:
    """Every instance refuses the token within two seconds."""
    await state.writes.apply(service.revoke_token, token_id, actor=admin.name)


@audit.get("")
async def audit_log(
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    """Administrative actions, newest first: who did what to whom, and when."""
    return await service.audit_log(session, limit=limit, offset=offset)
