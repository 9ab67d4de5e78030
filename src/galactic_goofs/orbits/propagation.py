"""Where spacecraft are: sgp4 for the many at once, Skyfield for one in detail.

Skyfield runs on data shipped in packages only: its own built-in timescale files and the DE421
ephemeris from `skyfield-data` (for the Sun, so sunlit or eclipse). Nothing is ever downloaded.
They load on first use, not on import.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sgp4.api import Satrec, SatrecArray
from skyfield.api import EarthSatellite, Timescale, load, wgs84
from skyfield.jpllib import SpiceKernel

from galactic_goofs.orbits.contact import Contact
from galactic_goofs.orbits.elements import julian
from galactic_goofs.orbits.stations import GroundStation

EPHEMERIS = "de421.bsp"


@functools.cache
def timescale() -> Timescale:
    return load.timescale(builtin=True)


@functools.cache
def ephemeris() -> SpiceKernel:
    # Opened by path: skyfield's Loader would fetch a file it thought missing or old.
    path = resources.files("skyfield_data") / "data" / EPHEMERIS
    return SpiceKernel(str(path))


@dataclass(frozen=True, slots=True)
class Position:
    at: datetime
    latitude: float
    longitude: float
    altitude_km: float
    speed_km_s: float
    sunlit: bool


@dataclass(frozen=True, slots=True)
class TrackPoint:
    at: datetime
    latitude: float
    longitude: float
    altitude_km: float


@dataclass(frozen=True, slots=True)
class Pass:
    station: str
    rise: datetime
    culminate: datetime
    set: datetime
    max_elevation: float


def position(sat: Satrec, at: datetime) -> Position:
    satellite = EarthSatellite.from_satrec(sat, timescale())
    t = timescale().from_datetime(at.astimezone(UTC))
    geocentric = satellite.at(t)
    where = wgs84.geographic_position_of(geocentric)
    return Position(
        at=at,
        latitude=float(where.latitude.degrees),
        longitude=float(where.longitude.degrees),
        altitude_km=float(where.elevation.km),
        speed_km_s=float(np.linalg.norm(geocentric.velocity.km_per_s)),
        sunlit=bool(geocentric.is_sunlit(ephemeris())),
    )


def track(sat: Satrec, start: datetime, end: datetime, step: timedelta) -> list[TrackPoint]:
    """Sub-satellite points from `start` to `end` (both included when on a step)."""
    count = int((end - start) / step) + 1
    moments = [start + i * step for i in range(count)]
    latitude, longitude, altitude = geodetic(*_teme_positions([sat], moments))
    return [
        TrackPoint(moment, float(lat), float(lon), float(alt))
        for moment, lat, lon, alt in zip(
            moments, latitude[0], longitude[0], altitude[0], strict=True
        )
    ]


def passes(
    sat: Satrec, stations: Sequence[GroundStation], start: datetime, end: datetime
) -> list[Pass]:
    """Every complete pass (rise, culmination, set) over each station within the window, by
    rise time. A pass already under way at `start` or still on at `end` is left out."""
    found = [
        Pass(one.station, one.rise, one.culminate, one.set, one.max_elevation)
        for one in contacts(sat, stations, start, end)
        if one.rise is not None and one.culminate is not None and one.set is not None
    ]
    return sorted(found, key=lambda one: one.rise)


def contacts(
    sat: Satrec, stations: Sequence[GroundStation], start: datetime, end: datetime
) -> list[Contact]:
    """Every time above each station's minimum elevation within the window, including one under
    way at `start` and one still on at `end`; by station, then time."""
    ts = timescale()
    satellite = EarthSatellite.from_satrec(sat, ts)
    t0, t1 = ts.from_datetime(start.astimezone(UTC)), ts.from_datetime(end.astimezone(UTC))
    found: list[Contact] = []
    for station in stations:
        place = wgs84.latlon(station.latitude, station.longitude)
        seen_from = satellite - place

        def elevation(t: Any, seen_from: Any = seen_from) -> float:
            return float(seen_from.at(t).altaz()[0].degrees)

        times, kinds = satellite.find_events(place, t0, t1, altitude_degrees=station.min_elevation)
        # In view at the start when the first event is not a rise (or there is none, and the
        # spacecraft is up there all along).
        first_kind = int(kinds[0]) if len(kinds) else None
        in_view = first_kind in (1, 2) or (
            first_kind is None and elevation(t0) >= station.min_elevation
        )
        rise: Any = None
        best: tuple[float, Any] | None = (elevation(t0), None) if in_view else None
        for t, kind in zip(times, kinds, strict=True):
            if kind == 0:
                rise, best, in_view = t, None, True
            elif kind == 1 and in_view:
                height = elevation(t)
                if best is None or height > best[0]:
                    best = (height, t)
            elif kind == 2 and in_view:
                found.append(_contact(station.name, rise, best, t))
                rise, best, in_view = None, None, False
        if in_view:
            if best is None:
                best = (elevation(t1), None)
            found.append(_contact(station.name, rise, best, None))
    return found


def _contact(station: str, rise: Any, best: tuple[float, Any] | None, set_: Any) -> Contact:
    height, culminate = best if best is not None else (float("nan"), None)
    return Contact(
        station=station,
        rise=None if rise is None else _moment(rise),
        culminate=None if culminate is None else _moment(culminate),
        set=None if set_ is None else _moment(set_),
        max_elevation=round(height, 2),
    )


def _moment(t: Any) -> datetime:
    moment: datetime = t.utc_datetime()
    return moment


@dataclass(frozen=True, slots=True)
class FleetPositions:
    """Sub-satellite points of many spacecraft at one moment; NaN where sgp4 failed."""

    latitude: NDArray[np.float64]
    longitude: NDArray[np.float64]
    altitude_km: NDArray[np.float64]


def fleet_positions(sats: Sequence[Satrec], at: datetime) -> FleetPositions:
    """All at once: one vectorised sgp4 call (`SatrecArray`) and array arithmetic for the Earth.

    Accurate to well under a kilometre against Skyfield (it leaves out nutation and polar
    motion), which is plenty for a dot on a map.
    """
    if not sats:
        empty = np.empty(0)
        return FleetPositions(empty, empty, empty)
    latitude, longitude, altitude = geodetic(*_teme_positions(sats, [at]))
    return FleetPositions(latitude[:, 0], longitude[:, 0], altitude[:, 0])


def _teme_positions(
    sats: Sequence[Satrec], moments: Sequence[datetime]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """TEME positions (km), shape (spacecraft, moments, 3), and the moments' Julian dates."""
    dates = np.array([julian(moment) for moment in moments])
    jd, fr = dates[:, 0].copy(), dates[:, 1].copy()
    errors, positions, _ = SatrecArray(list(sats)).sgp4(jd, fr)
    positions[errors != 0] = np.nan
    return positions, jd + fr


_A = 6378.137
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)


def geodetic(
    teme: NDArray[np.float64], jd: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 latitude, longitude (degrees) and altitude (km) of TEME positions at dates `jd`."""
    centuries = (jd - 2451545.0) / 36525
    gmst_seconds = (
        67310.54841
        + (876600 * 3600 + 8640184.812866) * centuries
        + 0.093104 * centuries**2
        - 6.2e-6 * centuries**3
    )
    theta = np.radians((gmst_seconds % 86400) / 240)
    cos, sin = np.cos(theta), np.sin(theta)
    x_teme, y_teme, z = teme[..., 0], teme[..., 1], teme[..., 2]
    x = cos * x_teme + sin * y_teme
    y = -sin * x_teme + cos * y_teme
    longitude = np.arctan2(y, x)
    p = np.hypot(x, y)
    latitude = np.arctan2(z, p * (1 - _E2))
    height = np.zeros_like(p)
    for _ in range(4):
        n = _A / np.sqrt(1 - _E2 * np.sin(latitude) ** 2)
        height = p / np.cos(latitude) - n
        latitude = np.arctan2(z, p * (1 - _E2 * n / (n + height)))
    return np.degrees(latitude), np.degrees(longitude), height
