"""The console's analytics page: every chart drawn on the server, with its figures as text."""

from __future__ import annotations

import re

from tests.support import Running

CHARTS = (
    "Fleet availability per day over 30 days",
    "Downtime and malfunctions by subsystem, most downtime first",
    "MTTA (solid line, round markers) and MTTR (dashed line, square markers) per day",
)


async def _broken(goofs: Running) -> str:
    created = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Kepler", "cospar_id": "2009-011A"}
    )
    craft_id: str = created.json()["id"]
    response = await goofs.client.post(
        f"/api/v1/spacecraft/{craft_id}/malfunction", json={"subsystem": "thermal"}
    )
    assert response.status_code == 200
    return craft_id


async def test_the_analytics_page_draws_every_chart_with_its_definitions(
    goofs_sqlite: Running,
) -> None:
    craft_id = await _broken(goofs_sqlite)

    page = await goofs_sqlite.client.get("/analytics")

    assert page.status_code == 200
    for title in CHARTS:
        assert f">{title}</title>" in page.text
    assert "It means resolved, not respond." in page.text
    assert f'href="/spacecraft/{craft_id}">Kepler</a>' in page.text, "among the least available"
    assert "thermal: " in page.text
    assert len(re.findall(r'class="uptime-day"', page.text)) == 30
    assert "<script>" not in page.text and " style=" not in page.text


async def test_the_charts_fragment_refreshes_on_stream_events(goofs_sqlite: Running) -> None:
    fragment = await goofs_sqlite.client.get("/console/analytics/charts")

    assert fragment.status_code == 200
    assert 'hx-trigger="goofs:summary from:body"' in fragment.text


async def test_a_spacecraft_page_shows_thirty_days_of_uptime_bars(goofs_sqlite: Running) -> None:
    craft_id = await _broken(goofs_sqlite)

    page = await goofs_sqlite.client.get(f"/spacecraft/{craft_id}")

    assert page.status_code == 200
    assert len(re.findall(r'class="uptime-day"', page.text)) == 30
    assert re.search(r"<title>\d\d \w{3}: \d+\.\d\d% available</title>", page.text)


async def test_the_board_links_to_analytics(goofs_sqlite: Running) -> None:
    page = await goofs_sqlite.client.get("/")

    assert 'href="/analytics"' in page.text
