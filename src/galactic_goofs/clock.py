"""Changes that happen because their time has come: maintenance windows starting and ending,
shelved anomalies coming back.

Like the fault simulator, on one instance at a time: the instances share a lease (`lease`), and
the holder checks it again inside each change's transaction, so a window ends exactly once
however many instances run. Each change is its own transaction with its event, through the
write path.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from galactic_goofs import lease
from galactic_goofs.anomalies import service as anomalies
from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.db import utcnow
from galactic_goofs.fleet import maintenance
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.instance import instance_id
from galactic_goofs.state import AppState

log = logging.getLogger(__name__)

LEASE_NAME = "clock"
ACTOR = "clock"
MAX_CHANGES_PER_TICK = 1000
"""A bound on one tick's work, so a backlog is worked off in turns that leave the loop free."""


@dataclass
class Clock:
    state: AppState
    interval: float
    lease_ttl: float
    holder: str = field(default_factory=instance_id)
    leading: bool = False

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.tick()
                except Exception as error:
                    log.warning("clock tick failed: %s", error)
                await asyncio.sleep(self.interval)
        finally:
            if self.leading:
                await asyncio.shield(self._release())

    async def tick(self) -> int:
        """Renew the lease and, while leading, make every change that is due; returns how many."""
        self.leading = await self.state.db.write(
            lease.acquire, LEASE_NAME, self.holder, self.lease_ttl
        )
        made = 0
        if not self.leading or not await self._anything_due():
            return made
        for due in (maintenance.advance, anomalies.unshelve_due):
            while self.leading and made < MAX_CHANGES_PER_TICK:
                change = await self.state.writes.apply(due, actor=ACTOR, fence=self._still_leading)
                if change is None:
                    break
                made += 1
                await asyncio.sleep(0)
        return made

    async def _anything_due(self) -> bool:
        """A read first: a change claims the log's next seq, which every writer waits for."""
        now = utcnow()
        async with self.state.db.reading() as session:
            window = await session.scalar(
                select(Spacecraft.id)
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
                .limit(1)
            )
            shelf = await session.scalar(
                select(Anomaly.id)
                .where(Anomaly.state == AnomalyState.SHELVED, Anomaly.shelved_until <= now)
                .limit(1)
            )
        return window is not None or shelf is not None

    def _still_leading(self, session: Session) -> bool:
        return lease.is_held(session, LEASE_NAME, self.holder)

    async def _release(self) -> None:
        try:
            await self.state.db.write(lease.release, LEASE_NAME, self.holder)
        except Exception as error:
            log.warning("could not release the clock's lease: %s", error)
