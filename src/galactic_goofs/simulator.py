"""The fault simulator: every so often a random nominal spacecraft breaks.

It runs on one instance at a time. The instances share a lease in the database; the holder
renews it while it lives and checks it again inside each malfunction's transaction, so an
instance that lost the lease (paused, partitioned) cannot fire after another has taken over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from galactic_goofs import lease
from galactic_goofs.fleet import service
from galactic_goofs.instance import instance_id
from galactic_goofs.state import AppState

log = logging.getLogger(__name__)

LEASE_NAME = "fault-simulator"
ACTOR = "simulator"


@dataclass
class FaultSimulator:
    state: AppState
    interval: float
    lease_ttl: float
    holder: str = field(default_factory=instance_id)
    leading: bool = False
    next_fire: float = 0.0

    async def run(self) -> None:
        tick = min(self.interval, self.lease_ttl / 3)
        self.next_fire = time.monotonic() + self.interval
        try:
            while True:
                await asyncio.sleep(max(0.0, min(tick, self.next_fire - time.monotonic())))
                try:
                    await self.renew()
                    if self.leading and time.monotonic() >= self.next_fire:
                        self.next_fire = time.monotonic() + self.interval
                        await self.fire()
                except Exception as error:
                    log.warning("fault simulator step failed: %s", error)
        finally:
            if self.leading:
                await asyncio.shield(self._release())

    async def fire(self) -> None:
        change = await self.state.writes.apply(
            service.malfunction_random, actor=ACTOR, rng=self.state.rng, fence=self._still_leading
        )
        if change is not None and change.spacecraft.fault is not None:
            fault = change.spacecraft.fault
            log.info(
                "oops: %s (%s, %s): %s",
                change.spacecraft.name,
                fault.subsystem.value,
                fault.severity.value,
                fault.description,
            )

    def _still_leading(self, session: Session) -> bool:
        return lease.is_held(session, LEASE_NAME, self.holder)

    async def renew(self) -> None:
        leading = await self.state.db.write(lease.acquire, LEASE_NAME, self.holder, self.lease_ttl)
        if leading != self.leading:
            log.info(
                "fault simulator %s on %s", "leading" if leading else "standing by", self.holder
            )
            if leading:
                # The previous holder may have fired just before its lease ran out; a full
                # interval from taking over keeps fires an interval apart across the handover.
                self.next_fire = time.monotonic() + self.interval
        self.leading = leading

    async def _release(self) -> None:
        try:
            await self.state.db.write(lease.release, LEASE_NAME, self.holder)
        except Exception as error:
            log.warning("could not release the simulator lease: %s", error)
