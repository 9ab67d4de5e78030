"""The console's webhooks page: endpoints, their health, the delivery log, redelivery and a
test ping. Admins only; plain forms (no script), so every control works from the keyboard."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from galactic_goofs.auth.dependencies import Admin, require_admin
from galactic_goofs.auth.service import Identity
from galactic_goofs.deps import StateDep
from galactic_goofs.errors import DomainError
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet.faults import Severity
from galactic_goofs.notifications import service, ssrf
from galactic_goofs.notifications.schemas import WebhookCreate, WebhookUpdate
from galactic_goofs.state import AppState
from galactic_goofs.web import rendering

templates = rendering.console_templates(Path(__file__).parent / "templates")
router = APIRouter(
    prefix="/admin/webhooks", include_in_schema=False, dependencies=[Depends(require_admin)]
)
DELIVERIES_SHOWN = 20
FormText = Annotated[str, Form(max_length=2000)]


@router.get("", response_class=HTMLResponse)
async def webhooks_page(request: Request, state: StateDep, admin: Admin) -> HTMLResponse:
    return await _page(request, state, admin)


@router.post("", response_class=HTMLResponse)
async def add_webhook(
    request: Request,
    state: StateDep,
    admin: Admin,
    url: FormText,
    events: Annotated[list[str], Form()],
    format: FormText = "standard",
    min_severity: FormText = "",
    description: FormText = "",
) -> HTMLResponse:
    created: list[str] = []

    async def change() -> str:
        try:
            data = WebhookCreate.model_validate(
                {
                    "url": url.strip(),
                    "events": events,
                    "format": format,
                    "min_severity": min_severity or None,
                    "description": description,
                }
            )
        except (ValidationError, ValueError) as invalid:
            raise ssrf.RefusedUrl(_first_error(invalid)) from None
        await ssrf.check(data.url, allow_private=state.settings.webhook_allow_private)
        change = await state.writes.apply(service.create_endpoint, data, actor=admin.name)
        created.append(change.secret or "")
        return f"Webhook to {data.url} added."

    return await _after(request, state, admin, change, form="add-webhook", secret=created)


@router.post("/{webhook_id}/test", response_class=HTMLResponse)
async def test(
    request: Request, state: StateDep, admin: Admin, webhook_id: uuid.UUID
) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.send_test, webhook_id, actor=admin.name)
        state.deliveries_queued.set()
        return "Test ping queued: it shows in the delivery log in a moment."

    return await _after(request, state, admin, change, selected=webhook_id)


@router.post("/{webhook_id}/enabled", response_class=HTMLResponse)
async def set_enabled(
    request: Request, state: StateDep, admin: Admin, webhook_id: uuid.UUID, enabled: FormText
) -> HTMLResponse:
    async def change() -> str:
        on = enabled == "true"
        await state.writes.apply(
            service.update_endpoint, webhook_id, WebhookUpdate(enabled=on), actor=admin.name
        )
        return "Webhook enabled." if on else "Webhook disabled."

    return await _after(request, state, admin, change, selected=webhook_id)


@router.post("/{webhook_id}/delete", response_class=HTMLResponse)
async def delete(
    request: Request, state: StateDep, admin: Admin, webhook_id: uuid.UUID
) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.delete_endpoint, webhook_id, actor=admin.name)
        return "Webhook removed, with its delivery log."

    return await _after(request, state, admin, change)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_class=HTMLResponse)
async def redeliver(
    request: Request, state: StateDep, admin: Admin, webhook_id: uuid.UUID, delivery_id: int
) -> HTMLResponse:
    async def change() -> str:
        await state.writes.apply(service.redeliver, webhook_id, delivery_id, actor=admin.name)
        state.deliveries_queued.set()
        return f"Delivery {delivery_id} queued again."

    return await _after(request, state, admin, change, selected=webhook_id)


def _first_error(invalid: Exception) -> str:
    if isinstance(invalid, ValidationError):
        error = invalid.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        return f"{field}: {error['msg']}"
    return str(invalid)


async def _after(
    request: Request,
    state: AppState,
    admin: Identity,
    change: Callable[[], Awaitable[str]],
    *,
    form: str = "",
    secret: list[str] | None = None,
    selected: uuid.UUID | None = None,
) -> HTMLResponse:
    try:
        notice = await change()
    except DomainError as refused:
        return await _page(
            request, state, admin, error=refused.message, form=form, status_code=refused.status_code
        )
    return await _page(
        request,
        state,
        admin,
        notice=notice,
        secret=secret[0] if secret else None,
        selected=selected,
    )


async def _page(
    request: Request,
    state: AppState,
    admin: Identity,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: str = "",
    secret: str | None = None,
    selected: uuid.UUID | None = None,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    shown = request.query_params.get("webhook")
    async with state.db.reading() as session:
        endpoints = await service.list_endpoints(session)
        if selected is None and shown:
            selected = next((e.id for e in endpoints if str(e.id) == shown), None)
        if selected is None and endpoints:
            selected = endpoints[0].id
        log = None
        if selected is not None and any(e.id == selected for e in endpoints):
            log = await service.list_deliveries(session, selected, limit=DELIVERIES_SHOWN)
    context = {
        "operator": admin,
        "endpoints": endpoints,
        "selected": selected,
        "log": log,
        "event_types": [type.value for type in EventType],
        "severities": [severity.value for severity in Severity],
        "notice": notice,
        "error": error,
        "error_form": form,
        "secret": secret,
    }
    return templates.TemplateResponse(request, "webhooks.html", context, status_code=status_code)
