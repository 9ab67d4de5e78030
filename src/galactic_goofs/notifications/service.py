"""Webhook endpoints and their delivery log: every rule about them, and their changes.

Changes are write functions for `state.writes.apply`. They append no event to the fleet's log
(whose events all concern a spacecraft, and which every viewer reads); each leaves an entry in
the admin audit log instead, without the secret.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from galactic_goofs.auth.models import AuditEntry
from galactic_goofs.db import Base, utcnow
from galactic_goofs.errors import Conflict, NotFound
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    DeliveryTally,
    WebhookEndpoint,
)
from galactic_goofs.notifications.schemas import (
    TEST_EVENT,
    AttemptRead,
    DeliveryPage,
    DeliveryRead,
    RotateSecret,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)

SECRET_PREFIX = "whsec_"
DeliveryStatusName = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class WebhookChange:
    webhook: WebhookRead
    secret: str | None = None
    """Only when the change made a secret: shown once."""
    events: Sequence[EventRead] = ()


@dataclass(frozen=True)
class DeliveryChange:
    delivery: DeliveryRead
    events: Sequence[EventRead] = ()


def new_secret() -> str:
    """24 random bytes, base64, with the Standard Webhooks prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def body(type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    """The JSON a receiver gets, serialised once: retries sign and send these same bytes."""
    document = {"type": type, "timestamp": timestamp.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def event_body(event: EventRead) -> str:
    return body(str(event.type), event.occurred_at, event.model_dump(mode="json"))


def _audit(
    session: Session, actor: str, action: str, endpoint: WebhookEndpoint, detail: str = ""
) -> None:
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=actor[:60],
            action=action,
            target=f"webhook {str(endpoint.id)[:8]}",
            detail=detail[:200],
        )
    )


def _endpoint(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook with id {endpoint_id}")
    return endpoint


def create_endpoint(session: Session, data: WebhookCreate, *, actor: str) -> WebhookChange:
    """A new endpoint (its URL already checked by `ssrf.check`) with a fresh secret."""
    now = utcnow()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=data.url,
        events=_event_filter(data.events),
        min_severity=data.min_severity,
        format=data.format,
        description=data.description,
        enabled=True,
        disabled_reason=None,
        secret=secret,
        previous_secret=None,
        previous_secret_expires_at=None,
        created_at=now,
        updated_at=now,
        last_success_at=None,
        failures_in_a_row=0,
    )
    session.add(endpoint)
    session.flush()
    _audit(
        session, actor, "webhook.added", endpoint, f"{data.url} for {', '.join(endpoint.events)}"
    )
    return WebhookChange(webhook=WebhookRead.model_validate(endpoint), secret=secret)


def _event_filter(events: Sequence[str]) -> list[str]:
    types = sorted({str(type) for type in events})
    return ["*"] if "*" in types else types


def update_endpoint(
    session: Session, endpoint_id: uuid.UUID, data: WebhookUpdate, *, actor: str
) -> WebhookChange:
    endpoint = _endpoint(session, endpoint_id)
    changed = data.model_dump(exclude_unset=True)
    if "url" in changed and data.url is not None:
        endpoint.url = data.url
    if "events" in changed and data.events is not None:
        endpoint.events = _event_filter(data.events)
    if "min_severity" in changed:
        endpoint.min_severity = data.min_severity
    if "format" in changed and data.format is not None:
        endpoint.format = data.format
    if "description" in changed and data.description is not None:
        endpoint.description = data.description
    if "enabled" in changed and data.enabled is not None:
        endpoint.enabled = data.enabled
        if data.enabled:
            endpoint.disabled_reason = None
            endpoint.failures_in_a_row = 0
        else:
            endpoint.disabled_reason = f"disabled by {actor}"
    endpoint.updated_at = utcnow()
    _audit(session, actor, "webhook.changed", endpoint, ", ".join(sorted(changed)))
    return WebhookChange(webhook=WebhookRead.model_validate(endpoint))


def delete_endpoint(session: Session, endpoint_id: uuid.UUID, *, actor: str) -> WebhookChange:
    """Removes it with its delivery log; nothing more is sent to it."""
    endpoint = _endpoint(session, endpoint_id)
    read = WebhookRead.model_validate(endpoint)
    session.delete(endpoint)  # the database removes its deliveries and attempts (cascade)
    _audit(session, actor, "webhook.removed", endpoint, endpoint.url)
    return WebhookChange(webhook=read)


