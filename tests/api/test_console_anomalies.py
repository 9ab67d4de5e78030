"""The console's triage queue and spacecraft pages over HTTP (no browser needed)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from httpx_sse import aconnect_sse

from tests.support import Running

COUNTER = iter(range(1, 1000))
SNEAKY = "<img src=x onerror=alert(1)>"


async def _broken(goofs: Running, name: str, **fault: str) -> dict[str, Any]:
    number = next(COUNTER)
    created = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": f"2017-{number:03d}A"}
    )
    craft_id = created.json()["id"]
    broken = await goofs.client.post(f"/api/v1/spacecraft/{craft_id}/malfunction", json=fault)
    body: dict[str, Any] = broken.json()
    return body


def _triage_order(html: str) -> list[str]:
    section = html[html.index('id="triage-items"') :]
    section = section[: section.index("</ol>")]
    return re.findall(r'class="craft-link">([^<]*)<', section)


async def test_the_triage_queue_orders_by_severity_then_age_and_shelved_last(
    goofs_sqlite: Running,
) -> None:
    goofs = goofs_sqlite
    await _broken(goofs, "Old minor", severity="minor")
    shelved = await _broken(goofs, "Shelved critical", severity="critical")
    await _broken(goofs, "Old critical", severity="critical")
    await _broken(goofs, "New critical", severity="critical")
    await _broken(goofs, "Major", severity="major")
    await goofs.client.post(
        f"/api/v1/anomalies/{shelved['anomaly']['id']}/shelve", json={"minutes": 5, "reason": "x"}
    )

    page = (await goofs.client.get("/")).text

    assert _triage_order(page) == [
        "Old critical",
        "New critical",
        "Major",
        "Old minor",
        "Shelved critical",
    ]
    assert "for acknowledgement" in page


async def test_acknowledging_in_the_console_reaches_every_console_as_fragments(
    goofs_sqlite: Running,
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Wobbly")
    anomaly_id = craft["anomaly"]["id"]
    after = (await goofs.client.get("/api/v1/events")).json()["last_seq"]

    async with aconnect_sse(
        goofs.client, "GET", "/console/stream", params={"after": after}
    ) as source:
        frames = (sse async for sse in source.aiter_sse() if sse.data)
        response = await goofs.client.post(f"/console/anomalies/{anomaly_id}/acknowledge")
        assert response.status_code == 204
        async with asyncio.timeout(5):
            frame = await anext(frames)
        again = await goofs.client.post(f"/console/anomalies/{anomaly_id}/acknowledge")

        assert f'id="anomaly-{anomaly_id}" data-fragment="triage"' in frame.data
        assert "Acknowledged by operator" in frame.data
        assert f"/console/anomalies/{anomaly_id}/forms" in frame.data  # fetched when opened
        assert f"/console/anomalies/{anomaly_id}/assign" not in frame.data
        assert "Ack: operator" in frame.data  # the board row's badge
        assert again.status_code == 409

        await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")
        async with asyncio.timeout(5):
            repaired = await anext(frames)
        assert f'<li id="anomaly-{anomaly_id}" data-fragment="removed">' in repaired.data


async def test_inline_triage_forms_explain_what_they_refuse(goofs_sqlite: Running) -> None:
    goofs = goofs_sqlite
    anomaly_id = (await _broken(goofs, "Sulky"))["anomaly"]["id"]
    path = f"/console/anomalies/{anomaly_id}"

    zero = await goofs.client.post(f"{path}/shelve", data={"minutes": "0", "reason": "x"})
    assert zero.status_code == 422 and "greater than or equal to 1" in zero.text
    stranger = await goofs.client.post(f"{path}/assign", data={"assignee": "mallory"})
    assert stranger.status_code == 422 and "no operator called" in stranger.text
    empty = await goofs.client.post(f"{path}/notes", data={"text": ""})
    assert empty.status_code == 422

    for action, data in (
        ("assign", {"assignee": "operator"}),
        ("notes", {"text": SNEAKY}),
        ("shelve", {"minutes": "30", "reason": "Known"}),
        ("unshelve", {}),
        ("assign", {"assignee": ""}),
    ):
        response = await goofs.client.post(f"{path}/{action}", data=data)
        assert response.status_code == 204, (action, response.text)
    anomaly = (await goofs.client.get(f"/api/v1/anomalies/{anomaly_id}")).json()
    assert anomaly["assignee"] is None and anomaly["state"] == "open"
    assert [note["text"] for note in anomaly["notes"]] == [SNEAKY]


async def test_a_triage_items_forms_arrive_when_its_disclosure_opens(
    goofs_sqlite: Running,
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Sulky")
    anomaly_id = craft["anomaly"]["id"]
    await goofs.client.post(f"/api/v1/anomalies/{anomaly_id}/assign", json={"assignee": "operator"})
    forms_url = f"/console/anomalies/{anomaly_id}/forms"

    page = (await goofs.client.get("/")).text
    item = page[page.index(f'id="anomaly-{anomaly_id}"') :]
    item = item[: item.index("</li>")]
    assert f'hx-get="{forms_url}"' in item and 'hx-trigger="toggle from:closest details"' in item
    assert "<form" not in item
    assert 'aria-label="Acknowledge the anomaly on Sulky"' in item  # one press: stays inline

    forms = await goofs.client.get(forms_url)
    assert forms.status_code == 200
    assert f'id="assign-{anomaly_id}" name="assignee" value="operator"' in forms.text
    for action in ("assign", "shelve", "notes"):
        assert f'hx-post="/console/anomalies/{anomaly_id}/{action}"' in forms.text

    await goofs.client.post(
        f"/api/v1/anomalies/{anomaly_id}/shelve", json={"minutes": 5, "reason": "x"}
    )
    shelved = (await goofs.client.get(forms_url)).text
    assert "/assign" in shelved and "/notes" in shelved and "/shelve" not in shelved
    await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")
    resolved = (await goofs.client.get(forms_url)).text
    assert "/assign" not in resolved and "/notes" in resolved  # notes go on after a repair
    unknown = "/console/anomalies/00000000-0000-0000-0000-000000000000/forms"
    assert (await goofs.client.get(unknown)).status_code == 404


async def test_a_spacecraft_page_shows_its_details_anomaly_notes_and_own_timeline(
    goofs_sqlite: Running,
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Voyager", subsystem="comms", description="Humming")
    other = await _broken(goofs, "Pioneer")
    anomaly_id = craft["anomaly"]["id"]
    await goofs.client.post(f"/api/v1/anomalies/{anomaly_id}/notes", json={"text": SNEAKY})

    page = await goofs.client.get(f"/spacecraft/{craft['id']}")

    assert page.status_code == 200
    html = page.text
    assert f'id="craft-{craft["id"]}"' in html and "Humming" in html
    assert f'id="anomaly-{anomaly_id}"' in html
    assert SNEAKY not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    timeline = html[html.index('id="feed"') :]
    assert timeline.count('data-fragment="event"') == 3  # created, broke, noted
    assert other["id"] not in timeline
    assert (await goofs.client.get(f"/spacecraft/{other['id']}x")).status_code == 422


async def test_a_long_timeline_comes_in_pages_newest_first(goofs_sqlite: Running) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Chatty")
    for number in range(60):
        await goofs.client.patch(f"/api/v1/spacecraft/{craft['id']}", json={"name": f"C{number}"})

    first = (await goofs.client.get(f"/spacecraft/{craft['id']}")).text
    seqs = [int(seq) for seq in re.findall(r'id="event-(\d+)"', first)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="(/spacecraft/[^"]+\?before=\d+)"', first)
    assert older, "no link to older events"
    second = (await goofs.client.get(older.group(1).replace("&amp;", "&"))).text
    more = [int(seq) for seq in re.findall(r'id="event-(\d+)"', second)]
    assert len(more) == 12 and max(more) < min(seqs)
    assert 'data-paged="true"' in second


async def test_an_unknown_spacecraft_has_no_page(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get("/spacecraft/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
