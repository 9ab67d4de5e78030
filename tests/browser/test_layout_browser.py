"""On call is on a phone: the board at 390 x 844, without sideways scrolling, every action in
reach of a thumb."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.console import Console, create
from tests.support import Running

PHONE = {"width": 390, "height": 844}
THUMB = 44  # px: the smallest target a thumb hits reliably (WCAG 2.5.5)


async def a_phone(browser: Browser, scheme: str = "light") -> BrowserContext:
    return await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, color_scheme=scheme
    )


async def assert_in_reach(target: Locator) -> None:
    box = await target.bounding_box()
    assert box is not None, f"{target} is not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{target} is off {box}"
    assert box["height"] >= THUMB and box["width"] >= THUMB, f"{target} is too small: {box}"


async def assert_no_sideways_scrolling(console: Console) -> None:
    width = await console.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_board_fits_a_phone_and_every_action_is_in_reach(
    goofs_sqlite: Running, browser: Browser, scheme: str
) -> None:
    hubble = await create(goofs_sqlite, "Hubble Space Telescope", "1990-037B")
    await create(goofs_sqlite, "Mars Reconnaissance Orbiter", "2005-029A")
    broken = await goofs_sqlite.client.post(
        f"/api/v1/spacecraft/{hubble}/malfunction",
        json={"subsystem": "thermal", "description": "Radiator louvers stuck half open"},
    )
    assert broken.status_code == 200
    console = await Console.open(await a_phone(browser, scheme), goofs_sqlite.url)
    page = console.page
    await expect(page.locator("#fleet-rows tr")).to_have_count(2)

    await assert_no_sideways_scrolling(console)
    await assert_accessible(page, f"phone-{scheme}")
    for button in await page.locator("#fleet-rows button, header button").all():
        await assert_in_reach(button)

    fix = console.row("Hubble Space Telescope").get_by_role("button", name="Fix Hubble")
    await assert_in_reach(fix)
    await fix.tap()
    await expect(console.row("Hubble Space Telescope").locator(".badge")).to_have_text("NOMINAL")

    await console.row("Mars Reconnaissance Orbiter").get_by_role("button", name="Edit").tap()
    form = page.get_by_role("form", name="Edit Mars Reconnaissance Orbiter")
    await expect(form.get_by_label("Name")).to_be_focused()  # before typing elsewhere in it
    await form.get_by_label("COSPAR ID").fill("2005-29A")
    await form.get_by_role("button", name="Save").tap()
    await expect(form.locator(".field-error")).to_be_visible()
    await assert_no_sideways_scrolling(console)
    await assert_in_reach(form.get_by_role("button", name="Cancel"))
    await assert_accessible(page, f"phone-editing-{scheme}")
    assert console.errors == [] or all("422" in error for error in console.errors)


async def test_registering_and_paging_on_a_phone(goofs_sqlite: Running, browser: Browser) -> None:
    for number in range(1, 52):
        await create(goofs_sqlite, f"Cubesat {number:02d}", f"2020-{number:03d}A")
    console = await Console.open(await a_phone(browser), goofs_sqlite.url)
    page = console.page

    await console.register("Voyager 1", "1977-084A")
    await expect(page.locator("#create-form .notice")).to_contain_text("Registered Voyager 1")
    await assert_no_sideways_scrolling(console)
    for name in ("Next", "Previous"):
        await assert_in_reach(page.locator("#board").get_by_role("button", name=name))
    await page.locator("#board").get_by_role("button", name="Next").tap()
    await expect(page.locator("#board .range")).to_contain_text("page 2 of 2")
    await expect(console.row("Voyager 1")).to_be_visible()
    await assert_no_sideways_scrolling(console)


async def test_the_desktop_board_shows_every_column_without_scrolling(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    hubble = await create(goofs_sqlite, "James Webb Space Telescope", "2021-130A")
    broken = await goofs_sqlite.client.post(
        f"/api/v1/spacecraft/{hubble}/malfunction",
        json={"subsystem": "propulsion", "description": "Reaction wheel humming off key"},
    )
    assert broken.status_code == 200
    context = await browser.new_context(viewport={"width": 1920, "height": 900})
    console = await Console.open(context, goofs_sqlite.url)
    page = console.page

    clipped = {}
    for width in (1920, 1440, 1280, 1100, 1025, 900, 721):
        await page.set_viewport_size({"width": width, "height": 900})
        board = await page.evaluate(
            "(() => { const s = document.querySelector('.table-scroll');"
            " return [s.scrollWidth, s.clientWidth, document.documentElement.scrollWidth]; })()"
        )
        if board[0] > board[1] or board[2] > width:
            clipped[width] = board
        if width in (1280, 900):
            await page.screenshot(path=screenshots / f"console-{width}.png", full_page=True)
    assert clipped == {}, "widths where the board scrolls sideways: [table, box, page]"