def rotate_secret(
    session: Session, endpoint_id: uuid.UUID, request: RotateSecret, *, actor: str
) -> WebhookChange:
    """A new secret; the old one keeps signing beside it for the grace period."""
    endpoint = _endpoint(session, endpoint_id)
    now = utcnow()
    secret = new_secret()
    if request.grace_minutes > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(minutes=request.grace_minutes)
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = secret
    endpoint.updated_at = now
    _audit(session, actor, "webhook.secret_rotated", endpoint, f"grace {request.grace_minutes} min")
    return WebhookChange(webhook=WebhookRead.model_validate(endpoint), secret=secret)


def signing_secrets(endpoint: Any, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the old one in grace."""
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        keys.append(endpoint.previous_secret)
    return keys


def send_test(session: Session, endpoint_id: uuid.UUID, *, actor: str) -> DeliveryChange:
    """A ping to the endpoint, through the outbox like any delivery (so it is logged)."""
    endpoint = _endpoint(session, endpoint_id)
    now = utcnow()
    delivery = Delivery(
        webhook_id=new_webhook_id(),
        endpoint_id=endpoint.id,
        event_seq=None,
        event_type=TEST_EVENT,
        body=body(
            TEST_EVENT,
            now,
            {"message": "Test ping from Galactic Goofs: if you can read this, it works."},
        ),
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    _audit(session, actor, "webhook.tested", endpoint)
    return DeliveryChange(delivery=_delivery_read(delivery, []))


def redeliver(
    session: Session, endpoint_id: uuid.UUID, delivery_id: int, *, actor: str
) -> DeliveryChange:
    """Send it again now, with its own webhook-id and a fresh retry schedule."""
    endpoint = _endpoint(session, endpoint_id)
    delivery = session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.endpoint_id == endpoint_id)
        .with_for_update()
    )
    if delivery is None:
        raise NotFound(f"this webhook has no delivery with id {delivery_id}")
    if not endpoint.enabled:
        raise Conflict("the webhook is disabled: enable it before redelivering")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    _audit(session, actor, "webhook.redelivered", endpoint, delivery.webhook_id)
    return DeliveryChange(delivery=_delivery_read(delivery, _attempts(session, [delivery.id])))


def _attempts(session: Session, ids: list[int]) -> list[DeliveryAttempt]:
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(ids))
            .order_by(DeliveryAttempt.id)
        )
    )


def _delivery_read(delivery: Delivery, attempts: Sequence[DeliveryAttempt]) -> DeliveryRead:
    read = DeliveryRead.model_validate(delivery)
    return read.model_copy(
        update={"attempt_log": [AttemptRead.model_validate(attempt) for attempt in attempts]}
    )


async def list_endpoints(session: AsyncSession) -> list[WebhookRead]:
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return [WebhookRead.model_validate(row) for row in rows]


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookRead:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook with id {endpoint_id}")
    return WebhookRead.model_validate(endpoint)


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first, each with its attempts."""
    await get_endpoint(session, endpoint_id)
    where = [Delivery.endpoint_id == endpoint_id]
    if status is not None:
        where.append(Delivery.status == status)
    total = await session.scalar(select(func.count()).select_from(Delivery).where(*where)) or 0
    rows = list(
        await session.scalars(
            select(Delivery).where(*where).order_by(Delivery.id.desc()).limit(limit).offset(offset)
        )
    )
    attempts: dict[int, list[DeliveryAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(list(attempts)))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return DeliveryPage(
        items=[_delivery_read(row, attempts[row.id]) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, for `record_attempt`."""

    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None = None
    """Seconds the receiver asked for (429/503 with Retry-After)."""


OUTCOMES = ("delivered", "retry", "failed", "gone")
"""What an attempt comes to: 2xx; a failure with a retry to come; a failure with none left;
410 Gone, which disables the endpoint."""


def record_attempt(
    session: Session, delivery_id: int, outcome: Outcome, schedule: Sequence[float]
) -> str:
    """`record_attempts` for one."""
    return record_attempts(session, [(delivery_id, outcome)], schedule).get(delivery_id, "gone")


_DELIVERIES = Base.metadata.tables[Delivery.__tablename__]
_ENDPOINTS = Base.metadata.tables[WebhookEndpoint.__tablename__]
_SETTLE_COLUMNS = (
    "attempts",
    "delivered_at",
    "status",
    "next_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_latency_ms",
    "last_error",
)
"""A delivery's columns `_settle` writes (the first two it reads as well)."""
_HEALTH = ("failures_in_a_row", "last_success_at", "enabled", "disabled_reason")
"""An endpoint's columns an attempt reads and writes."""
# The sender's bookkeeping, built once: it runs for every handful of deliveries sent, where
# building statements and the ORM's bulk layer cost more than the database itself.
_PENDING_OF = (
    select(
        _DELIVERIES.c.id,
        _DELIVERIES.c.endpoint_id,
        *(_DELIVERIES.c[n] for n in _SETTLE_COLUMNS[:2]),
    )
    .where(
        _DELIVERIES.c.id.in_(bindparam("ids", expanding=True)),
        _DELIVERIES.c.status == DeliveryStatus.PENDING,
    )
    .with_for_update()
)
_HEALTH_OF = (
    select(_ENDPOINTS.c.id, *(_ENDPOINTS.c[name] for name in _HEALTH))
    .where(_ENDPOINTS.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
_SETTLE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("key"))
    .values({name: bindparam(name) for name in _SETTLE_COLUMNS})
)
_SET_HEALTH = (
    update(_ENDPOINTS)
    .where(_ENDPOINTS.c.id == bindparam("key"))
    .values({name: bindparam(name) for name in _HEALTH})
)
_LOG_ATTEMPT = insert(Base.metadata.tables[DeliveryAttempt.__tablename__])


def record_attempts(
    session: Session, outcomes: Sequence[tuple[int, Outcome]], schedule: Sequence[float]
) -> dict[int, str]:
    """Log each attempt and decide what follows: delivered, retry later, failed, or the
    endpoint disabled (410); and count them by outcome. `schedule` is the waits before the
    second, third, ... attempt. One transaction for many, in a few multi-row statements, so
    the sender's bookkeeping costs a commit per handful of deliveries, not one each. Returns
    each delivery's outcome; one no longer pending (removed, or settled by a sender that lost
    its lease meanwhile) is left out."""
    connection = session.connection()
    ids = [delivery_id for delivery_id, _ in outcomes]
    deliveries = {row.id: row._asdict() for row in connection.execute(_PENDING_OF, {"ids": ids})}
    endpoints = {
        row.id: row._asdict()
        for row in connection.execute(
            _HEALTH_OF, {"ids": list({d["endpoint_id"] for d in deliveries.values()})}
        )
    }
    now = utcnow()
    results: dict[int, str] = {}
    attempts = []
    for delivery_id, outcome in outcomes:
        delivery = deliveries.get(delivery_id)
        if delivery is None or delivery_id in results:
            continue
        result = _settle(delivery, endpoints[delivery["endpoint_id"]], outcome, schedule, now)
        results[delivery_id] = result
        attempts.append(
            {
                "delivery_id": delivery_id,
                "at": now,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "error": outcome.error,
                "outcome": result,
            }
        )
    if not attempts:
        return results
    connection.execute(_SETTLE, [_values(deliveries[id], _SETTLE_COLUMNS) for id in results])
    connection.execute(_SET_HEALTH, [_values(e, _HEALTH) for e in endpoints.values()])
    connection.execute(_LOG_ATTEMPT, attempts)
    _count(session, Counter(results.values()))
    return results


def _values(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """A row's `names` and its id as `key`, the parameters of `_SETTLE` and `_SET_HEALTH` (a
    column's own name would be set as well)."""
    return {name: row[name] for name in names} | {"key": row["id"]}


def _settle(
    delivery: dict[str, Any],
    endpoint: dict[str, Any],
    outcome: Outcome,
    schedule: Sequence[float],
    now: datetime,
) -> str:
    """One attempt's effect on its delivery's and its endpoint's columns (as dicts)."""
    delivery["attempts"] += 1
    delivery["last_attempt_at"] = now
    delivery["last_status_code"] = code = outcome.status_code
    delivery["last_latency_ms"] = outcome.latency_ms
    delivery["last_error"] = outcome.error
    delivery["next_attempt_at"] = None
    if code is not None and 200 <= code < 300:
        delivery["status"] = DeliveryStatus.DELIVERED
        delivery["delivered_at"] = now
        endpoint["last_success_at"] = now
        endpoint["failures_in_a_row"] = 0
        return "delivered"
    endpoint["failures_in_a_row"] += 1
    if code == 410:
        delivery["status"] = DeliveryStatus.FAILED
        endpoint["enabled"] = False
        endpoint["disabled_reason"] = (
            f"the receiver answered 410 Gone at {now:%Y-%m-%d %H:%M:%S} UTC"
        )
        return "gone"
    if delivery["attempts"] > len(schedule):
        delivery["status"] = DeliveryStatus.FAILED
        return "failed"
    wait = schedule[delivery["attempts"] - 1]
    if outcome.retry_after is not None:
        wait = outcome.retry_after
    delivery["status"] = DeliveryStatus.PENDING
    delivery["next_attempt_at"] = now + timedelta(seconds=wait)
    return "retry"


def _tally(insert: Any) -> Any:
    statement = insert(DeliveryTally)
    return statement.on_conflict_do_update(
        index_elements=[DeliveryTally.outcome],
        set_={"count": DeliveryTally.count + statement.excluded.count},
    )


_TALLY = {"postgresql": _tally(postgresql.insert), "sqlite": _tally(sqlite.insert)}


def _count(session: Session, counts: Counter[str]) -> None:
    session.connection().execute(
        _TALLY[session.get_bind().dialect.name],
        [{"outcome": outcome, "count": count} for outcome, count in sorted(counts.items())],
    )


async def tallies(session: AsyncSession) -> dict[str, int]:
    """Attempts ever made, by outcome (every outcome, 0 for those never seen)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome, count in await session.execute(select(DeliveryTally.outcome, DeliveryTally.count)):
        counts[outcome] = int(count)
    return counts


PRUNE_BATCH = 1000


def prune(session: Session, older_than: datetime) -> int:
    """Removes up to `PRUNE_BATCH` settled deliveries (and their attempts) made before
    `older_than`; pending ones stay, however old, until they settle. Returns how many."""
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.created_at < older_than, Delivery.status != DeliveryStatus.PENDING)
            .order_by(Delivery.created_at)
            .limit(PRUNE_BATCH)
        )
    )
    if ids:
        # The attempts by hand: not every database enforces the cascade (SQLite needs a pragma).
        session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
        session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
    return len(ids)


@dataclass(frozen=True)
class Due:
    """A delivery to attempt now, with what the sender needs of its endpoint."""

    id: int
    webhook_id: str
    endpoint_id: uuid.UUID
    body: str
    url: str
    format: str
    secrets: list[str]


_DUE = (
    # Columns, not entities, and built once: this runs for every few deliveries sent.
    select(
        Delivery.id,
        Delivery.webhook_id,
        Delivery.body,
        WebhookEndpoint.id.label("endpoint_id"),
        WebhookEndpoint.url,
        WebhookEndpoint.format,
        WebhookEndpoint.secret,
        WebhookEndpoint.previous_secret,
        WebhookEndpoint.previous_secret_expires_at,
    )
    .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
    .where(
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.next_attempt_at <= bindparam("now"),
        WebhookEndpoint.enabled.is_(True),
        Delivery.endpoint_id.not_in(bindparam("skip_endpoints", expanding=True)),
        Delivery.id.not_in(bindparam("skip", expanding=True)),
    )
    .order_by(Delivery.next_attempt_at, Delivery.id)
    .limit(bindparam("limit"))
)


def due(
    session: Session, *, limit: int, skip_endpoints: Collection[uuid.UUID], skip: Collection[int]
) -> list[Due]:
    """Pending deliveries whose time has come, oldest due first, on enabled endpoints.

    A function of a write session: see `Database.read_in_place`."""
    now = utcnow()
    rows = session.connection().execute(
        _DUE,
        {"now": now, "limit": limit, "skip_endpoints": list(skip_endpoints), "skip": list(skip)},
    )
    return [
        Due(
            id=row.id,
            webhook_id=row.webhook_id,
            endpoint_id=row.endpoint_id,
            body=row.body,
            url=row.url,
            format=row.format,
            secrets=signing_secrets(row, now),
        )
        for row in rows
    ]


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == DeliveryStatus.PENDING)
    )
