"""The fleet map in a real browser: the demo fleet loaded with one click, drawn over Natural
Earth's land, malfunctioning spacecraft named, markers moving."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.accessibility import assert_accessible
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


async def test_a_spacecraft_page_draws_its_ground_track_and_its_next_contacts(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    await goofs_sqlite.client.post("/console/demo")
    listed = await goofs_sqlite.client.get("/api/v1/spacecraft", params={"limit": 500})
    ids = {item["name"]: item["id"] for item in listed.json()["items"]}
    hubble = ids["Hubble Space Telescope"]  # malfunctioning in the demo: on the triage queue
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    console = await Console.open(context, goofs_sqlite.url)
    page = console.page

    # The triage queue says when each open anomaly's spacecraft can next be talked to.
    item = page.locator("#triage-items li", has=page.get_by_role("link", name="Hubble Space"))
    await expect(item.locator(".contact")).to_contain_text(
        re.compile(r"(Next contact in (under a minute|\d+ (min|h))|In contact now) via \w+"),
        timeout=15_000,
    )
    await item.screenshot(path=screenshots / "triage-next-contact.png")

    await item.get_by_role("link", name="Hubble Space Telescope").click()
    await expect(page).to_have_url(f"{goofs_sqlite.url}/spacecraft/{hubble}")
    await console.expect_live()
    track_map = page.locator("#track-map")
    await expect(track_map).to_have_attribute("data-land-drawn", "true")
    await expect(track_map).to_have_attribute("data-track-points", re.compile(r"^\d{3}$"))
    assert await page.locator("#ground-track path.track-back").get_attribute("d")
    assert await page.locator("#ground-track path.track-ahead").get_attribute("d")
    await expect(page.locator("#here")).to_be_visible()
    await expect(page.locator("#orbit-now")).to_contain_text("Sub-satellite point")
    await expect(page.locator("#orbit-now")).to_contain_text(re.compile(r"Sunlit|In eclipse"))
    contacts = page.get_by_role("table", name=re.compile("Next contact of Hubble"))
    await expect(contacts).to_be_visible(timeout=15_000)
    assert await contacts.get_by_role("rowheader").count() >= 1
    await expect(page.locator("#contacts > .contact")).to_contain_text(
        re.compile(r"Next contact in|In contact now")
    )
    # The position moves without a reload.
    before = await page.locator("#here").get_attribute("transform")
    await expect(page.locator("#here")).not_to_have_attribute(
        "transform", before or "", timeout=12_000
    )
    await assert_accessible(page, "spacecraft-orbit")
    assert console.errors == []
    await page.screenshot(path=screenshots / "spacecraft-ground-track.png", full_page=True)

    phone = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, color_scheme="dark"
    )
    small = await Console.open(phone, f"{goofs_sqlite.url}/spacecraft/{hubble}")
    await expect(small.page.locator("#track-map")).to_have_attribute(
        "data-track-points", re.compile(r"\d")
    )
    await expect(small.page.get_by_role("table", name=re.compile("Next contact"))).to_be_visible()
    width = await small.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"
    await assert_accessible(small.page, "spacecraft-orbit-phone-dark")
    await small.page.screenshot(
        path=screenshots / "spacecraft-ground-track-phone.png", full_page=True
    )
    assert small.errors == []
