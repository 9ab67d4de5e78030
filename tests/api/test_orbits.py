"""Orbits through the API: NORAD numbers, element sets in (and bad ones out), positions,
ground tracks and passes."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from galactic_goofs.db import utcnow
from galactic_goofs.orbits import service as orbits
from galactic_goofs.orbits.cache import ContactCache
from tests.orbital import ISS, iss_tle
from tests.support import Running

STATION = {"name": "International Space Station", "cospar_id": "1998-067A"}


async def create(goofs: Running, **fields: Any) -> dict[str, Any]:
    response = await goofs.client.post("/api/v1/spacecraft", json={**STATION, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def put_orbit(goofs: Running, craft_id: str, body: Any) -> Any:
    return await goofs.client.put(f"/api/v1/spacecraft/{craft_id}/orbit", json=body)


def omm(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "OBJECT_NAME": "ISS (ZARYA)",
        "OBJECT_ID": "1998-067A",
        "EPOCH": (utcnow() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MEAN_MOTION": 15.49889144,
        "ECCENTRICITY": 0.0006703,
        "INCLINATION": 51.6416,
        "RA_OF_ASC_NODE": 247.4627,
        "ARG_OF_PERICENTER": 130.536,
        "MEAN_ANOMALY": 325.0288,
        "EPHEMERIS_TYPE": 0,
        "CLASSIFICATION_TYPE": "U",
        "NORAD_CAT_ID": 25544,
        "ELEMENT_SET_NO": 999,
        "REV_AT_EPOCH": 44312,
        "BSTAR": 0.00030164,
        "MEAN_MOTION_DOT": 0.00016717,
        "MEAN_MOTION_DDOT": 0,
    }
    fields.update(overrides)
    return fields


async def test_a_spacecraft_may_carry_a_unique_norad_id(goofs: Running) -> None:
    craft = await create(goofs, norad_id=25544)
    assert craft["norad_id"] == 25544
    other = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Copycat", "cospar_id": "2001-001A", "norad_id": 25544}
    )
    assert other.status_code == 409
    assert "NORAD ID 25544 is already registered" in other.json()["detail"]
    plain = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Plain", "cospar_id": "2001-002A"}
    )
    assert plain.json()["norad_id"] is None
    edited = await goofs.client.patch(
        f"/api/v1/spacecraft/{plain.json()['id']}", json={"norad_id": 7}
    )
    assert edited.json()["norad_id"] == 7


async def test_setting_a_tle_keeps_its_epoch_and_records_an_event(goofs: Running) -> None:
    craft = await create(goofs)
    epoch = utcnow().replace(microsecond=0) - timedelta(days=1)

    response = await put_orbit(goofs, craft["id"], {"tle": iss_tle(epoch)})

    assert response.status_code == 200, response.text
    orbit = response.json()
    assert orbit["source"] == "tle"
    assert orbit["norad_id"] == 25544
    assert datetime.fromisoformat(orbit["epoch"]) == epoch
    assert orbit["stale"] is False
    fetched = await goofs.client.get(f"/api/v1/spacecraft/{craft['id']}")
    assert fetched.json()["norad_id"] == 25544  # taken from the elements
    assert fetched.json()["version"] == 2
    log = await goofs.client.get("/api/v1/events", params={"type": "spacecraft.orbit_updated"})
    (event,) = log.json()["items"]
    assert event["spacecraft_id"] == craft["id"]
    assert event["data"]["orbit"]["norad_id"] == 25544


async def test_elements_older_than_two_weeks_are_stale(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": ISS})  # epoch 2024-01-01

    orbit = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{craft['id']}/orbit")

    assert orbit.json()["stale"] is True


async def test_an_omm_from_celestrak_is_accepted(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)

    response = await put_orbit(goofs_sqlite, craft["id"], omm())

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "omm"
    assert json.loads(response.json()["elements"])["OBJECT_NAME"] == "ISS (ZARYA)"
    where = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{craft['id']}/position")
    assert 380 < where.json()["altitude_km"] < 440


def _broken_checksum(tle: str) -> str:
    line1, line2 = tle.splitlines()
    wrong = (int(line1[-1]) + 1) % 10
    return f"{line1[:-1]}{wrong}\n{line2}"


def _non_numeric_inclination(tle: str) -> str:
    from tests.orbital import with_checksum

    line1, line2 = tle.splitlines()
    return f"{line1}\n{with_checksum(line2[:8] + ' 51.6x16' + line2[16:68])}"


async def test_bad_element_sets_are_refused_with_the_reason(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    now = utcnow()
    cases = [
        ({"tle": _broken_checksum(ISS)}, "fails its checksum"),
        ({"tle": iss_tle(now, line2_norad="20580")}, "line 2 belongs to another satellite"),
        ({"tle": iss_tle(now + timedelta(days=366))}, "in the future"),
        ({"tle": _non_numeric_inclination(ISS)}, "inclination (columns 9-16) is not a number"),
        ({"tle": ISS.splitlines()[0]}, "a TLE is two lines"),
    ]
    await put_orbit(goofs_sqlite, craft["id"], {"tle": iss_tle(now)})
    for body, reason in cases:
        response = await put_orbit(goofs_sqlite, craft["id"], body)
        assert response.status_code == 422, (reason, response.text)
        (problem,) = response.json()["detail"]  # in the shape of every validation error
        assert reason in problem["msg"], response.text
        assert problem["loc"] == ["body", "tle"]
    other_craft = await put_orbit(goofs_sqlite, craft["id"], {"tle": iss_tle(now, norad="20580")})
    assert other_craft.status_code == 409  # good elements, for another spacecraft
    assert "but International Space Station is NORAD 25544" in other_craft.json()["detail"]


async def test_celestraks_list_of_one_omm_is_accepted(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)

    accepted = await put_orbit(goofs_sqlite, craft["id"], [omm()])
    two = await put_orbit(goofs_sqlite, craft["id"], [omm(), omm()])

    assert accepted.status_code == 200, accepted.text
    assert two.status_code == 422


async def test_an_omm_with_a_field_that_is_not_a_number_is_refused(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)

    response = await put_orbit(goofs_sqlite, craft["id"], omm(MEAN_MOTION="fast"))

    assert response.status_code == 422
    assert "MEAN_MOTION" in response.text


async def test_a_megabyte_of_elements_is_too_large(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)

    response = await put_orbit(goofs_sqlite, craft["id"], {"tle": "1" * 1024 * 1024})

    assert response.status_code == 413


async def test_where_a_spacecraft_is_needs_it_and_its_orbit(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    for what in ("position", "track", "passes", "orbit"):
        missing = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{uuid.uuid4()}/{what}")
        assert missing.status_code == 404
        no_orbit = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{craft['id']}/{what}")
        assert no_orbit.status_code == 409
        assert "has no orbit yet" in no_orbit.json()["detail"]


async def test_the_position_of_a_station_at_its_epoch(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": ISS})

    response = await goofs_sqlite.client.get(
        f"/api/v1/spacecraft/{craft['id']}/position", params={"at": "2024-01-01T12:00:00Z"}
    )

    where = response.json()
    assert set(where) == {"at", "latitude", "longitude", "altitude_km", "speed_km_s", "sunlit"}
    assert 400 < where["altitude_km"] < 425
    assert abs(where["speed_km_s"] - 7.66) < 0.02
    assert abs(where["latitude"]) <= 51.7
    assert isinstance(where["sunlit"], bool)


async def test_a_ground_track_runs_an_orbit_back_and_ahead(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": ISS})
    url = f"/api/v1/spacecraft/{craft['id']}/track"

    track = (await goofs_sqlite.client.get(url, params={"at": "2024-01-01T12:00:00Z"})).json()

    assert track["step_seconds"] == 60
    assert 180 <= len(track["points"]) <= 190  # two orbits of about 93 minutes
    assert max(point["latitude"] for point in track["points"]) > 50
    too_fine = await goofs_sqlite.client.get(url, params={"minutes": 1440, "step": 10})
    assert too_fine.status_code == 422
    assert too_fine.json()["detail"][0]["loc"] == ["query", "step"]
    finest = await goofs_sqlite.client.get(url, params={"minutes": 1440, "step": 30})
    assert len(finest.json()["points"]) == 5761
    for outside in ["1066-10-14T12:00:00Z", "2054-01-01T00:00:00Z", "2023-02-29T00:00:00Z", "0.5"]:
        refused = await goofs_sqlite.client.get(url, params={"at": outside})
        assert refused.status_code == 422, outside
        assert refused.json()["detail"][0]["loc"] == ["query", "at"]
    leap_day = await goofs_sqlite.client.get(url, params={"at": "2024-02-29T00:00:00+05:30"})
    assert leap_day.json()["start"].startswith("2024-02-28T")
    last = await goofs_sqlite.client.get(url, params={"at": "2052-12-31T23:59:59Z"})
    assert last.status_code == 200  # the Sun's ephemeris still covers it, sunlit and all
    position = url.replace("/track", "/position")
    late = await goofs_sqlite.client.get(position, params={"at": "2052-12-31T23:59:59Z"})
    assert late.status_code in (200, 409), late.text  # 409: the elements decayed long before


async def test_passes_rise_culminate_and_set_above_each_stations_horizon(
    goofs_sqlite: Running,
) -> None:
    craft = await create(goofs_sqlite)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": ISS})

    response = await goofs_sqlite.client.get(
        f"/api/v1/spacecraft/{craft['id']}/passes",
        params={"at": "2024-01-01T12:00:00Z", "hours": 12},
    )

    passes = response.json()
    assert passes, "a station at 51.6 degrees passes over several stations in 12 hours"
    stations = {station.name: station for station in goofs_sqlite.state.settings.stations}
    for one in passes:
        rise, top, end = (datetime.fromisoformat(one[key]) for key in ("rise", "culminate", "set"))
        assert rise < top < end
        assert end - rise < timedelta(minutes=15)
        assert one["max_elevation"] >= stations[one["station"]].min_elevation
    rises = [one["rise"] for one in passes]
    assert rises == sorted(rises)


async def test_the_fleet_positions_list_every_spacecraft_with_an_orbit(goofs: Running) -> None:
    craft = await create(goofs)
    await create(goofs, name="No orbit", cospar_id="2001-003A")
    await put_orbit(goofs, craft["id"], {"tle": iss_tle(utcnow())})

    response = await goofs.client.get("/api/v1/positions")
    again = await goofs.client.get("/api/v1/positions")  # from the parsed sets kept

    assert again.json()["items"][0]["id"] == craft["id"]
    (item,) = response.json()["items"]
    assert item["id"] == craft["id"]
    assert item["status"] == "NOMINAL"
    assert 380 < item["altitude_km"] < 440
    assert -180 <= item["longitude"] <= 180


async def test_deleting_a_spacecraft_deletes_its_orbit(goofs_sqlite: Running) -> None:
    craft = await create(goofs_sqlite)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": ISS})

    await goofs_sqlite.client.delete(f"/api/v1/spacecraft/{craft['id']}")

    assert (await goofs_sqlite.client.get("/api/v1/positions")).json()["items"] == []


async def test_the_next_contact_is_the_one_under_way_then_the_first_to_rise(
    goofs_sqlite: Running,
) -> None:
    craft = await create(goofs_sqlite)
    epoch = utcnow().replace(microsecond=0) - timedelta(hours=1)
    await put_orbit(goofs_sqlite, craft["id"], {"tle": iss_tle(epoch)})
    stations = goofs_sqlite.state.settings.stations
    spacecraft_id = uuid.UUID(craft["id"])
    found = await goofs_sqlite.client.get(
        f"/api/v1/spacecraft/{craft['id']}/passes", params={"at": epoch.isoformat()}
    )
    first = found.json()[0]
    rise, set_ = datetime.fromisoformat(first["rise"]), datetime.fromisoformat(first["set"])
    cache = ContactCache()

    async with goofs_sqlite.state.db.reading() as session:
        before = await orbits.next_contact(
            session, cache, spacecraft_id, stations, rise - timedelta(minutes=5)
        )
        during = await orbits.next_contact(
            session, ContactCache(), spacecraft_id, stations, rise + timedelta(minutes=1)
        )
        after = await orbits.contacts(
            session, cache, [spacecraft_id], stations, set_ + timedelta(seconds=1)
        )

    assert before is not None and during is not None
    assert (before.station, before.now) == (first["station"], False)
    assert abs((before.rise - rise).total_seconds()) < 1  # type: ignore[operator]
    assert (during.station, during.now, during.rise) == (first["station"], True, None)
    assert abs((during.set - set_).total_seconds()) < 1  # type: ignore[operator]
    # From the cache: that contact is over, so that station's next one is a later one.
    later = after[spacecraft_id]
    assert later and all(not one.now or one.station != first["station"] for one in later)
    assert all(one.rise is None or one.rise > set_ for one in later if not one.now)


async def test_contacts_are_found_again_for_new_elements_not_for_another_look(
    goofs_sqlite: Running,
) -> None:
    craft = await create(goofs_sqlite)
    spacecraft_id = uuid.UUID(craft["id"])
    await put_orbit(goofs_sqlite, craft["id"], {"tle": iss_tle(utcnow() - timedelta(hours=2))})
    stations = goofs_sqlite.state.settings.stations
    cache = ContactCache()

    async with goofs_sqlite.state.db.reading() as session:
        await orbits.contacts(session, cache, [spacecraft_id], stations)
    kept = cache.entries[spacecraft_id]
    async with goofs_sqlite.state.db.reading() as session:
        await orbits.contacts(session, cache, [spacecraft_id], stations)
    assert cache.entries[spacecraft_id] is kept

    await put_orbit(goofs_sqlite, craft["id"], {"tle": iss_tle(utcnow() - timedelta(hours=1))})
    async with goofs_sqlite.state.db.reading() as session:
        unknown = await orbits.contacts(
            session, cache, [spacecraft_id, uuid.uuid4()], stations, find=False
        )
        await orbits.contacts(session, cache, [spacecraft_id], stations)

    assert spacecraft_id not in unknown  # stale: not found again without being asked to
    assert list(unknown.values()) == [None]  # no orbit at all
    assert cache.entries[spacecraft_id] is not kept
