"""Admin API for webhook endpoints and their delivery log. Admins only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from galactic_goofs.auth.dependencies import Admin, require_admin
from galactic_goofs.deps import ReadSession, StateDep
from galactic_goofs.notifications import service, ssrf
from galactic_goofs.notifications.schemas import (
    DeliveryPage,
    DeliveryRead,
    RotateSecret,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from galactic_goofs.state import AppState

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], dependencies=[Depends(require_admin)]
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No webhook with that id"}}
NO_DELIVERY: dict[int | str, dict[str, Any]] = {
    404: {"description": "No webhook with that id, or no such delivery of it"},
    409: {"description": "The webhook is disabled"},
}
WebhookId = Annotated[uuid.UUID, Path(description="The webhook endpoint's id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _checked(state: AppState, url: str) -> None:
    """The SSRF guard's refusal as a validation error on `url`, shown next to the field."""
    try:
        await ssrf.check(url, allow_private=state.settings.webhook_allow_private)
    except ssrf.RefusedUrl as refused:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "url"), "msg": refused.message, "input": url}]
        ) from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    data: WebhookCreate, state: StateDep, admin: Admin, response: Response
) -> WebhookCreated:
    """Register an endpoint. The answer carries its signing secret, this once."""
    await _checked(state, data.url)
    change = await state.writes.apply(service.create_endpoint, data, actor=admin.name)
    response.headers["Location"] = f"{router.prefix}/{change.webhook.id}"
    return WebhookCreated(**change.webhook.model_dump(), secret=change.secret or "")


@router.get("")
async def list_webhooks(session: ReadSession) -> list[WebhookRead]:
    return await service.list_endpoints(session)


@router.get("/{webhook_id}", responses=NOT_FOUND)
async def get_webhook(webhook_id: WebhookId, session: ReadSession) -> WebhookRead:
    return await service.get_endpoint(session, webhook_id)


@router.patch("/{webhook_id}", responses=NOT_FOUND)
async def update_webhook(
    webhook_id: WebhookId, data: WebhookUpdate, state: StateDep, admin: Admin
) -> WebhookRead:
    """Change what it receives, or enable it again (which clears why it was disabled)."""
    if data.url is not None:
        await _checked(state, data.url)
    change = await state.writes.apply(service.update_endpoint, webhook_id, data, actor=admin.name)
    return change.webhook


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_webhook(webhook_id: WebhookId, state: StateDep, admin: Admin) -> None:
    """Remove it and its delivery log; nothing more is sent to it."""
    await state.writes.apply(service.delete_endpoint, webhook_id, actor=admin.name)


@router.post("/{webhook_id}/rotate-secret", responses=NOT_FOUND)
async def rotate_secret(
    webhook_id: WebhookId,
    state: StateDep,
    admin: Admin,
    request: Annotated[RotateSecret | None, Body()] = None,
) -> WebhookCreated:
    """A new secret, shown this once; the old one signs beside it for `grace_minutes`."""
    change = await state.writes.apply(
        service.rotate_secret, webhook_id, request or RotateSecret(), actor=admin.name
    )
    return WebhookCreated(**change.webhook.model_dump(), secret=change.secret or "")


@router.post("/{webhook_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=NOT_FOUND)
async def test_webhook(webhook_id: WebhookId, state: StateDep, admin: Admin) -> DeliveryRead:
    """Queue a `webhook.test` ping; its delivery shows in the log like any other."""
    change = await state.writes.apply(service.send_test, webhook_id, actor=admin.name)
    state.deliveries_queued.set()
    return change.delivery


@router.get("/{webhook_id}/deliveries", responses=NOT_FOUND)
async def list_deliveries(
    webhook_id: WebhookId,
    session: ReadSession,
    delivery_status: Annotated[
        service.DeliveryStatusName | None, Query(alias="status", description="Only these")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeliveryPage:
    """Its deliveries, newest first, each with every attempt: status, latency, error."""
    return await service.list_deliveries(
        session, webhook_id, status=delivery_status, limit=limit, offset=offset
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=NO_DELIVERY,
)
async def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, state: StateDep, admin: Admin
) -> DeliveryRead:
    """Send it again now, with the same `webhook-id` and a fresh retry schedule."""
    change = await state.writes.apply(service.redeliver, webhook_id, delivery_id, actor=admin.name)
    state.deliveries_queued.set()
    return change.delivery
