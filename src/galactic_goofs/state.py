"""What one running instance holds, built by `create_app` and reached from any request.

Free of FastAPI: the simulator, the consumers and the command line use it as they are.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from galactic_goofs.analytics.cache import FiguresCache
from galactic_goofs.auth.authenticator import Authenticator
from galactic_goofs.db import Database
from galactic_goofs.events.broker import Broker
from galactic_goofs.events.hub import Hub
from galactic_goofs.events.write_path import WritePath
from galactic_goofs.metrics.process import ProcessMetrics
from galactic_goofs.orbits.cache import ContactCache, SatrecCache
from galactic_goofs.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    broker: Broker
    hub: Hub
    rng: random.Random = field(default_factory=random.Random)
    orbits: SatrecCache = field(default_factory=SatrecCache)
    """Parsed element sets, for the fleet's positions."""
    contacts: ContactCache = field(default_factory=ContactCache)
    """Ground-station contacts found lately, for the spacecraft page and the triage queue."""
    metrics: ProcessMetrics = field(default_factory=ProcessMetrics)
    analytics: FiguresCache = field(default_factory=FiguresCache)
    """Fleet figures computed in the last few seconds (`analytics.cache`)."""
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    """Names this process to stream clients (`X-Goofs-Instance`), so one can tell which of
    several workers or instances serves it; random, so it tells nothing about the host."""
    deliveries_queued: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when webhook deliveries are queued here (by events, a test ping, a redelivery): the
    sender, if this instance runs it, starts on them without waiting for its next poll."""
    writes: WritePath = field(init=False)
    """Every change goes through `writes.apply(service_function, ...)`."""
    auth: Authenticator = field(init=False)

    def __post_init__(self) -> None:
        self.writes = WritePath(self.db, self.broker)
        self.auth = Authenticator(self.db)


def get_state(connection: HTTPConnection) -> AppState:
    """The state of the app serving this request (or stream)."""
    state: AppState = connection.app.state.goofs
    return state
