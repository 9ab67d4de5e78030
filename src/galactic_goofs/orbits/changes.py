"""Setting a spacecraft's element set: a change of the spacecraft, with its event."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from galactic_goofs.db import utcnow
from galactic_goofs.errors import Conflict
from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.models import Spacecraft
from galactic_goofs.orbits.elements import Elements
from galactic_goofs.orbits.models import ElementSet
from galactic_goofs.precompiled import session_writer


def set_orbit(
    session: Session, spacecraft_id: uuid.UUID, given: Elements, *, actor: str
) -> fleet.Change:
    """Replace the spacecraft's element set; its NORAD number must be the spacecraft's (a
    spacecraft without one takes it)."""
    seq = events.claim_next_seq(session_writer(session))
    craft = fleet.load(session, spacecraft_id)
    return set_orbit_of(session, seq, craft, given, actor)


def set_orbit_of(
    session: Session, seq: int, craft: Spacecraft, given: Elements, actor: str
) -> fleet.Change:
    if craft.norad_id is None:
        fleet.ensure_norad_id_free(session, given.norad_id)
        craft.norad_id = given.norad_id
    elif craft.norad_id != given.norad_id:
        # Good elements, for another spacecraft than this one: the fleet's state is in the way.
        raise Conflict(
            f"these elements are for NORAD {given.norad_id}, but {craft.name} is "
            f"NORAD {craft.norad_id}"
        )
    now = utcnow()
    current = session.get(ElementSet, craft.id)
    if current is None:
        current = ElementSet(spacecraft_id=craft.id)
        session.add(current)
    current.source = given.source
    current.raw = given.raw
    current.epoch = given.epoch
    current.norad_id = given.norad_id
    current.updated_at = now
    orbit = {
        "source": given.source.value,
        "epoch": given.epoch.isoformat(),
        "norad_id": given.norad_id,
    }
    fleet.touch(craft)
    return fleet.record(session, seq, EventType.ORBIT_UPDATED, craft, actor, orbit=orbit)
