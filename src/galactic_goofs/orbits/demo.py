"""A demo fleet: real spacecraft (names, COSPAR IDs, NORAD numbers), with orbits made up from
the typical elements of their orbit class, not copied element sets. Illustrative: a dot on the
map is where such an orbit would be, not where the real spacecraft is.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.fleet import service as fleet
from galactic_goofs.fleet.importing import ImportBatch
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.fleet.schemas import SpacecraftCreate
from galactic_goofs.orbits import changes
from galactic_goofs.orbits.elements import OmmElements, parse_omm
from galactic_goofs.precompiled import session_writer

MU = 398_600.4418  # km^3/s^2
EARTH_RADIUS = 6378.137
SIDEREAL_DAY_REVS = 1.00273791


@dataclass(frozen=True, slots=True)
class DemoCraft:
    name: str
    cospar_id: str
    norad_id: int
    orbit: str
    """station, leo, sso, meo, geo, molniya, tundra, or deep (no Earth orbit)."""
    altitude_km: float = 0
    inclination: float = 0
    longitude: float = 0
    """For geo: the slot's longitude."""
    broken: bool = False


FLEET = (
    DemoCraft("International Space Station", "1998-067A", 25544, "station", 418, 51.64),
    DemoCraft("Tiangong", "2021-035A", 48274, "station", 385, 41.47),
    DemoCraft("Hubble Space Telescope", "1990-037B", 20580, "leo", 525, 28.47, broken=True),
    DemoCraft("Sentinel-6 Michael Freilich", "2020-086A", 46984, "leo", 1336, 66.04),
    DemoCraft("Landsat 8", "2013-008A", 39084, "sso", 705),
    DemoCraft("Landsat 9", "2021-088A", 49260, "sso", 705),
    DemoCraft("Sentinel-1A", "2014-016A", 39634, "sso", 693),
    DemoCraft("Sentinel-2A", "2015-028A", 40697, "sso", 786),
    DemoCraft("Sentinel-2B", "2017-013A", 42063, "sso", 786),
    DemoCraft("Sentinel-3A", "2016-011A", 41335, "sso", 814),
    DemoCraft("Terra", "1999-068A", 25994, "sso", 705),
    DemoCraft("Aqua", "2002-022A", 27424, "sso", 705),
    DemoCraft("Suomi NPP", "2011-061A", 37849, "sso", 824),
    DemoCraft("NOAA-20", "2017-073A", 43013, "sso", 824),
    DemoCraft("Metop-B", "2012-049A", 38771, "sso", 817, broken=True),
    DemoCraft("Metop-C", "2018-087A", 43689, "sso", 817),
    DemoCraft("Galileo GSAT0101", "2011-060A", 37846, "meo", 23222, 56.0),
    DemoCraft("Galileo GSAT0102", "2011-060B", 37847, "meo", 23222, 56.0),
    DemoCraft("GOES-16", "2016-071A", 41866, "geo", longitude=-75.2),
    DemoCraft("GOES-18", "2022-021A", 51850, "geo", longitude=-137.0),
    DemoCraft("Meteosat-11", "2015-034A", 40732, "geo", longitude=0.0),
    DemoCraft("Himawari-9", "2016-064A", 41836, "geo", longitude=140.7),
    DemoCraft("Molniya 1-93", "2004-005A", 28163, "molniya"),
    DemoCraft("Michibiki (QZS-1)", "2010-045A", 37158, "tundra"),
    DemoCraft("Voyager 1", "1977-084A", 10321, "deep"),
    DemoCraft("Voyager 2", "1977-076A", 10271, "deep"),
    DemoCraft("New Horizons", "2006-001A", 28928, "deep"),
    DemoCraft("James Webb Space Telescope", "2021-130A", 50463, "deep"),
    DemoCraft("Parker Solar Probe", "2018-065A", 43592, "deep"),
    DemoCraft("Juno", "2011-040A", 37773, "deep"),
    DemoCraft("Gaia", "2013-074A", 39479, "deep"),
)


