"""The console's admin page: operators, tokens and the audit log. Admins only.

Plain forms that post and get the page back (no script needed, so every control works from
the keyboard); a refusal comes back as the page with the reason, and a new token is shown on
the page that answers its creation, once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, status
from fastapi.responses import HTMLResponse

from galactic_goofs.auth import service
from galactic_goofs.auth.dependencies import Admin, require_admin
from galactic_goofs.auth.policy import Role, Scope
from galactic_goofs.auth.schemas import MAX_TOKEN_DAYS, NAME_PATTERN, TokenRead
from galactic_goofs.auth.views import templates
from galactic_goofs.deps import StateDep
from galactic_goofs.errors import DomainError
from galactic_goofs.state import AppState

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
AUDIT_SHOWN = 50

Name = Annotated[str, Path(max_length=50, pattern=NAME_PATTERN)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=100)]
FormPassword = Annotated[str, Form(max_length=service.MAX_PASSWORD_LENGTH)]


@router.get("", response_class=HTMLResponse)
async def admin_page(request: Request, state: StateDep, admin: Admin) -> HTMLResponse:
    return await _page(request, state, admin)


@router.post("/operators", response_class=HTMLResponse)
async def add_operator(
    request: Request,
    state: StateDep,
    admin: Admin,
    name: FormText,
    password: FormPassword,
    role: FormText = "operator",
) -> HTMLResponse:
    async def change() -> str:
        password_hash = await service.hash_password(password)
        await state.writes.apply(
            service.create_operator,
            service.check_name(name.strip()),
            password_hash,
            role=service.parse_role(role),
            actor=admin.name,
        )
        return f"Operator {name.strip()} added."

    return await _after(request, state, admin, change, form="add-operator")


@router.post("/operators/{name}/role", response_class=HTMLResponse)
async def change_role(
    request: Request, state: StateDep, admin: Admin, name: Name, role: FormText
) -> HTMLResponse:
    async def change() -> str:
        new_role = service.parse_role(role)
        await state.writes.apply(service.update_operator, name, role=new_role, actor=admin.name)
        return f"{name} is now {new_role.value}; their browser sessions have ended."

    return await _after(request, state, admin, change)


@router.post("/operators/{name}/disable", response_class=HTMLResponse)
async def disable(request: Request, state: StateDep, admin: Admin, name: Name) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.update_operator, name, enabled=False, actor=admin.name)
        return f"{name} is disabled: signed out everywhere, their tokens refused."

    return await _after(request, state, admin, change)


@router.post("/operators/{name}/enable", response_class=HTMLResponse)
async def enable(request: Request, state: StateDep, admin: Admin, name: Name) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.update_operator, name, enabled=True, actor=admin.name)
        return f"{name} is enabled again."

    return await _after(request, state, admin, change)


@router.post("/operators/{name}/password", response_class=HTMLResponse)
async def reset_password(
    request: Request, state: StateDep, admin: Admin, name: Name, password: FormPassword
) -> HTMLResponse:
    async def change() -> str:
        password_hash = await service.hash_password(password)
        await state.writes.apply(
            service.update_operator, name, password_hash=password_hash, actor=admin.name
        )
        return f"Password of {name} changed; their browser sessions have ended."

    return await _after(request, state, admin, change)


@router.post("/tokens", response_class=HTMLResponse)
async def create_token(
    request: Request,
    state: StateDep,
    admin: Admin,
    operator: FormText,
    scope: FormText = "",
    expires_in_days: FormText = "",
) -> HTMLResponse:
    created: list[tuple[TokenRead, str]] = []

    async def change() -> str:
        days = _days(expires_in_days)
        issued = await state.writes.apply(
            service.issue_token,
            operator,
            scope=service.parse_scope(scope) if scope else None,
            expires_in_days=days,
            actor=admin.name,
        )
        assert issued.secret is not None
        created.append((issued.token, issued.secret))
        return f"Token {issued.token.id} created for {operator}."

    return await _after(request, state, admin, change, form="create-token", created=created)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke_token(
    request: Request, state: StateDep, admin: Admin, token_id: TokenId
) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.revoke_token, token_id, actor=admin.name)
        return f"Token {token_id} revoked."

    return await _after(request, state, admin, change)


def _days(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_TOKEN_DAYS:
        raise service.InvalidOperator(f"expiry is a whole number of days, 1 to {MAX_TOKEN_DAYS}")
    return int(text)


async def _after(
    request: Request,
    state: AppState,
    admin: service.Identity,
    change: object,
    *,
    form: str = "",
    created: list[tuple[TokenRead, str]] | None = None,
) -> HTMLResponse:
    """Run `change`; the page again, with what it did or why it was refused."""
    assert callable(change)
    try:
        notice = await change()
    except DomainError as refused:
        return await _page(
            request, state, admin, error=refused.message, form=form, status_code=refused.status_code
        )
    new_token = created[0] if created else None
    return await _page(request, state, admin, notice=notice, new_token=new_token)


async def _page(
    request: Request,
    state: AppState,
    admin: service.Identity,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: str = "",
    new_token: tuple[TokenRead, str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    async with state.db.reading() as session:
        operators = await service.list_operators(session)
        tokens = await service.list_tokens(session)
        audit = await service.audit_log(session, limit=AUDIT_SHOWN)
    context = {
        "operator": admin,
        "operators": operators,
        "tokens": tokens,
        "audit": audit,
        "roles": list(Role),
        "scopes": list(Scope),
        "notice": notice,
        "error": error,
        "error_form": form,
        "new_token": new_token,
        "max_days": MAX_TOKEN_DAYS,
    }
    return templates.TemplateResponse(request, "admin.html", context, status_code=status_code)
