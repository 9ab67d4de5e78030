"""Every console page passes axe-core with no serious or critical violation, in both schemes."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.console import Console, create
from tests.support import Running

FLEET = [
    ("Hubble Space Telescope", "1990-037B"),
    ("ISS (Zarya)", "1998-067A"),
    ("James Webb Space Telescope", "2021-130A"),
    ("Voyager 1", "1977-084A"),
]


async def a_fleet_in_every_status(goofs: Running) -> None:
    ids = [await create(goofs, name, cospar_id) for name, cospar_id in FLEET]
    for craft_id, subsystem in [(ids[1], "power"), (ids[3], "comms")]:
        response = await goofs.client.post(
            f"/api/v1/spacecraft/{craft_id}/malfunction",
            json={"subsystem": subsystem, "description": "Something is off"},
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_board_is_accessible_in_every_state(
    goofs_sqlite: Running, browser: Browser, scheme: str
) -> None:
    await a_fleet_in_every_status(goofs_sqlite)
    context = await browser.new_context(
        color_scheme=scheme, viewport={"width": 1360, "height": 900}
    )
    console = await Console.open(context, goofs_sqlite.url)
    page = console.page
    await expect(page.locator("#fleet-rows tr")).to_have_count(len(FLEET))
    await assert_accessible(page, f"board-{scheme}")

    await console.row("Voyager 1").get_by_role("button", name="Edit Voyager 1").click()
    form = page.get_by_role("form", name="Edit Voyager 1")
    await expect(form.get_by_label("Name")).to_be_focused()  # before typing elsewhere in it
    await form.get_by_label("COSPAR ID").fill("1977-84A")
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator(".field-error")).to_be_visible()
    await console.register("", "1990-037B")
    await expect(page.locator("#create-name-error")).to_be_visible()
    await assert_accessible(page, f"board-editing-{scheme}")

    await page.route("**/console/spacecraft/*/repair", lambda route: route.abort())
    await console.row("ISS (Zarya)").get_by_role("button", name="Fix ISS (Zarya)").click()
    await expect(page.locator("#toasts .toast")).to_be_visible()
    await page.get_by_label("Search by name or COSPAR ID").fill("nothing like it")
    await expect(page.locator("#board .empty")).to_be_visible()
    await assert_accessible(page, f"board-no-match-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_board_is_accessible_to_viewers(
    goofs_sqlite: Running, browser: Browser, scheme: str
) -> None:
    await a_fleet_in_every_status(goofs_sqlite)
    page = await (await browser.new_context(color_scheme=scheme)).new_page()
    await page.goto(goofs_sqlite.url)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    await assert_accessible(page, f"board-viewer-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_signing_in_and_out_is_accessible(
    goofs_sqlite: Running, browser: Browser, scheme: str
) -> None:
    page = await (await browser.new_context(color_scheme=scheme)).new_page()
    await page.goto(f"{goofs_sqlite.url}/signin")
    await assert_accessible(page, f"signin-{scheme}")

    await page.get_by_label("Operator").fill("nobody")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_accessible(page, f"signin-refused-{scheme}")

    console = Console(page)
    await console.sign_in(goofs_sqlite.url)
    await page.goto(f"{goofs_sqlite.url}/signin")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await assert_accessible(page, f"signed-in-{scheme}")


async def test_the_api_docs_are_accessible(goofs_sqlite: Running, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{goofs_sqlite.url}/docs")
    await expect(page.get_by_text("/api/v1/spacecraft/{spacecraft_id}/repair")).to_be_visible(
        timeout=10_000
    )
    await assert_accessible(page, "api-docs")
