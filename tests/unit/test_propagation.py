"""Propagation against references: sgp4's own verification vectors, Skyfield, find_events."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import numpy as np
import pytest
from skyfield.api import EarthSatellite, wgs84

from galactic_goofs.orbits import elements, propagation
from galactic_goofs.orbits.stations import DEFAULT_STATIONS, GroundStation, parse_stations
from galactic_goofs.settings import Settings
from tests.orbital import ISS, ISS_EPOCH


def _verification_case() -> tuple[str, list[tuple[float, np.ndarray]]]:
    """The first of sgp4's verification satellites (Vallado's), and its expected positions."""
    folder = resources.files("sgp4")
    tle = [
        line for line in (folder / "SGP4-VER.TLE").read_text().splitlines() if line[:2] in "1 2 "
    ]
    expected = []
    for line in (folder / "tcppver.out").read_text().splitlines()[1:]:
        if "xx" in line:
            break
        numbers = line.split()
        expected.append((float(numbers[0]), np.array([float(n) for n in numbers[1:4]])))
    return f"{tle[0][:69]}\n{tle[1][:69]}", expected


def test_positions_match_the_sgp4_verification_vectors() -> None:
    tle, expected = _verification_case()
    given = elements.parse_tle(tle, now=ISS_EPOCH)
    sat = elements.satrec(given.source, given.raw)
    moments = [given.epoch + timedelta(minutes=minutes) for minutes, _ in expected]

    teme, _ = propagation._teme_positions([sat], moments)

    for (_, position), computed in zip(expected, teme[0], strict=True):
        assert np.linalg.norm(computed - position) < 0.01  # km; moments are to the microsecond


def test_the_fleets_positions_agree_with_skyfield_within_a_kilometre() -> None:
    sat = elements.satrec("tle", ISS)
    satellite = EarthSatellite.from_satrec(sat, propagation.timescale())
    for hours in (0, 5, 30):
        at = ISS_EPOCH + timedelta(hours=hours)
        fleet = propagation.fleet_positions([sat, sat], at)
        reference = wgs84.geographic_position_of(
            satellite.at(propagation.timescale().from_datetime(at))
        )
        ours = wgs84.latlon(
            fleet.latitude[1], fleet.longitude[1], elevation_m=fleet.altitude_km[1] * 1000
        )
        theirs = wgs84.latlon(
            reference.latitude.degrees,
            reference.longitude.degrees,
            elevation_m=reference.elevation.m,
        )
        apart = np.linalg.norm(ours.itrs_xyz.km - theirs.itrs_xyz.km)
        assert apart < 1.0, (hours, apart)


def test_a_station_at_its_epoch_is_about_420_km_up_at_orbital_speed() -> None:
    where = propagation.position(elements.satrec("tle", ISS), ISS_EPOCH)

    assert 400 < where.altitude_km < 425
    assert abs(where.speed_km_s - 7.66) < 0.02


def test_pass_times_are_skyfields_events_to_the_second() -> None:
    sat = elements.satrec("tle", ISS)
    station = GroundStation("Wallops", 37.9402, -75.4664, 10.0)
    end = ISS_EPOCH + timedelta(hours=24)

    found = propagation.passes(sat, [station], ISS_EPOCH, end)

    ts = propagation.timescale()
    times, kinds = EarthSatellite.from_satrec(sat, ts).find_events(
        wgs84.latlon(station.latitude, station.longitude),
        ts.from_datetime(ISS_EPOCH),
        ts.from_datetime(end),
        altitude_degrees=station.min_elevation,
    )
    rises = [t.utc_datetime() for t, kind in zip(times, kinds, strict=True) if kind == 0]
    sets = [t.utc_datetime() for t, kind in zip(times, kinds, strict=True) if kind == 2]
    assert found
    for one in found:
        assert min(abs((one.rise - rise).total_seconds()) for rise in rises) < 1
        assert min(abs((one.set - set_).total_seconds()) for set_ in sets) < 1
        assert one.rise < one.culminate < one.set
        assert one.max_elevation >= station.min_elevation


def test_the_default_ground_stations_are_real_places() -> None:
    stations = parse_stations(DEFAULT_STATIONS)

    assert {"Svalbard", "Kiruna", "Canberra", "Kourou"} <= {one.name for one in stations}
    assert all(one.min_elevation == 5 for one in stations)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("Nowhere", "must be Name:latitude:longitude"),
        ("Pole:91:0", "latitude must be within -90..90"),
        ("Dish:10:east", "are numbers of degrees"),
        ("A:1:2:95", "min elevation"),
        ("A:1:2,A:3:4", "names must be different"),
        (" , ", "at least one ground station"),
    ],
)
def test_a_bad_ground_station_setting_says_what_is_wrong(setting: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Settings(ground_stations=setting, _env_file=None)  # type: ignore[call-arg]


def test_stations_from_the_setting_keep_their_minimum_elevation() -> None:
    settings = Settings(ground_stations="Home:52.5:13.4:12", _env_file=None)  # type: ignore[call-arg]

    assert settings.stations == (GroundStation("Home", 52.5, 13.4, 12.0),)


def test_nothing_on_the_event_streams_path_reaches_propagation() -> None:
    from tests.unit.test_architecture import imports

    graph = imports()
    hot = [name for name in graph if name.startswith("galactic_goofs.events")]
    hot += ["galactic_goofs.web.stream", "galactic_goofs.fleet.service", "galactic_goofs.simulator"]
    reached: set[str] = set()
    pending = list(hot)
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(graph[name])
    assert "galactic_goofs.orbits.propagation" not in reached