def _revs_per_day(altitude_km: float) -> float:
    a = EARTH_RADIUS + altitude_km
    return math.sqrt(MU / a**3) * 86400 / (2 * math.pi)


def _sun_synchronous_inclination(altitude_km: float) -> float:
    """Where J2 turns the orbit's plane once a year, with the Sun (circular orbits)."""
    return math.degrees(math.acos(-(((EARTH_RADIUS + altitude_km) / 12_352) ** 3.5)))


def _gmst_degrees(moment: datetime) -> float:
    days = (moment.timestamp() / 86400 + 2440587.5) - 2451545.0
    return (280.46061837 + 360.98564736629 * days) % 360


def elements(craft: DemoCraft, epoch: datetime) -> OmmElements | None:
    """Typical mean elements of the craft's orbit class; phases (node, anomaly) drawn from its
    COSPAR ID, so the same craft gets the same orbit every time."""
    if craft.orbit == "deep":
        return None
    draw = random.Random(craft.cospar_id)
    node, anomaly, perigee = draw.uniform(0, 360), draw.uniform(0, 360), draw.uniform(0, 360)
    eccentricity, inclination = 0.0005, craft.inclination
    if craft.orbit in ("station", "leo", "meo"):
        mean_motion = _revs_per_day(craft.altitude_km)
        eccentricity = 0.0005 if craft.orbit != "meo" else 0.0003
    elif craft.orbit == "sso":
        mean_motion = _revs_per_day(craft.altitude_km)
        inclination = _sun_synchronous_inclination(craft.altitude_km)
        eccentricity = 0.0011
    elif craft.orbit == "geo":
        mean_motion, eccentricity, inclination = SIDEREAL_DAY_REVS, 0.0002, 0.05
        node, perigee = 0.0, 0.0
        anomaly = (craft.longitude + _gmst_degrees(epoch)) % 360
    elif craft.orbit == "molniya":  # half a sidereal day; apogee high over the north
        mean_motion, eccentricity, inclination, perigee = 2 * SIDEREAL_DAY_REVS, 0.72, 63.4, 270
    else:  # tundra: a whole sidereal day, a figure eight over east Asia
        mean_motion, eccentricity, inclination, perigee = SIDEREAL_DAY_REVS, 0.075, 41.0, 270
    return OmmElements(
        OBJECT_NAME=craft.name.upper(),
        OBJECT_ID=craft.cospar_id,
        EPOCH=epoch,
        MEAN_MOTION=round(mean_motion, 8),
        ECCENTRICITY=eccentricity,
        INCLINATION=round(inclination, 4),
        RA_OF_ASC_NODE=round(node, 4),
        ARG_OF_PERICENTER=round(perigee, 4),
        MEAN_ANOMALY=round(anomaly, 4),
        NORAD_CAT_ID=craft.norad_id,
        BSTAR=0.0001 if mean_motion > 11 else 0.0,
        MEAN_MOTION_DOT=0.0,
        MEAN_MOTION_DDOT=0.0,
    )


def load(session: Session, *, actor: str, rng: random.Random, now: datetime) -> ImportBatch:
    """Add the demo spacecraft that are not in the fleet yet (by COSPAR ID or NORAD number),
    each with its orbit: a second run adds nothing."""
    taken = set(session.scalars(select(Spacecraft.cospar_id)))
    numbers = set(session.scalars(select(Spacecraft.norad_id)))
    written: list[EventRead] = []
    for craft in FLEET:
        if craft.cospar_id in taken or craft.norad_id in numbers:
            continue
        status = Status.MALFUNCTIONING if craft.broken else Status.NOMINAL
        data = SpacecraftCreate(name=craft.name, cospar_id=craft.cospar_id, status=status)
        created = fleet.create(session, data, actor=actor, rng=rng)
        written.append(created.event)
        omm = elements(craft, now.replace(microsecond=0))
        if omm is not None:
            seq = events.claim_next_seq(session_writer(session))
            orbit = changes.set_orbit_of(
                session,
                seq,
                fleet.load(session, created.spacecraft.id),
                parse_omm(omm, now=now),
                actor,
            )
            written.append(orbit.event)
    return ImportBatch(tuple(written))
