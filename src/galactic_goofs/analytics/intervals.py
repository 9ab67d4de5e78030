"""The intervals analytics measure that the live tables forget, kept by a durable consumer.

A living spacecraft's existence and its current maintenance window are on its own row; an
anomaly keeps its own interval. What is lost when a row changes is kept here from the log: a
deleted spacecraft's lifetime (`DeletedSpacecraft`) and every maintenance window that ended
(`MaintenancePeriod`). Each event is handled once, in the transaction that moves the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from galactic_goofs.analytics.models import DeletedSpacecraft, MaintenancePeriod
from galactic_goofs.events.schemas import EventRead, EventType


class AvailabilityIntervals:
    name = "analytics-intervals"
    start: Literal["beginning", "now"] = "beginning"
    batch_size = 500

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        for event in events:
            if event.type == EventType.MAINTENANCE_ENDED:
                _ended(session, event, event.data.get("maintenance"))
            elif event.type == EventType.DELETED:
                craft = event.data["spacecraft"]
                window = craft.get("maintenance")
                if window and window.get("active"):
                    _ended(session, event, window)
                session.merge(
                    DeletedSpacecraft(
                        spacecraft_id=event.spacecraft_id,
                        name=craft["name"],
                        cospar_id=craft["cospar_id"],
                        created_at=datetime.fromisoformat(craft["created_at"]),
                        deleted_at=event.occurred_at,
                    )
                )


def _ended(session: Session, event: EventRead, window: dict[str, Any] | None) -> None:
    """The window from its start to when it really ended (early, by hand, or on time)."""
    if not window:
        return
    started_at = min(datetime.fromisoformat(window["starts_at"]), event.occurred_at)
    session.add(
        MaintenancePeriod(
            spacecraft_id=event.spacecraft_id, started_at=started_at, ended_at=event.occurred_at
        )
    )
