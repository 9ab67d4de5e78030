"""The delivery log is kept to `GOOFS_WEBHOOK_LOG_DAYS`: settled deliveries older than that go,
with their attempts; pending ones stay whatever their age; the counter by outcome stays."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from galactic_goofs.db import Database, utcnow
from galactic_goofs.notifications import service
from galactic_goofs.notifications.dispatch import Sender
from galactic_goofs.notifications.models import Delivery, DeliveryAttempt
from galactic_goofs.notifications.schemas import WebhookCreate

DAY = timedelta(days=1)


async def _endpoint(db: Database) -> service.WebhookChange:
    return await db.write(
        service.create_endpoint,
        WebhookCreate(url="https://receiver.example/hook", events=["*"]),
        actor="test",
    )


def _delivery(session: Session, endpoint_id: object, seq: int, created_at: datetime) -> int:
    delivery = Delivery(
        webhook_id=service.new_webhook_id(),
        endpoint_id=endpoint_id,
        event_seq=seq,
        event_type="spacecraft.malfunctioned",
        body="{}",
        status="pending",
        attempts=0,
        created_at=created_at,
        next_attempt_at=created_at,
    )
    session.add(delivery)
    session.flush()
    return delivery.id


async def _log(db: Database, ages_and_answers: list[tuple[timedelta, int | None]]) -> list[int]:
    """A delivery per (age, answer): answered with that status once (None: never attempted)."""
    endpoint = (await _endpoint(db)).webhook.id
    now = utcnow()
    ids = []
    for seq, (age, _) in enumerate(ages_and_answers, start=1):
        ids.append(await db.write(_delivery, endpoint, seq, now - age))
    outcomes = [
        (delivery_id, service.Outcome(answer, 5, None if answer == 200 else "HTTP 500"))
        for delivery_id, (_, answer) in zip(ids, ages_and_answers, strict=True)
        if answer is not None
    ]
    await db.write(service.record_attempts, outcomes, [60.0])
    return ids


async def _remaining(db: Database) -> tuple[set[int], int]:
    async with db.reading() as session:
        deliveries = set(await session.scalars(select(Delivery.id)))
        attempts = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
    return deliveries, attempts or 0


async def test_settled_deliveries_older_than_the_limit_leave_with_their_attempts(
    db: Database,
) -> None:
    old_delivered, old_retrying, old_untried, new_delivered = await _log(
        db, [(20 * DAY, 200), (20 * DAY, 500), (20 * DAY, None), (1 * DAY, 200)]
    )
    assert await _remaining(db) == (
        {old_delivered, old_retrying, old_untried, new_delivered},
        3,
    )

    pruned = await db.write(service.prune, utcnow() - 14 * DAY)

    assert pruned == 1
    # Pending ones stay, however old: they still have attempts to come.
    assert await _remaining(db) == ({old_retrying, old_untried, new_delivered}, 2)
    async with db.reading() as session:
        assert (await service.tallies(session))["delivered"] == 2, "the counter only goes up"


async def test_prune_works_in_batches_until_nothing_is_left(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PRUNE_BATCH", 2)
    await _log(db, [(30 * DAY, 200)] * 5)

    assert [await db.write(service.prune, utcnow() - DAY) for _ in range(4)] == [2, 2, 1, 0]
    assert await _remaining(db) == (set(), 0)


def _sender(db: Database, *, leading: bool, log_days: float) -> Sender:
    return Sender(
        db,
        leading=lambda: leading,
        schedule=[60.0],
        timeout=1.0,
        allow_private=False,
        log_days=log_days,
    )


async def test_the_leading_sender_prunes_and_the_others_do_not(db: Database) -> None:
    [old] = await _log(db, [(20 * DAY, 200)])

    await _sender(db, leading=False, log_days=14)._prune_now_and_then()
    await _sender(db, leading=True, log_days=0)._prune_now_and_then()  # 0 keeps everything
    assert await _remaining(db) == ({old}, 1)

    await _sender(db, leading=True, log_days=14)._prune_now_and_then()
    assert await _remaining(db) == (set(), 0)
