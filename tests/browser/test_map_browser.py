"""The fleet map in a real browser: the demo fleet loaded with one click, drawn over Natural
Earth's land, malfunctioning spacecraft named, markers moving."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.console import Console
from tests.support import Running


async def test_one_click_loads_the_demo_fleet_and_the_map_moves_it(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    console = await Console.open(await browser.new_context(), goofs_sqlite.url)
    page = console.page
    await page.screenshot(path=screenshots / "empty-board-demo-button.png", full_page=True)
    await page.get_by_role("button", name="Load the demo fleet").click()
    await expect(console.row("International Space Station")).to_be_visible()
    await expect(page.get_by_role("button", name="Load the demo fleet")).to_have_count(0)

    await page.get_by_role("link", name="Fleet map").click()

    await expect(page).to_have_url(f"{goofs_sqlite.url}/map")
    await expect(page.locator("#map")).to_have_attribute("data-land-drawn", "true")
    assert await page.locator("#land path").count() > 0
    markers = page.locator("#fleet g.craft")
    await expect(markers).to_have_count(24)  # every demo spacecraft in Earth orbit
    broken = page.locator("#fleet g.craft.malfunctioning")
    await expect(broken.first).to_be_visible()
    await expect(broken.filter(has_text="Hubble Space Telescope")).to_have_count(1)
    await expect(page.locator("#broken-list")).to_contain_text("Hubble Space Telescope")
    station = page.locator("#fleet g.craft", has=page.locator("title", has_text="International"))
    before = await station.get_attribute("transform")
    await expect(station).not_to_have_attribute("transform", before or "", timeout=12_000)
    assert console.errors == []
    await page.screenshot(path=screenshots / "fleet-map.png", full_page=True)
