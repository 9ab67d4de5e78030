"""The fleet in space on the console: an import arriving on an open console, the map page, and
the demo fleet's button."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

from galactic_goofs import loading
from galactic_goofs.orbits import demo
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
