"""The fleet in space on the console: an import arriving on an open console, the map page, and
the demo fleet's button."""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

from galactic_goofs import loading
from galactic_goofs.db import utcnow
from galactic_goofs.orbits import demo
from galactic_goofs.web import rendering
from tests.orbital import iss_tle
from tests.support import Running


async def test_an_imported_fleet_arrives_on_an_open_console(goofs_sqlite: Running) -> None:
    settings = goofs_sqlite.state.settings
    text = "name,cospar_id\nHubble Space Telescope,1990-037B\nTerra,1999-068A\n"
    async with aconnect_sse(goofs_sqlite.client, "GET", "/console/stream") as source:
        code = await loading.import_fleet(
            settings,
            Path("fleet.csv"),
            text,
            format=None,
            dry_run=False,
            strict=False,
            out=io.StringIO(),
            err=io.StringIO(),
        )
        frames = []
        async for frame in source.aiter_sse():
            if frame.data:
                frames.append(frame)
            if len(frames) == 2:
                break

    assert code == 0
    assert re.search(r"registered <a [^>]*><strong>Hubble Space Telescope</strong>", frames[0].data)
    assert re.search(r"registered <a [^>]*><strong>Terra</strong>", frames[1].data)


async def test_the_demo_button_loads_the_fleet_once_for_an_operator(goofs_sqlite: Running) -> None:
    async with httpx.AsyncClient(base_url=goofs_sqlite.url) as anonymous:
        refused = await anonymous.post("/console/demo")
    assert refused.status_code == 401

    first = await goofs_sqlite.client.post("/console/demo")
    again = await goofs_sqlite.client.post("/console/demo")

    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == "/"
    listed = await goofs_sqlite.client.get("/api/v1/spacecraft", params={"limit": 500})
    assert listed.json()["total"] == len(demo.FLEET)
    board = await goofs_sqlite.client.get("/")
    assert "Load the demo fleet" not in board.text
    assert 'href="/map"' in board.text


async def test_the_map_page_draws_the_fleet_with_the_broken_ones_named(
    goofs_sqlite: Running,
) -> None:
    await goofs_sqlite.client.post("/console/demo")

    page = await goofs_sqlite.client.get("/map")

    assert page.status_code == 200
    in_orbit = sum(1 for craft in demo.FLEET if craft.orbit != "deep")
    assert page.text.count('class="craft ') == in_orbit
    assert page.text.count('class="craft malfunctioning"') == 2
    assert '<text x="3" y="1">Hubble Space Telescope</text>' in page.text
    assert '<script src="/static/map.js" defer></script>' in page.text
    assert "<script>" not in page.text


async def _demo_ids(goofs: Running) -> dict[str, str]:
    await goofs.client.post("/console/demo")
    listed = await goofs.client.get("/api/v1/spacecraft", params={"limit": 500})
    return {item["name"]: item["id"] for item in listed.json()["items"]}


async def test_the_spacecraft_page_shows_where_it_is_and_finds_its_contacts_after(
    goofs_sqlite: Running,
) -> None:
    ids = await _demo_ids(goofs_sqlite)
    station = ids["International Space Station"]

    page = await goofs_sqlite.client.get(f"/spacecraft/{station}")

    assert page.status_code == 200
    for fact in ("Sub-satellite point", "Altitude", "Speed", "Sunlight", "km/s"):
        assert f"{fact}" in page.text
    assert re.search(r"<dd>\d+\.\d\d° [NS], \d+\.\d\d° [EW]</dd>", page.text)
    assert re.search(r"<dd class=\"(sunlit|eclipse)\">(Sunlit|In eclipse)</dd>", page.text)
    assert "Stale elements" not in page.text
    assert f'data-track="/api/v1/spacecraft/{station}/track"' in page.text
    assert re.search(r'<g id="here" class="craft here nominal"\s+transform="translate\(', page.text)
    assert f'hx-get="/console/spacecraft/{station}/position" hx-trigger="every 5s"' in page.text
    # Finding contacts takes longer than the rest of the page: it asks for them once loaded.
    assert f'hx-get="/console/spacecraft/{station}/contacts" hx-trigger="load"' in page.text
    assert "<script>" not in page.text and "style=" not in page.text

    table = await goofs_sqlite.client.get(f"/console/spacecraft/{station}/contacts")

    assert table.status_code == 200
    # The demo station's orbit runs on the real clock: now and then it is over a station.
    assert re.search(
        r"Next contact <time datetime=\"[^\"]+\" data-until>in [^<]+</time> via"
        r"|<strong>In contact now</strong> via",
        table.text,
    )
    rows = re.findall(r'<th scope="row">([^<]+)</th>', table.text)
    assert rows and set(rows) <= {one.name for one in goofs_sqlite.state.settings.stations}
    assert '<th scope="col">Max elevation</th>' in table.text
    # Found once, the page shows them at once.
    again = await goofs_sqlite.client.get(f"/spacecraft/{station}")
    assert 'hx-trigger="load"' not in again.text
    assert re.findall(r'<th scope="row">([^<]+)</th>', again.text)


