"""The console without a mouse: Tab to each control, Enter or Space to use it, a ring to see it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.console import Console, create
from tests.support import OPERATOR, OPERATOR_PASSWORD, Running

# For the element focused now: its description, and whether it shows a focus ring.
FOCUSED = """(target) => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const name = element.getAttribute("aria-label") || element.textContent.trim().slice(0, 30);
  const tag = element.tagName;
  return { reached: element === target, ring, name: tag === "BODY" ? tag : `${tag} ${name}` };
}"""


class Keyboard:
    """Moves through the page with Tab only, noting every stop that shows no focus ring."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.unringed: set[str] = set()

    async def tab_to(self, target: Locator, *, limit: int = 300) -> None:
        handle = await target.element_handle()
        for _ in range(limit):
            await self.page.keyboard.press("Tab")
            focused = await self.page.evaluate(FOCUSED, handle)
            # Past the page's last control, focus is in the browser's own interface.
            if not focused["ring"] and focused["name"] != "BODY":
                self.unringed.add(focused["name"])
            if focused["reached"]:
                return
        raise AssertionError(f"{limit} presses of Tab never reached {target}")

    async def type(self, text: str) -> None:
        await self.page.keyboard.type(text)


async def test_an_operator_works_the_board_with_the_keyboard_alone(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    await create(goofs_sqlite, "Chandra X-ray Observatory", "1999-040B")
    page = await (await browser.new_context()).new_page()
    console = Console(page)
    keys = Keyboard(page)

    await page.goto(f"{goofs_sqlite.url}/signin")
    await expect(page.get_by_label("Operator")).to_be_focused()
    await keys.type(OPERATOR)
    await keys.tab_to(page.get_by_label("Password"))
    await keys.type(OPERATOR_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("body")).to_have_attribute("data-role", "operator")
    await console.expect_live()

    form = page.locator("#create-form")
    await keys.tab_to(form.get_by_label("Name"))
    await keys.type("Hubble Space Telescope")
    await keys.tab_to(form.get_by_label("COSPAR ID"))
    await keys.type("1990-037B")
    await keys.tab_to(form.get_by_role("button", name="Register"))
    await page.screenshot(path=screenshots / "keyboard-focus-register.png")
    await page.keyboard.press("Enter")
    hubble = console.row("Hubble Space Telescope")
    await expect(hubble.locator(".badge")).to_have_text("NOMINAL")

    await keys.tab_to(hubble.get_by_role("button", name="Break Hubble Space Telescope"))
    await page.keyboard.press("Space")
    await expect(hubble.locator(".badge")).to_have_text("MALFUNCTIONING")

    await keys.tab_to(hubble.get_by_role("button", name="Fix Hubble Space Telescope"))
    await page.screenshot(path=screenshots / "keyboard-focus-fix.png")
    await page.keyboard.press("Enter")
    await expect(hubble.locator(".badge")).to_have_text("NOMINAL")

    await keys.tab_to(hubble.get_by_role("button", name="Edit Hubble Space Telescope"))
    await page.keyboard.press("Enter")
    name = page.get_by_role("form", name="Edit Hubble Space Telescope").get_by_label("Name")
    await expect(name).to_be_focused()
    await page.keyboard.press("End")
    await keys.type(" (HST)")
    await page.keyboard.press("Enter")
    await expect(console.row("Hubble Space Telescope (HST)")).to_be_visible()

    await keys.tab_to(page.get_by_label("Search by name or COSPAR ID"))
    await keys.type("chandra")
    await expect(page.locator("#fleet-rows tr")).to_have_count(1)
    chandra = console.row("Chandra X-ray Observatory")
    await keys.tab_to(chandra.get_by_role("button", name="Delete Chandra X-ray Observatory"))
    await page.keyboard.press("Enter")
    await expect(chandra).to_have_count(0)
    assert console.dialogs == [
        "Delete Chandra X-ray Observatory (1999-040B) from the fleet? This cannot be undone."
    ]

    await keys.tab_to(page.get_by_role("button", name="Sign out"))
    await page.keyboard.press("Enter")
    await expect(page.locator("body")).to_have_attribute("data-role", "viewer")
    assert keys.unringed == set(), "focus stops without a visible ring"


async def test_the_pager_turns_from_the_keyboard(goofs_sqlite: Running, browser: Browser) -> None:
    for number in range(1, 52):
        await create(goofs_sqlite, f"Cubesat {number:02d}", f"2020-{number:03d}A")
    page = await (await browser.new_context()).new_page()
    keys = Keyboard(page)
    await page.goto(goofs_sqlite.url)

    await keys.tab_to(page.get_by_role("button", name="Next"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#board .range")).to_contain_text("page 2 of 2")
    await keys.tab_to(page.get_by_role("button", name="Previous"))
    await page.keyboard.press("Space")
    await expect(page.locator("#board .range")).to_contain_text("page 1 of 2")
    assert keys.unringed == set(), "focus stops without a visible ring"
