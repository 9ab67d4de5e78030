"""The web console over HTTP: the page, its forms and its fragment stream (no browser needed)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import pytest
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse
from sqlalchemy import insert
from sqlalchemy.orm import Session

from galactic_goofs.fleet.models import Spacecraft
from tests.support import Running

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}
SNEAKY = "<img src=x onerror=alert(1)>"


async def create(goofs: Running, name: str, cospar_id: str) -> dict[str, object]:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": cospar_id}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def fleet_size(goofs: Running) -> int:
    total: int = (await goofs.client.get("/api/v1/spacecraft/summary")).json()["total"]
    return total


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="craft-([0-9a-f-]{36})"', html)


async def next_frame(source: EventSource) -> ServerSentEvent:
    """The next frame with an event in it (not the opening `retry:` hint)."""
    async for sse in source.aiter_sse():
        if sse.data:
            return sse
    raise AssertionError("the stream ended")


def field_error(html: str, input_id: str) -> str:
    match = re.search(rf'<small id="{input_id}-error" class="field-error">([^<]*)</small>', html)
    assert match, f"no error shown beside {input_id}"
    return match.group(1)


async def test_the_page_shows_summary_board_and_feed(goofs: Running) -> None:
    hubble = await create(goofs, **HUBBLE)
    await goofs.client.post(f"/api/v1/spacecraft/{hubble['id']}/malfunction")

    response = await goofs.client.get("/")

    assert response.status_code == 200
    page = response.text
    assert row_ids(page) == [hubble["id"]]
    assert 'class="badge malfunctioning">MALFUNCTIONING' in page
    assert re.search(r'<p class="count">1</p><p>malfunctioning</p>', page)
    feed = page[page.index('id="feed"') :]
    assert feed.index("broke") < feed.index("registered"), "newest event first"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in page, "no inline script: a strict CSP must be able to apply"


async def test_registering_through_the_form_adds_the_spacecraft(goofs: Running) -> None:
    response = await goofs.client.post(
        "/console/spacecraft", data={**HUBBLE, "status": "MALFUNCTIONING"}
    )

    assert response.status_code == 200
    assert "Registered Hubble Space Telescope (1990-037B)" in response.text
    assert 'value=""' in response.text, "a fresh form for the next one"
    listed = (await goofs.client.get("/api/v1/spacecraft")).json()["items"]
    assert [(craft["name"], craft["status"]) for craft in listed] == [
        ("Hubble Space Telescope", "MALFUNCTIONING")
    ]


@pytest.mark.parametrize(
    ("name", "cospar_id", "input_id", "message"),
    [
        ("", "1990-037B", "create-name", "Required"),
        ("   ", "1990-037B", "create-name", "Required"),
        ("Bad ID", "1990-37B", "create-cospar_id", "COSPAR ID must look like 1998-067A"),
        ("Too early", "1956-001A", "create-cospar_id", "1957 or later"),
        ("No ID", "", "create-cospar_id", "Field required"),
    ],
)
async def test_bad_form_input_is_explained_beside_the_field_and_kept(
    goofs_sqlite: Running, name: str, cospar_id: str, input_id: str, message: str
) -> None:
    response = await goofs_sqlite.client.post(
        "/console/spacecraft", data={"name": name, "cospar_id": cospar_id, "status": "NOMINAL"}
    )

    assert response.status_code == 422
    assert message in field_error(response.text, input_id)
    assert f'id="{input_id}"' in response.text
    assert f'value="{cospar_id}"' in response.text, "what was typed stays"
    assert await fleet_size(goofs_sqlite) == 0


async def test_a_taken_cospar_id_is_a_conflict_beside_that_field(goofs: Running) -> None:
    await create(goofs, **HUBBLE)

    response = await goofs.client.post(
        "/console/spacecraft", data={"name": "Impostor", "cospar_id": "1990-037b"}
    )

    assert response.status_code == 409
    assert "already registered to Hubble Space Telescope" in field_error(
        response.text, "create-cospar_id"
    )
    assert 'value="Impostor"' in response.text
    assert await fleet_size(goofs) == 1


async def test_editing_inline_saves_and_returns_the_row(goofs_sqlite: Running) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)
    edit_form = await goofs_sqlite.client.get(f"/console/spacecraft/{hubble['id']}/edit")
    assert edit_form.status_code == 200
    assert 'name="version" value="1"' in edit_form.text

    response = await goofs_sqlite.client.post(
        f"/console/spacecraft/{hubble['id']}/edit",
        data={"name": "Hubble", "cospar_id": "1990-037B", "version": "1"},
    )

    assert response.status_code == 200
    link = f'<a href="/spacecraft/{hubble["id"]}">Hubble</a>'
    assert f'<th scope="row" class="name">{link}</th>' in response.text
    fetched = (await goofs_sqlite.client.get(f"/api/v1/spacecraft/{hubble['id']}")).json()
    assert (fetched["name"], fetched["version"]) == ("Hubble", 2)


async def test_saving_a_stale_edit_is_a_conflict_for_the_whole_form(
    goofs_sqlite: Running,
) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)
    await goofs_sqlite.client.patch(f"/api/v1/spacecraft/{hubble['id']}", json={"name": "HST"})

    response = await goofs_sqlite.client.post(
        f"/console/spacecraft/{hubble['id']}/edit",
        data={"name": "Hubble", "cospar_id": "1990-037B", "version": "1"},
    )

    assert response.status_code == 409
    assert re.search(
        r'<p class="form-error" role="alert">HST was changed by someone', response.text
    )
    assert 'value="Hubble"' in response.text


async def test_fixing_a_nominal_spacecraft_from_the_console_is_a_conflict(
    goofs_sqlite: Running,
) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)

    response = await goofs_sqlite.client.post(f"/console/spacecraft/{hubble['id']}/repair")

    assert response.status_code == 409
    assert "nothing to repair" in response.json()["detail"]


async def test_breaking_a_broken_spacecraft_from_the_console_is_a_conflict(
    goofs_sqlite: Running,
) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)

    broken = await goofs_sqlite.client.post(f"/console/spacecraft/{hubble['id']}/malfunction")
    again = await goofs_sqlite.client.post(f"/console/spacecraft/{hubble['id']}/malfunction")

    assert broken.status_code == 204
    assert again.status_code == 409
    assert "already malfunctioning" in again.json()["detail"]
    craft = (await goofs_sqlite.client.get(f"/api/v1/spacecraft/{hubble['id']}")).json()
    assert craft["status"] == "MALFUNCTIONING"


async def test_fix_and_delete_from_the_console(goofs_sqlite: Running) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)
    await goofs_sqlite.client.post(f"/api/v1/spacecraft/{hubble['id']}/malfunction")

    fixed = await goofs_sqlite.client.post(f"/console/spacecraft/{hubble['id']}/repair")
    assert fixed.status_code == 204
    assert (await goofs_sqlite.client.get(f"/api/v1/spacecraft/{hubble['id']}")).json()[
        "status"
    ] == "NOMINAL"

    deleted = await goofs_sqlite.client.delete(f"/console/spacecraft/{hubble['id']}")
    assert deleted.status_code == 204
    assert await fleet_size(goofs_sqlite) == 0


async def test_search_and_filter_narrow_the_board(goofs_sqlite: Running) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)
    iss = await create(goofs_sqlite, "ISS (Zarya)", "1998-067A")
    await goofs_sqlite.client.post(f"/api/v1/spacecraft/{iss['id']}/malfunction")

    by_name = await goofs_sqlite.client.get("/console/board", params={"q": "hub"})
    by_status = await goofs_sqlite.client.get("/console/board", params={"status": "MALFUNCTIONING"})
    everything = await goofs_sqlite.client.get("/console/board", params={"status": ""})

    assert row_ids(by_name.text) == [hubble["id"]]
    assert row_ids(by_status.text) == [iss["id"]]
    assert row_ids(everything.text) == [hubble["id"], iss["id"]]


async def test_the_stream_sends_the_same_row_the_page_renders(goofs: Running) -> None:
    async with aconnect_sse(goofs.client, "GET", "/console/stream") as source:
        hubble = await create(goofs, **HUBBLE)
        created = await next_frame(source)
    row = await goofs.client.get(f"/console/spacecraft/{hubble['id']}/row")

    assert created.event == "fragments"
    assert created.id == "1"
    assert row.text.strip() in created.data
    assert '<section id="summary" data-fragment="summary"' in created.data
    assert re.search(r'<li id="event-1" data-fragment="event"', created.data)


async def test_a_deletion_frame_removes_the_row_and_names_it_in_the_feed(
    goofs_sqlite: Running,
) -> None:
    hubble = await create(goofs_sqlite, **HUBBLE)
    await goofs_sqlite.client.delete(f"/api/v1/spacecraft/{hubble['id']}")

    async with aconnect_sse(goofs_sqlite.client, "GET", "/console/stream?after=1") as source:
        deleted = await next_frame(source)

    assert deleted.id == "2"
    assert f'<tr id="craft-{hubble["id"]}" data-fragment="removed"></tr>' in deleted.data
    assert "deleted <strong>Hubble Space Telescope</strong>" in deleted.data


async def test_names_are_text_in_page_and_fragments(goofs_sqlite: Running) -> None:
    async with aconnect_sse(goofs_sqlite.client, "GET", "/console/stream") as source:
        await create(goofs_sqlite, SNEAKY, "2000-001A")
        fragment = (await next_frame(source)).data
    page = (await goofs_sqlite.client.get("/")).text

    for html in (fragment, page):
        assert SNEAKY not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


async def test_a_page_deep_in_ten_thousand_spacecraft_holds_one_page(
    goofs_sqlite: Running,
) -> None:
    now = datetime.now(UTC)
    await goofs_sqlite.state.db.write(
        Session.execute,
        insert(Spacecraft),
        [
            {
                "id": uuid.uuid4(),
                "name": f"Cubesat {n:05d}",
                "cospar_id": f"{2000 + n // 999}-{n % 999 + 1:03d}A",
                "status": "NOMINAL",
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for n in range(10_000)
        ],
    )

    started = time.perf_counter()
    response = await goofs_sqlite.client.get("/", params={"page": 150})
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert len(row_ids(response.text)) == 50
    assert "Cubesat 07450" in response.text and "Cubesat 07499" in response.text
    assert "7451\N{EN DASH}7500 of 10,000 · page 150 of 200" in response.text
    print(f"page 150 of 10,000 spacecraft rendered in {elapsed * 1000:.0f} ms")


async def test_a_bad_cursor_on_the_console_stream_is_refused(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get(
        "/console/stream", headers={"Last-Event-ID": "yesterday"}
    )

    assert response.status_code == 400


async def test_front_end_libraries_come_from_the_app_itself(goofs_sqlite: Running) -> None:
    page = (await goofs_sqlite.client.get("/")).text
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)

    assert sources, "the page loads its scripts and styles"
    for source in sources:
        assert source.startswith("/static/"), f"{source} must come from our own static route"
        response = await goofs_sqlite.client.get(source)
        assert response.status_code == 200, f"{source}: run `make assets`"
        assert len(response.content) > 100


async def test_the_console_stream_resets_a_cursor_ahead_of_the_log(
    goofs_sqlite: Running,
) -> None:
    async with aconnect_sse(goofs_sqlite.client, "GET", "/console/stream?after=99") as source:
        reset = await next_frame(source)

    assert reset.event == "reset"