async def test_a_spacecraft_without_an_orbit_says_so_plainly(goofs_sqlite: Running) -> None:
    voyager = (await _demo_ids(goofs_sqlite))["Voyager 1"]

    page = await goofs_sqlite.client.get(f"/spacecraft/{voyager}")
    contacts = await goofs_sqlite.client.get("/console/contacts", params={"spacecraft": voyager})

    assert page.status_code == 200
    assert "No orbit: Voyager 1 has no orbital elements" in page.text
    assert "track-map" not in page.text
    assert "/static/spacecraft-map.js" not in page.text
    assert f'data-spacecraft="{voyager}"' in contacts.text
    assert "No orbit" in contacts.text


async def test_elements_older_than_two_weeks_are_flagged_stale_on_the_page(
    goofs_sqlite: Running,
) -> None:
    craft = await goofs_sqlite.client.post(
        "/api/v1/spacecraft", json={"name": "Old Timer", "cospar_id": "1998-067A"}
    )
    epoch = utcnow() - timedelta(days=20)
    put = await goofs_sqlite.client.put(
        f"/api/v1/spacecraft/{craft.json()['id']}/orbit", json={"tle": iss_tle(epoch)}
    )
    assert put.status_code == 200

    page = await goofs_sqlite.client.get(f"/spacecraft/{craft.json()['id']}")

    assert "Stale elements: the epoch is 20 days old" in page.text
    assert rendering.clock(datetime.fromisoformat(put.json()["epoch"])) in page.text


async def test_the_position_fragment_says_where_it_is_now(goofs_sqlite: Running) -> None:
    station = (await _demo_ids(goofs_sqlite))["International Space Station"]

    fragment = await goofs_sqlite.client.get(f"/console/spacecraft/{station}/position")

    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="orbit-now"')
    latitude = float(re.search(r'data-latitude="([-\d.]+)"', fragment.text)[1])  # type: ignore[index]
    assert abs(latitude) <= 52  # a 51.6-degree orbit
    assert "km/s" in fragment.text


async def test_next_contacts_for_the_triage_queue_come_a_few_at_a_time(
    goofs_sqlite: Running,
) -> None:
    ids = await _demo_ids(goofs_sqlite)
    asked = [ids["International Space Station"], ids["GOES-16"], ids["Voyager 1"]]

    answer = await goofs_sqlite.client.get("/console/contacts", params={"spacecraft": asked})
    too_many = await goofs_sqlite.client.get(
        "/console/contacts", params={"spacecraft": [str(uuid.uuid4()) for _ in range(21)]}
    )

    assert answer.status_code == 200
    slots = dict(re.findall(r'data-spacecraft="([^"]+)"[^>]*>\s*(.*?)\s*</p>', answer.text, re.S))
    assert set(slots) == set(asked)
    station = slots[ids["International Space Station"]]
    upcoming = r"Next contact <time [^>]*data-until>in [^<]+</time>"
    assert re.match(rf"({upcoming}|<strong>In contact now</strong>) via \w+", station)
    # A geostationary spacecraft over the Americas never leaves Wallops' sky.
    assert slots[ids["GOES-16"]].startswith("<strong>In contact now</strong> via ")
    assert slots[ids["Voyager 1"]] == "<small>No orbit</small>"
    assert too_many.status_code == 422


async def test_triage_items_hold_a_slot_the_console_fills_with_the_next_contact(
    goofs_sqlite: Running,
) -> None:
    hubble = (await _demo_ids(goofs_sqlite))["Hubble Space Telescope"]  # broken in the demo

    board = await goofs_sqlite.client.get("/")

    assert f'<p class="contact" data-spacecraft="{hubble}"></p>' in board.text


async def test_a_deleted_spacecrafts_page_stops_asking_where_it_is(goofs_sqlite: Running) -> None:
    station = (await _demo_ids(goofs_sqlite))["International Space Station"]
    deleted = await goofs_sqlite.client.delete(f"/api/v1/spacecraft/{station}")
    assert deleted.status_code == 204

    where = await goofs_sqlite.client.get(f"/console/spacecraft/{station}/position")
    contacts = await goofs_sqlite.client.get(f"/console/spacecraft/{station}/contacts")

    assert where.status_code == contacts.status_code == 200
    for fragment in (where.text, contacts.text):
        assert "no longer in the fleet" in fragment
        assert "hx-trigger" not in fragment
