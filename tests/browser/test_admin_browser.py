"""The admin page in a real browser: used from the keyboard alone, under the strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from galactic_goofs.auth import service as auth
from galactic_goofs.auth.policy import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.console import Console
from tests.support import Running

PASSWORD = "correct horse battery"


async def sign_in(page: Page, url: str, name: str) -> None:
    await page.goto(f"{url}/signin?next=/admin")
    await page.get_by_label("Operator").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Password").press("Enter")


async def test_an_admin_runs_operators_and_tokens_from_the_keyboard(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "ada", PASSWORD, role=Role.ADMIN)
    await auth.add_operator(goofs_sqlite.state.db, "otto", PASSWORD)
    admin = Console(await (await browser.new_context()).new_page())
    page = admin.page
    await sign_in(page, goofs_sqlite.url, "ada")
    await expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()

    # Add an operator: type into the form and move with Tab, submit with Enter.
    await page.get_by_label("Name", exact=True).focus()
    await page.keyboard.type("newt")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Tab")
    await page.keyboard.press("ArrowUp")  # operator -> viewer
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Operator newt added.")
    newt = page.locator("#operator-newt")
    await expect(newt.locator("td").first).to_have_text("viewer")

    # Disable otto with the keyboard: focus his button, press Enter.
    await page.get_by_role("button", name="Disable otto").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#operator-otto td").nth(1)).to_have_text("disabled")

    # A token for newt: shown on this page, once.
    await page.get_by_label("Owner", exact=True).select_option("newt")
    await page.get_by_label("Expires after (days, empty: never)").fill("30")
    await page.get_by_role("button", name="Create token").press("Enter")
    token = page.get_by_label("Token (read)")
    await expect(token).to_have_value(re.compile(r"^goofs_"), timeout=5_000)
    await page.screenshot(path=screenshots / "admin-token-created.png", full_page=True)
    await assert_accessible(page, "admin-token-created")
    secret = await token.input_value()

    await page.goto(f"{goofs_sqlite.url}/admin")
    assert secret not in await page.content()
    revoke = page.get_by_role("button", name="Revoke token").last
    await revoke.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("revoked")
    await expect(page.locator("ol.audit li").first).to_contain_text("token.revoked")
    await page.screenshot(path=screenshots / "admin.png", full_page=True)
    await assert_accessible(page, "admin")
    assert admin.errors == [], "no script error and no CSP violation"


async def test_an_operator_is_shown_why_the_admin_page_is_not_for_them(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "otto", PASSWORD)
    page = await (await browser.new_context()).new_page()
    await sign_in(page, goofs_sqlite.url, "otto")
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("An operator may not administer")
    await page.screenshot(path=screenshots / "admin-forbidden.png")
    await assert_accessible(page, "admin-forbidden")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_admin_page_is_accessible_with_a_refusal_showing(
    goofs_sqlite: Running, browser: Browser, scheme: str
) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "ada", PASSWORD, role=Role.ADMIN)
    context = await browser.new_context(
        color_scheme=scheme, viewport={"width": 1360, "height": 900}
    )
    page = await context.new_page()
    await sign_in(page, goofs_sqlite.url, "ada")
    await page.get_by_role("button", name="Disable ada").press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("last enabled admin")
    await assert_accessible(page, f"admin-refusal-{scheme}")
