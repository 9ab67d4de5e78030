"""Maintenance windows: planned work during which a spacecraft is left alone.

The simulator never breaks a spacecraft inside its window (`service.malfunction_random`), an
operator's malfunction there is flagged planned, and analytics count the time as planned.
A window set to start later is only a plan (a `spacecraft.updated` event) until its time comes;
then the instance holding the clock's lease (`galactic_goofs.clock`) records its start, and at
its end its end, each as its own change with its event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict, Unprocessable
from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.fleet.schemas import MaintenanceRequest
from galactic_goofs.fleet.service import Change, load, record, to_read, touch
from galactic_goofs.precompiled import session_writer

Fence = Callable[[Session], bool]


def set_window(
    session: Session, spacecraft_id: uuid.UUID, window: MaintenanceRequest, *, actor: str
) -> Change:
    """Put it in maintenance now (or from `starts_at`) until `ends_at`; replaces any window."""
    seq = events.claim_next_seq(session_writer(session))
    craft = load(session, spacecraft_id)
    now = utcnow()
    if window.ends_at <= now:
        raise Unprocessable("ends_at is in the past; a maintenance window must end in the future")
    before = _shown(craft)
    was_started = craft.maintenance_started
    starts_now = window.starts_at is None or window.starts_at <= now
    craft.maintenance_starts_at = window.starts_at or now
    craft.maintenance_ends_at = window.ends_at
    craft.maintenance_reason = window.reason
    craft.maintenance_started = starts_now
    touch(craft)
    if starts_now and not was_started:
        return record(session, seq, EventType.MAINTENANCE_STARTED, craft, actor)
    changes = {"maintenance": [before, _shown(craft)]}
    return record(session, seq, EventType.UPDATED, craft, actor, changes=changes)


def end_window(session: Session, spacecraft_id: uuid.UUID, *, actor: str) -> Change:
    """End its maintenance now, or call off a window that has not started yet."""
    seq = events.claim_next_seq(session_writer(session))
    craft = load(session, spacecraft_id)
    if craft.maintenance_ends_at is None:
        raise Conflict(f"{craft.name} is not in maintenance and has none planned")
    return _end(session, seq, craft, actor)


def advance(session: Session, *, actor: str, fence: Fence | None = None) -> Change | None:
    """Start or end one window whose time has come, if any (and `fence` still allows it)."""
    seq = events.claim_next_seq(session_writer(session))
    craft = None
    now = utcnow()
    if fence is None or fence(session):
        craft = session.scalar(
            select(Spacecraft)
            .where(
                Spacecraft.maintenance_ends_at.is_not(None),
                or_(
                    Spacecraft.maintenance_ends_at <= now,
                    and_(
                        Spacecraft.maintenance_started.is_(False),
                        Spacecraft.maintenance_starts_at <= now,
                    ),
                ),
            )
            .order_by(Spacecraft.maintenance_ends_at)
            .limit(1)
        )
    if craft is None:
        session.rollback()  # hands the seq back: nothing happened
        return None
    if not craft.maintenance_started:
        # Its start is recorded even when its end is also past: the two belong together.
        craft.maintenance_started = True
        touch(craft)
        return record(session, seq, EventType.MAINTENANCE_STARTED, craft, actor)
    return _end(session, seq, craft, actor)


def _end(session: Session, seq: int, craft: Spacecraft, actor: str) -> Change:
    before = _shown(craft)
    started = craft.maintenance_started
    craft.maintenance_starts_at = None
    craft.maintenance_ends_at = None
    craft.maintenance_reason = None
    craft.maintenance_started = False
    touch(craft)
    if started:
        return record(session, seq, EventType.MAINTENANCE_ENDED, craft, actor, maintenance=before)
    changes = {"maintenance": [before, None]}
    return record(session, seq, EventType.UPDATED, craft, actor, changes=changes)


def _shown(craft: Spacecraft) -> dict[str, Any] | None:
    window = to_read(craft).maintenance
    return window.model_dump(mode="json") if window is not None else None
