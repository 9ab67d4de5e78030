"""The analytics page in a real browser: every chart drawn, live as malfunctions happen, clean."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.console import Console, create
from tests.support import Running


async def _break(goofs: Running, craft_id: str, subsystem: str) -> None:
    response = await goofs.client.post(
        f"/api/v1/spacecraft/{craft_id}/malfunction", json={"subsystem": subsystem}
    )
    assert response.status_code == 200, response.text


async def test_the_analytics_charts_move_live_when_a_spacecraft_breaks(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    kepler = await create(goofs, "Kepler", "2009-011A")
    hubble = await create(goofs, "Hubble", "1990-037B")
    await _break(goofs, kepler, "thermal")
    console = Console(await (await browser.new_context()).new_page())
    await console.sign_in(goofs.url)
    await console.page.goto(f"{goofs.url}/analytics")
    await console.expect_live()
    page = console.page
    charts = page.locator("#analytics-charts svg.chart[role=img]")
    await expect(charts).to_have_count(3)
    await expect(page.locator("[data-figure=malfunctions]")).to_have_text("1")
    await expect(page.locator(".least-available tbody tr")).to_have_count(2)

    await _break(goofs, hubble, "comms")

    await expect(page.locator("[data-figure=malfunctions]")).to_have_text("2", timeout=10_000)
    await expect(page.locator("#pareto-chart-desc")).to_contain_text("comms:")
    await expect(page.locator("#feed li")).to_have_count(1)
    await assert_accessible(page, "analytics")
    assert console.errors == []


async def test_a_spacecraft_page_shows_its_uptime_bars_with_each_days_figure(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    kepler = await create(goofs, "Kepler", "2009-011A")
    await _break(goofs, kepler, "power")
    console = Console(await (await browser.new_context()).new_page())
    await console.sign_in(goofs.url)
    await console.page.goto(f"{goofs.url}/spacecraft/{kepler}")
    await console.expect_live()

    days = console.page.locator(".uptime svg .uptime-day")
    await expect(days).to_have_count(30)
    await days.last.focus()
    await expect(days.last.locator("title")).to_contain_text("% available")
    await assert_accessible(console.page, "spacecraft-uptime")
    assert console.errors == []
